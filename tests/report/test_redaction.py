"""No secret appears whole in any output format, and no secret digest at all."""

from __future__ import annotations

import pytest

from clirunner import Run
from report.samples import FORMATS


@pytest.mark.parametrize("fmt", FORMATS)
def test_no_secret_appears_whole(
    fmt: str,
    planted_runs: dict[str, Run],
    planted_secrets: list[str],
    planted_fingerprints: list[str],
) -> None:
    run = planted_runs[fmt]
    assert run.code == 1, run.stderr  # critical findings reach --fail-on high
    text = run.stdout + run.stderr
    assert len(run.stdout) > 5000
    for secret in planted_secrets:
        assert secret not in text, f"a planted secret printed whole in {fmt}"
    for digest in planted_fingerprints:
        assert digest not in text, f"a secret's digest printed in {fmt}"
