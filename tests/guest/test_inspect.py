"""gather_guest_facts over whole guest trees made from real files."""

from __future__ import annotations

import os
import platform
import shutil
from pathlib import Path

from vmguard.guest.inspect import gather_guest_facts
from windowshives import empty_hive

from .dirview import DirView
from .test_apk import INSTALLED as APK_INSTALLED
from .test_windows import SOFTWARE_SCRIPT, _hivexsh


def _debian_tree(root: Path) -> Path:
    """os-release layout, debian_version, dpkg status and a binary from this machine."""
    for directory in ("etc", "usr/lib", "usr/bin", "bin", "var/lib/dpkg"):
        (root / directory).mkdir(parents=True)
    shutil.copyfile("/usr/lib/os-release", root / "usr/lib/os-release")
    os.symlink("../usr/lib/os-release", root / "etc/os-release")
    shutil.copyfile("/etc/debian_version", root / "etc/debian_version")
    shutil.copyfile("/var/lib/dpkg/status", root / "var/lib/dpkg/status")
    shutil.copyfile(Path("/usr/bin/env").resolve(), root / "usr/bin/env")
    (root / "etc/hostname").write_text("guest-01\n")
    (root / "etc/passwd").write_text(
        "root:x:0:0:root:/root:/bin/bash\n"
        "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
        "admin:x:1000:1000:,,,:/home/admin:/bin/bash\n"
    )
    (root / "etc/shadow").write_text(
        "root:*:19000:0:99999:7:::\n"
        "daemon:*:19000:0:99999:7:::\n"
        "admin:$y$j9T$F5Jx5fExrKuJdOuAr7cMa/$fUGJtrV6NkXRBHvy3mm5ihrcVpyhI5RNDvgXy2GdVS7:"
        "19000:0:99999:7:::\n"
    )
    return root


def test_debian_guest(tmp_path: Path) -> None:
    root = _debian_tree(tmp_path)
    (root / "lib/apk/db").mkdir(parents=True)  # a second manager in the same guest
    (root / "lib/apk/db/installed").write_text(APK_INSTALLED)
    facts = gather_guest_facts(DirView(root))
    assert facts.problems == ()
    assert facts.os.family == "linux"
    assert facts.os.hostname == "guest-01"
    assert facts.os.arch == platform.machine()
    assert [(u.name, u.password) for u in facts.users] == [
        ("root", "locked"),
        ("daemon", "locked"),
        ("admin", "hash"),
    ]
    keys = [(p.manager, p.name, p.arch, p.version) for p in facts.packages]
    assert keys == sorted(keys)
    assert {p.manager for p in facts.packages} == {"apk", "dpkg"}
    assert keys[0][0] == "apk"


def test_hostile_guest_records_problems(tmp_path: Path) -> None:
    root = _debian_tree(tmp_path)
    status = root / "var/lib/dpkg/status"
    status.unlink()
    with open(status, "wb") as huge:
        huge.truncate(70 * 1024 * 1024)  # sparse, E.34
    (root / "etc/passwd").write_bytes(b"root:x:0:0:root:/root:/bin/bash\n\xff\x00junk\n")
    (root / "var/lib/rpm").mkdir(parents=True)
    (root / "var/lib/rpm/Packages").write_bytes(b"\x00" * 4096)
    facts = gather_guest_facts(DirView(root))
    assert facts.packages == ()
    assert [u.name for u in facts.users] == ["root"]
    assert {p.where for p in facts.problems} == {
        "/var/lib/dpkg/status",
        "/etc/passwd",
        "/var/lib/rpm/Packages",
    }


def test_empty_tree(tmp_path: Path) -> None:
    facts = gather_guest_facts(DirView(tmp_path))
    assert facts.os.family == "unknown"
    assert (facts.users, facts.packages, facts.problems) == ((), (), ())


def test_windows_guest(tmp_path: Path) -> None:
    config = tmp_path / "Windows/System32/config"
    config.mkdir(parents=True)
    empty_hive(config / "SOFTWARE")
    _hivexsh(config / "SOFTWARE", SOFTWARE_SCRIPT)
    (tmp_path / "etc").mkdir()  # Linux files in a Windows tree are not read as Linux
    (tmp_path / "etc/os-release").write_text("ID=debian\n")
    facts = gather_guest_facts(DirView(tmp_path))
    assert (facts.os.family, facts.os.version) == ("windows", "10.0.19045")
    assert facts.problems == ()
