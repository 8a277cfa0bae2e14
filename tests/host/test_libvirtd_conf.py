"""Management socket rules on Debian's real libvirtd.conf."""

from __future__ import annotations

import shutil
from pathlib import Path

from vmguard.findings import Severity

from .findings import by_rule, evidences


def test_unauthenticated_tcp_tls_and_unix_socket(weak: Path) -> None:
    assert evidences(weak, "libvirtd.tcp-no-auth") == ['listen_tcp = 1, auth_tcp = "none"']
    assert {f.severity for f in by_rule(weak, "libvirtd.tls-weak")} == {
        Severity.HIGH,
        Severity.MEDIUM,
    }
    assert len(by_rule(weak, "libvirtd.unix-socket-open")) == 1


def test_tcp_socket_unit_with_default_sasl_is_plain_tcp(hardened: Path, tmp_path: Path) -> None:
    root = tmp_path / "root"
    shutil.copytree(hardened, root, symlinks=True)
    wants = root / "etc/systemd/system/sockets.target.wants"
    wants.mkdir(parents=True)
    (wants / "libvirtd-tcp.socket").symlink_to("/lib/systemd/system/libvirtd-tcp.socket")
    assert evidences(root, "libvirtd.tcp-listen") == [
        'libvirtd-tcp.socket enabled, auth_tcp unset (default "sasl")'
    ]
    assert by_rule(hardened, "libvirtd.tcp-listen") == []
