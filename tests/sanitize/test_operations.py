"""Every Linux operation on a guest that has what it cleans (built with mkfs.ext4 -d): each
reports what it changed, and the changed image is what the operation promises."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sanitize.sanitizeimages import fs_check, partitions
from vmguard.demo.imagebuild import (
    LINUX_TYPE,
    MiB,
    PartitionSpec,
    assemble_gpt,
    make_ext4,
    run_tool,
)
from vmguard.findings import Report
from vmguard.inspection import ImageOptions, open_guest
from vmguard.sanitize.accounts import lock_shadow
from vmguard.sanitize.catalogue import OPERATIONS, select_operations
from vmguard.sanitize.pipeline import SanitizeOptions, sanitize_image
from vmguard.scanning import ScanOptions

FILES = {
    "etc/fstab": "LABEL=root / ext4 defaults 0 1\n",
    "etc/os-release": 'ID=debian\nVERSION_ID="12"\n',
    "etc/passwd": "root:x:0:0:root:/root:/bin/bash\nbob:x:1000:1000::/home/bob:/bin/sh\n",
    "etc/shadow": "root:$6$salt$hash:19000:0:99999:7:::\nbob::19000::::::\ndaemon:*:19000::::::\n",
    "etc/machine-id": "0123456789abcdef0123456789abcdef\n",
    "var/lib/dbus/machine-id": "0123456789abcdef0123456789abcdef\n",
    "etc/ssh/ssh_host_ed25519_key.pub": "ssh-ed25519 AAAA host\n",
    "root/.bash_history": "ls\n",
    "home/bob/.zsh_history": ": 1:0;ls\n",
    "home/bob/.ssh/authorized_keys": "ssh-ed25519 AAAA bob\n",
    "home/bob/.ssh/id_ed25519.pub": "ssh-ed25519 AAAA bob\n",
    "var/lib/cloud/instances/i-0abc/user-data.txt": "#cloud-config\n",
    "var/lib/cloud/data/instance-id": "i-0abc\n",
    "var/log/syslog": "boot\n" * 100,
    "var/log/syslog.1": "older\n",
    "var/log/apt/history.log.2.gz": "gz",
    "var/log/journal/0123/system.journal": "LPKSHHRH",
    "var/lib/dhcp/dhclient.eth0.leases": "lease { }\n",
    "etc/udev/rules.d/70-persistent-net.rules": 'SUBSYSTEM=="net", NAME="eth0"\n',
    "var/lib/systemd/random-seed": "seed",
    "tmp/build/a/b.o": "obj",
    "var/tmp/cache.bin": "x",
    "var/cache/apt/archives/foo_1.0_amd64.deb": "deb",
    "var/cache/apt/pkgcache.bin": "bin",
    "var/crash/_usr_bin_x.0.crash": "crash",
    "var/spool/mail/bob": "From: a\n\nhello\n",
    "lib/systemd/system/ssh-keygen.service": "[Service]\nExecStart=/usr/bin/ssh-keygen -A\n",
}
GONE = (
    "/var/lib/dbus/machine-id",
    "/etc/ssh/ssh_host_ed25519_key.pub",
    "/home/bob/.ssh/authorized_keys",
    "/home/bob/.ssh/id_ed25519.pub",
    "/var/lib/cloud/instances/i-0abc",
    "/var/lib/cloud/data/instance-id",
    "/var/log/syslog.1",
    "/var/log/apt/history.log.2.gz",
    "/var/log/journal/0123/system.journal",
    "/var/lib/dhcp/dhclient.eth0.leases",
    "/etc/udev/rules.d/70-persistent-net.rules",
    "/var/lib/systemd/random-seed",
    "/tmp/build",
    "/var/tmp/cache.bin",
    "/var/cache/apt/archives/foo_1.0_amd64.deb",
    "/var/cache/apt/pkgcache.bin",
    "/var/crash/_usr_bin_x.0.crash",
)
EMPTIED = ("/etc/machine-id", "/root/.bash_history", "/home/bob/.zsh_history", "/var/log/syslog",
           "/var/spool/mail/bob")  # fmt: skip


LABEL = "system_u:object_r:shadow_t:s0"


@pytest.fixture(scope="module")
def cleaned(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Report]:
    work = tmp_path_factory.mktemp("operations")
    tree = work / "tree"
    for name, text in FILES.items():
        path = tree / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    os.chmod(tree / "etc/shadow", 0o640)
    root = work / "root.img"
    make_ext4(root, tree, 64 * MiB, label="root", fs_uuid="0a0b0c0d-1111-4222-8333-444455556666")
    # an SELinux label, as RHEL-family guests carry on every file: a rewrite must keep it
    run_tool("debugfs", "-w", "-R", f"ea_set /etc/shadow security.selinux {LABEL}", root)
    disk = work / "disk.raw"
    assemble_gpt(
        disk,
        [PartitionSpec(root, LINUX_TYPE, "0a0b0c0d-aaaa-4bbb-8ccc-ddddeeeeffff", "root")],
        disk_guid="0a0b0c0d-9999-4888-8777-666655554444",
    )
    out = work / "clean.qcow2"
    report = sanitize_image(disk, out, SanitizeOptions(OPERATIONS, scan=ScanOptions(workers=1)))
    return out, report


def test_every_operation_did_what_it_promises(cleaned, tmp_path: Path) -> None:
    out, _ = cleaned
    fs = open_guest(out, ImageOptions()).layout.guestfs
    assert fs is not None
    for path in GONE:
        assert fs.stat(path, follow=False) is None, path
    for path in EMPTIED:
        info = fs.stat(path)
        assert info is not None and info.size == 0, path
    assert fs.list_dir("/tmp") == [] and fs.list_dir("/var/lib/cloud/instances") == []
    shadow = fs.read_file("/etc/shadow", 4096)
    assert (
        shadow
        == b"root:!$6$salt$hash:19000:0:99999:7:::\nbob:!:19000::::::\ndaemon:*:19000::::::\n"
    )
    assert fs.stat("/etc/shadow") is not None and fs.stat("/etc/shadow").mode & 0o777 == 0o640
    for part in partitions(out, tmp_path):
        done = fs_check(part)
        assert done.returncode == 0, done.stdout + done.stderr
        labels = run_tool("debugfs", "-R", "ea_list /etc/shadow", part).decode()
        assert f'security.selinux ({len(LABEL)}) = "{LABEL}"' in labels


def test_every_operation_reports_its_changes(cleaned) -> None:
    _, report = cleaned
    reported = {f.rule_id.removeprefix("sanitize.") for f in report.findings}
    quiet = {"windows-setup", "secret-files"}  # nothing of theirs in this guest
    assert {o.name for o in OPERATIONS} - quiet <= reported
    # a unit runs ssh-keygen -A: no warning that host keys will be missing
    assert "no-host-key-regeneration" not in reported
    by_path = {f.location.path: f.evidence for f in report.findings if f.rule_id == "sanitize.logs"}
    assert by_path["/var/log/syslog"] == "emptied (500 bytes)"


def test_lock_shadow_locks_hashes_and_empty_passwords_only() -> None:
    data = b"a:$y$j9T$x:1::::::\nb::1::::::\nc:!:1::::::\nd:*:1::::::\n#e:x\n"
    locked, users = lock_shadow(data)
    assert locked == b"a:!$y$j9T$x:1::::::\nb:!:1::::::\nc:!:1::::::\nd:*:1::::::\n#e:x\n"
    assert users == ["a", "b"]


def test_unknown_operations_are_refused() -> None:
    with pytest.raises(ValueError, match="nonsense"):
        select_operations(["logs", "nonsense"])
    assert [o.name for o in select_operations(["logs", "tmp-files"])] == ["logs", "tmp-files"]
