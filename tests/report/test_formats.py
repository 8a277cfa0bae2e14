"""``report.formats``: one table chooses every writer, for every kind of result, and hostile
text from a fleet database reaches no output raw."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import pytest

from vmguard.findings import Area, Finding, Location, ReportError, Severity, Threat
from vmguard.fleet.posture import Changes, FleetPosture, ImagePosture
from vmguard.report.formats import WRITERS, write_fleet
from vmguard.report.interface import OutputFormat

HOSTILE_PATH = "/srv/images/evil\x1b[2J\rFAKE ok\u202egpj.qcow2"
HOSTILE_OS = "Debian \x1b]0;pwn\x07\u2066GNU\x00"


def test_every_format_has_one_row_for_every_kind_of_result() -> None:
    assert set(WRITERS) == set(OutputFormat)
    for row in WRITERS.values():
        assert callable(row.reports) and callable(row.fleet) and callable(row.verification)


def _posture() -> FleetPosture:
    when = datetime(2026, 1, 2, tzinfo=UTC)
    finding = Finding(
        rule_id="secret.private-key",
        title="Private key",
        severity=Severity.HIGH,
        threat=Threat.IMAGE_EXPOSURE,
        location=Location(path="/root/\x1b[31mkey\r\nFAKE", area=Area.IMAGE),
        evidence="\u202eevidence\x00",
        remediation="Remove it.",
    )
    image = ImagePosture(
        path=HOSTILE_PATH,
        format="qcow2",
        os_name=HOSTILE_OS,
        hostname="host\x1b[2J",
        first_seen=when,
        last_seen=when,
        modified_at=when,
        latest_outcome="error",
        error="could not \x1b[31mread\rFAKE",
        findings=(finding,),
        errors=(ReportError("/etc/\x07bell", "bad \udcff byte"),),
    )
    changes = Changes(1, 2, new_images=(HOSTILE_PATH,), new_findings=((HOSTILE_PATH, finding),))
    return FleetPosture(when, "sqlite:///fleet\x1b.sqlite", None, (image,), (), changes, when)


def _written(fmt: OutputFormat) -> str:
    out = io.StringIO()
    write_fleet(_posture(), fmt, out)
    return out.getvalue()


@pytest.mark.parametrize("fmt", list(OutputFormat))
def test_hostile_fleet_text_reaches_no_format_raw(fmt: OutputFormat) -> None:
    text = _written(fmt)
    assert {ch for ch in text if not ch.isprintable() and ch != "\n"} == set(), fmt
    assert not any(line.startswith("FAKE") for line in text.splitlines())


def test_fleet_formats_keep_their_documents() -> None:
    assert "evil\\x1b[2J FAKE ok\\u202egpj.qcow2" in _written(OutputFormat.CONSOLE)
    document = json.loads(_written(OutputFormat.JSON))
    assert document["images"][0]["path"] == HOSTILE_PATH  # JSON carries data, escaped by JSON
    assert json.loads(_written(OutputFormat.SARIF))["runs"]
    suites = ET.fromstring(_written(OutputFormat.JUNIT))
    assert suites.tag == "testsuites"
    assert "&lt;" not in HOSTILE_PATH and "<script" not in _written(OutputFormat.HTML)
