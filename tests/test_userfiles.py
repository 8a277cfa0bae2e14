"""The one bounded read of files the user names: whole up to a limit, refused beyond it."""

from __future__ import annotations

from pathlib import Path

import pytest

from vmguard.userfiles import UserFileError, read_first_line, read_user_file


def test_reads_a_file_whole_up_to_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "sig"
    path.write_bytes(b"x" * 100)
    assert read_user_file(path, "signature", 100) == b"x" * 100
    with pytest.raises(UserFileError, match="the signature is larger than 99 bytes"):
        read_user_file(path, "signature", 99)


def test_an_endless_file_is_refused_after_the_limit() -> None:
    """/dev/zero never ends: the read stops one byte past the limit."""
    with pytest.raises(UserFileError, match="larger than 4096 bytes"):
        read_user_file(Path("/dev/zero"), "key file", 4096)


def test_unreadable_and_empty_files_say_which_and_what(tmp_path: Path) -> None:
    with pytest.raises(UserFileError, match=r"none: cannot read the baseline \("):
        read_user_file(tmp_path / "none", "baseline", 10)
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    assert read_user_file(empty, "key file", 10) == b""
    with pytest.raises(UserFileError, match="the key file is empty"):
        read_user_file(empty, "key file", 10, allow_empty=False)


def test_first_line_is_what_would_be_typed_at_a_prompt(tmp_path: Path) -> None:
    path = tmp_path / "pass"
    for content, line in ((b"secret\n", b"secret"), (b"secret\r\nmore", b"secret"), (b"s", b"s")):
        path.write_bytes(content)
        assert read_first_line(path, "passphrase file", 64) == line
    path.write_bytes(b"\nsecret\n")
    with pytest.raises(UserFileError, match="first line is empty") as caught:
        read_first_line(path, "passphrase file", 64)
    assert "secret" not in str(caught.value)
