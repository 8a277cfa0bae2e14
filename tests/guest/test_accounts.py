"""passwd/shadow parsing on account files written by shadow-utils (useradd, passwd...)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from vmguard.guest.accounts import ACCOUNT_FILE_MAX, read_accounts

from .dirview import DirView

TOOLS = ("useradd", "usermod", "passwd", "chpasswd", "openssl")


def _run(*args: str, stdin: str | None = None) -> None:
    subprocess.run(args, input=stdin, text=True, check=True, capture_output=True)


@pytest.fixture
def accounts_root(tmp_path: Path) -> Path:
    """A root whose /etc/passwd and /etc/shadow were changed only by shadow-utils."""
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"missing {missing} (Debian: passwd, openssl)")
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "passwd").write_text("root:x:0:0:root:/root:/bin/bash\n")
    (etc / "shadow").write_text("root:*:19000:0:99999:7:::\n")
    (etc / "group").write_text("root:x:0:\n")
    (etc / "gshadow").write_text("root:*::\n")
    root = str(tmp_path)
    for uid, name in ((1000, "alice"), (1001, "bob"), (1002, "carol"), (1003, "dave")):
        _run("useradd", "-R", root, "-M", "-u", str(uid), "-s", "/bin/sh", name)
    sha512 = subprocess.run(
        ["openssl", "passwd", "-6", "-salt", "vmguardsalt", "S3cret!"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    md5 = subprocess.run(
        ["openssl", "passwd", "-1", "-salt", "xyz", "pw"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    _run("chpasswd", "-R", root, "-e", stdin=f"alice:{sha512}\n")
    _run("usermod", "-R", root, "-p", md5, "carol")
    _run("passwd", "-R", root, "-l", "carol")  # "!" in front of the MD5 hash
    _run("passwd", "-R", root, "-d", "bob")  # empty password field
    return tmp_path


def test_states_from_real_tools(accounts_root: Path) -> None:
    gathered = read_accounts(DirView(accounts_root))
    assert gathered.problems == ()
    by_name = {user.name: user for user in gathered.value}
    assert [u.name for u in gathered.value] == ["root", "alice", "bob", "carol", "dave"]
    assert {n: u.password for n, u in by_name.items()} == {
        "root": "locked",
        "alice": "hash",
        "bob": "empty",
        "carol": "locked",
        "dave": "locked",  # useradd leaves "!" until a password is set
    }
    assert by_name["alice"].password_hash is not None
    assert by_name["alice"].password_hash.startswith("$6$vmguardsalt$")
    assert by_name["carol"].password_hash is not None
    assert by_name["carol"].password_hash.startswith("!$1$xyz$")
    assert by_name["bob"].password_hash is None
    alice = by_name["alice"]
    assert (alice.uid, alice.gid, alice.home, alice.shell) == (1000, 100, "/home/alice", "/bin/sh")
    assert "S3cret" not in repr(alice) and "$6$" not in repr(alice)


def test_no_shadow_entry_is_none(accounts_root: Path) -> None:
    with open(accounts_root / "etc/passwd", "a") as passwd:
        passwd.write("ghost:x:1500:1500::/nonexistent:/usr/sbin/nologin\n")
        passwd.write("legacy::1501:1501::/home/legacy:/bin/sh\n")  # no password at all
    users = {u.name: u for u in read_accounts(DirView(accounts_root)).value}
    assert users["ghost"].password == "none"
    assert users["legacy"].password == "empty"
    (accounts_root / "etc/shadow").unlink()
    users = {u.name: u for u in read_accounts(DirView(accounts_root)).value}
    assert users["alice"].password == "none"


def test_malformed_lines_are_problems(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/passwd").write_bytes(
        b"root:x:0:0:root:/root:/bin/bash\n"
        b"short:x:1\n"
        b"\xff\xfe\x00\x1b[2J:x:7:7::/h:/bin/sh\n"
        b"baduid:x:-1:0::/:/bin/sh\n"
        b"huge:x:99999999999:0::/:/bin/sh\n"
        b"+nisuser::::::\n"
        b"\n"
        b"ok:x:5:5:gecos:/home/ok:/bin/sh\n"
    )
    gathered = read_accounts(DirView(tmp_path))
    assert [u.name for u in gathered.value] == ["root", "\ufffd\ufffd[2J", "ok"]
    assert [p.reason.split(":")[0] for p in gathered.problems] == ["line 2", "line 4", "line 5"]


def test_oversized_passwd_is_a_problem(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    with open(tmp_path / "etc/passwd", "wb") as huge:
        huge.truncate(ACCOUNT_FILE_MAX + 1)
    gathered = read_accounts(DirView(tmp_path))
    assert gathered.value == ()
    assert [p.where for p in gathered.problems] == ["/etc/passwd"]
