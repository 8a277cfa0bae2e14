"""``report.formats``: one table chooses every writer, for every kind of result, and hostile
text from a fleet database or a modified bundle reaches no output raw."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import pytest

from vmguard.findings import Area, Finding, Location, Severity, Threat
from vmguard.fleet.posture import Changes, FleetPosture, ImagePosture
from vmguard.integrity.changes import ByteRange, Change, ChangeKind, GuestFileHit
from vmguard.integrity.errors import BundleModified
from vmguard.problems import Problem, Stage
from vmguard.report.formats import (
    WRITERS,
    Lazy,
    OneOrSeveral,
    write_fleet,
    write_verification,
)
from vmguard.report.interface import OutputFormat
from vmguard.report.verification import Verification

HOSTILE_PATH = "/srv/images/evil\x1b[2J\rFAKE ok\u202egpj.qcow2"
HOSTILE_OS = "Debian \x1b]0;pwn\x07\u2066GNU\x00"


def test_every_format_has_one_row_for_every_kind_of_result() -> None:
    assert set(WRITERS) == set(OutputFormat)
    for row in WRITERS.values():
        assert callable(row.reports) and callable(row.fleet) and callable(row.verification)


def test_every_named_writer_exists() -> None:
    named: list[object] = []
    for row in WRITERS.values():
        assert isinstance(row.reports, OneOrSeveral)
        named += [row.reports.one, row.reports.several, row.fleet, row.verification]
    lazy = [w for w in named if isinstance(w, Lazy)]
    assert len(lazy) == 14
    for writer in lazy:
        assert callable(writer.resolve()), writer


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
        errors=(Problem(Stage.FACTS, "/etc/\x07bell", "bad \udcff byte"),),
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
    assert "evil\\x1b[2J\\rFAKE ok\\u202egpj.qcow2" in _written(OutputFormat.CONSOLE)
    document = json.loads(_written(OutputFormat.JSON))
    assert document["images"][0]["path"] == HOSTILE_PATH  # JSON carries data, escaped by JSON
    assert json.loads(_written(OutputFormat.SARIF))["runs"]
    suites = ET.fromstring(_written(OutputFormat.JUNIT))
    assert suites.tag == "testsuites"
    assert "&lt;" not in HOSTILE_PATH and "<script" not in _written(OutputFormat.HTML)


def _modified() -> Verification:
    change = Change(
        ChangeKind.DISK,
        name="disk\x1b[2J.qcow2",
        path="/bundles/disk\x1b[2J\rFAKE VALID.qcow2",
        reason="content differs \u202e",
        ranges=tuple(ByteRange(i * 4096, i * 4096 + 512) for i in range(25)),
        regions=("partition 1 \x07",),
        guest_files=(GuestFileHit("/etc/\x1b]0;pwn\x07shadow", "disk partition 1"),),
    )
    return Verification("bundle\x1b", BundleModified("bundle modified\r\nFAKE", (change,)))


def test_the_verification_verdict_on_the_console_is_printable() -> None:
    out = io.StringIO()
    write_verification(_modified(), OutputFormat.CONSOLE, out)
    lines = out.getvalue().splitlines()
    assert lines[0] == "INVALID: bundle modified FAKE"
    assert lines[1] == "  disk /bundles/disk\\x1b[2J\\rFAKE VALID.qcow2: content differs \\u202e"
    assert "    ... and 5 more ranges" in lines
    assert "    guest file /etc/\\x1b]0;pwn\\x07shadow" in lines
    assert {ch for ch in out.getvalue() if not ch.isprintable() and ch != "\n"} == set()


@pytest.mark.parametrize("fmt", list(OutputFormat))
def test_a_verification_is_written_in_every_format(fmt: OutputFormat) -> None:
    out = io.StringIO()
    write_verification(_modified(), fmt, out)
    text = out.getvalue()
    assert {ch for ch in text if not ch.isprintable() and ch not in "\n"} == set(), fmt
    if fmt is OutputFormat.JSON:
        (finding, *_) = json.loads(text)["findings"]
        assert finding["rule_id"] == "integrity.disk-modified"
