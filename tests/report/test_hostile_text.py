"""Hostile text from a real image (mkfs.ext4 -d) in every output format: nothing a terminal
acts on, no forged line, nothing XML 1.0 refuses, and the hostile characters shown escaped
rather than silently lost (``vmguard.text.printable`` is the one rule)."""

from __future__ import annotations

import base64
import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from clirunner import vmguard
from report.conftest import keys_image
from report.samples import FORMATS

KEY_NAMES = (
    "cr\rFAKE vmguard: no findings.pem",
    "zw\u200b\ufeff\u2066nbsp\u00a0.pem",
    "c1\u009b31m-del\x7f.pem",
    "L" * 240 + ".pem",
)
"""Key file names: a carriage return, zero-width and isolate marks, a C1 control sequence
introducer and DEL, and a name near the 255-byte limit."""

BAD_UTF8 = os.fsdecode(b"bad-\xff\xfe-utf8.pem")
"""A name that is not UTF-8: libfsext refuses to list its directory (kept apart, in
``srv/bad``), so it reaches the outputs through the read error's message."""

COMMENT = b"\x1b]0;pwn\x07 \x00nul \xe2\x80\xae-rtl \xff\xfe \xc2\x9b31m"
"""An authorized_keys comment: OSC set-title, NUL, a right-to-left override, invalid UTF-8."""


@pytest.fixture(scope="module")
def hostile_text_image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    blob = b"\x00\x00\x00\x0bssh-ed25519\x00\x00\x00\x20" + bytes(range(32))
    files = {
        f"srv/bad/{BAD_UTF8}": b"",
        "root/.ssh/authorized_keys": b"ssh-ed25519 " + base64.b64encode(blob) + b" " + COMMENT,
    }
    return keys_image(tmp_path_factory.mktemp("hostile-text"), KEY_NAMES, files)


@pytest.fixture(scope="module")
def outputs(hostile_text_image: Path) -> dict[str, str]:
    runs = {fmt: vmguard("scan", "--format", fmt, hostile_text_image) for fmt in FORMATS}
    for fmt, run in runs.items():
        assert run.code == 1, (fmt, run.stderr)
    return {fmt: run.stdout for fmt, run in runs.items()}


def _unsafe(text: str) -> set[str]:
    return {ch for ch in text if not ch.isprintable() and ch != "\n"}


@pytest.mark.parametrize("fmt", FORMATS)
def test_no_output_format_carries_a_control_or_format_character(
    outputs: dict[str, str], fmt: str
) -> None:
    assert _unsafe(outputs[fmt]) == set(), fmt


def test_the_console_shows_hostile_characters_escaped(outputs: dict[str, str]) -> None:
    text = outputs["console"]
    assert "\\x1b]0;pwn\\x07" in text and "\\x00nul" in text and "\\u202e-rtl" in text
    assert "\\xff\\xfe" in text and "\\x9b31m" in text
    assert not any(line.startswith("FAKE") for line in text.splitlines())
    assert "cr\\rFAKE vmguard: no findings.pem" in text


def test_junit_is_well_formed_xml(outputs: dict[str, str]) -> None:
    root = ET.fromstring(outputs["junit"])
    names = " ".join(case.get("name", "") for case in root.iter("testcase"))
    assert "cr\\rFAKE vmguard" in names


@pytest.mark.parametrize("fmt", ["json", "sarif"])
def test_json_formats_are_ascii(outputs: dict[str, str], fmt: str) -> None:
    assert outputs[fmt].isascii() and json.loads(outputs[fmt])


def test_json_keeps_the_data_as_data(outputs: dict[str, str]) -> None:
    """JSON is the data contract: a guest path stays as the guest wrote it, JSON-escaped."""
    paths = [f["location"]["path"] for f in json.loads(outputs["json"])["findings"]]
    assert "/srv/cr\rFAKE vmguard: no findings.pem" in paths


def test_html_keeps_hostile_text_as_text(outputs: dict[str, str]) -> None:
    text = outputs["html"]
    assert "\\u202e-rtl" in text and "\u202e" not in text
