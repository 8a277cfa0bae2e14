"""VmguardError.diagnostics(): the one place a message becomes safe to print."""

from __future__ import annotations

from pathlib import Path

from clirunner import vmguard
from vmguard.errors import MAX_MESSAGE, VmguardError


def test_messages_are_one_bounded_printable_line() -> None:
    hostile = "line one\nline two\x1b[31m red \u202e rtl " + "x" * 5000
    shown = VmguardError(hostile).diagnostics()
    assert "\n" not in shown and "\x1b" not in shown and "\u202e" not in shown
    assert "\\x1b[31m" in shown and "\\u202e" in shown
    assert len(shown) <= MAX_MESSAGE + 40 and shown.endswith(f"(cut at {MAX_MESSAGE} characters)")
    assert VmguardError("").diagnostics() == "VmguardError"


def test_an_images_own_text_is_quoted_bounded_and_escaped(tmp_path: Path) -> None:
    """A VMDK descriptor whose second line is long and full of terminal escapes."""
    image = tmp_path / "odd.vmdk"
    image.write_bytes(b"# Disk DescriptorFile\n\x1b]0;owned\x07" + b"A" * 20_000 + b"\n")
    run = vmguard("inspect", image)
    assert run.code == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("vmguard: error: "), run.stderr[:300]
    assert "\x1b" not in run.stderr and "\x07" not in run.stderr
    assert len(lines[0]) < 2 * MAX_MESSAGE


def test_usage_errors_naming_user_input_are_escaped(tmp_path: Path) -> None:
    """A path given on the command line comes back in the error line, escaped."""
    missing = tmp_path / "no\x1b[2Jsuch\u202e.vmx"
    run = vmguard("audit", missing)
    assert run.code == 2
    assert (
        run.stderr
        == f"vmguard: error: {tmp_path}/no\\x1b[2Jsuch\\u202e.vmx: no such configuration file\n"
    )
