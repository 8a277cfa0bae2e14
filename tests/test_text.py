"""``vmguard.text``: the one way untrusted text becomes printable, on hostile strings."""

from __future__ import annotations

import pytest

from vmguard.errors import VmguardError
from vmguard.text import (
    MAX_SHOWN,
    MAX_SHOWN_NAME,
    is_decimal,
    kept_text,
    one_line,
    printable,
    shown_name,
)

HOSTILE = (
    "a\x1b[2J\x1b]0;title\x07b",  # CSI clear screen, OSC set title, BEL
    "fake\rvmguard: no findings",  # carriage return rewrites the line
    "evil\u202egnp.exe",  # right-to-left override
    "nul\x00byte",
    "c1\x9b31m and DEL\x7f",  # C1 CSI, DEL
    "zero\u200bwidth\ufeffbom\u2066isolate",
    "line\nbreak\u2028sep\u2029para\x85nel",
    "lone \udcff surrogate",
)


def _safe(shown: str) -> bool:
    """Nothing a terminal acts on, no line break, nothing XML 1.0 refuses."""
    return all(ch.isprintable() for ch in shown)


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_strings_become_one_printable_line(hostile: str) -> None:
    shown = printable(hostile)
    assert _safe(shown), repr(shown)
    assert _safe(one_line(hostile)) and _safe(shown_name(hostile)) and _safe(kept_text(hostile, 99))


def test_controls_are_shown_escaped_not_hidden() -> None:
    assert printable("a\x1b[2Jb") == "a\\x1b[2Jb"
    assert printable("evil\u202egnp.exe") == "evil\\u202egnp.exe"
    assert printable("nul\x00") == "nul\\x00"
    assert printable("c1\x9b") == "c1\\x9b"
    assert printable("a\tb\r\nc\u2028") == "a b\\r\\nc\\u2028"
    assert printable("surrogate-escaped \udcff byte") == "surrogate-escaped \\xff byte"
    assert printable("Jürgen 日本") == "Jürgen 日本"  # printable text stays as it is


def test_bytes_that_are_not_utf8_are_shown_as_bytes() -> None:
    assert printable(b"ok \xff\xfe \xc3\xa9 \x1b") == "ok \\xff\\xfe é \\x1b"
    assert printable(bytearray(b"\x00")) == "\\x00"


def test_anything_else_is_its_str_and_none_is_empty() -> None:
    assert printable(None) == ""
    assert printable(42) == "42"


@pytest.mark.parametrize("value", ["x" * 100_000, "\x1b" * 100_000, b"\xff" * 100_000])
def test_length_is_bounded(value: str | bytes) -> None:
    shown = printable(value)
    assert shown.endswith(f"... (cut at {MAX_SHOWN} characters)")
    assert len(shown) <= MAX_SHOWN + 40 and _safe(shown)
    assert len(shown_name(value)) <= MAX_SHOWN_NAME + 40
    assert len(printable(value, 10)) <= 10 + 40


def test_text_at_the_limit_is_not_cut() -> None:
    assert printable("y" * 10, 10) == "y" * 10
    assert printable("y" * 11, 10) == "y" * 10 + "... (cut at 10 characters)"


def test_one_line_collapses_whitespace() -> None:
    assert one_line("  a \n\n b\t\tc  ") == "a b c"


def test_kept_text_drops_what_printable_would_escape() -> None:
    assert kept_text(b"\x1b[31mhost\x00name\xff\n", 50) == "[31mhostname\ufffd"
    assert kept_text("safe\u202egnp.exe\u200b", 50) == "safegnp.exe"
    assert kept_text("abcdef", 3) == "abc"


def test_error_messages_use_the_same_rule() -> None:
    shown = VmguardError("name \x1b[31m\u202e\nnext").diagnostics()
    assert shown == "name \\x1b[31m\\u202e next"


@pytest.mark.parametrize(
    ("text", "decimal"),
    [("0", True), ("1234", True), ("", False), ("\u00b2", False), ("\u00b20", False),
     ("\u2460", False), ("\u0663", False), ("1.0", False), ("-1", False), (" 1", False)],
)  # fmt: skip
def test_is_decimal_is_what_int_takes_in_ascii(text: str, decimal: bool) -> None:
    assert is_decimal(text) is decimal
    if decimal:
        int(text)


def test_version_epochs_in_superscript_are_no_epoch() -> None:
    from vmguard.vulns.versions.evr import split_evr

    assert split_evr("\u00b2:1.0-1") == (0, "\u00b2:1.0", "1")
