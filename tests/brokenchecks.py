"""Checks that break, for the tests of the one failure policy (``vmguard.problems``).

``RAISED`` holds the two kinds of failure a check can have — a ``VmguardError`` (a refusal
it meant) and an unexpected exception (a bug met on hostile input) — with the reason the
report must record for each. The unexpected one carries a secret in its text: the report
must never show it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from vmguard.errors import VmguardError
from vmguard.findings import Finding, Report, Rule, Severity, Threat
from vmguard.problems import Problem, Stage
from vmguard.report.json_writer import report_json

SECRET = "hunter2-quoted-from-the-input"
"""Text an unexpected exception quotes from hostile input: never in a report."""

BROKEN_RULE = Rule(
    "test.broken",
    "A check that breaks",
    Severity.LOW,
    Threat.WEAK_CONFIGURATION,
    "Nothing to do: it exists to break.",
)

RAISED: dict[str, tuple[Exception, str]] = {
    "vmguard-error": (
        VmguardError("the file is\nlarger than the bound"),
        "the file is larger than the bound",
    ),
    "unexpected": (KeyError(SECRET), "unexpected KeyError (a vmguard bug: please report)"),
}
"""Failure kind -> (what the check raises, the reason recorded after "<name> failed: ")."""


class BrokenCheck:
    """A scan guest check or host check that raises ``error`` once called."""

    rules = (BROKEN_RULE,)

    def __init__(self, error: Exception) -> None:
        self.error = error

    def check(self, *_: Any) -> Iterator[Finding]:
        """Raise before finding anything."""
        raise self.error
        yield  # a generator, like most checks  # pragma: no cover


def assert_only_the_failure_added(
    report: Report, intact: Report, where: str, name: str, kind: str
) -> None:
    """``report`` is ``intact`` plus exactly one check problem: at ``where``, naming
    ``name``, with the reason the failure ``kind`` must have — one line, never the
    exception's text nor a traceback; every finding and every other error is kept."""
    expected = Problem(Stage.CHECK, where, f"{name} failed: {RAISED[kind][1]}")
    assert [e for e in report.errors if e.stage is Stage.CHECK] == [expected]
    assert [e for e in report.errors if e != expected] == list(intact.errors)
    assert report.findings == intact.findings and intact.findings
    document = json.dumps(report_json(report))
    assert SECRET not in document and "Traceback" not in document
