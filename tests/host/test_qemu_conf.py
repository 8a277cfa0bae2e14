"""qemu.conf rules on Debian's real qemu.conf with weak settings appended."""

from __future__ import annotations

from pathlib import Path

from vmguard.findings import Severity, Threat

from .findings import by_rule, evidences


def test_root_confinement_and_misc_fire_with_their_lines(weak: Path) -> None:
    text = (weak / "etc/libvirt/qemu.conf").read_text().splitlines()
    for finding in by_rule(weak, "qemuconf.confinement") + by_rule(weak, "qemuconf.root"):
        assert finding.location.line is not None
        key = finding.evidence.split(" = ")[0]
        assert text[finding.location.line - 1].startswith(key)
    assert sorted(e.split(" = ")[0] for e in evidences(weak, "qemuconf.confinement")) == [
        "namespaces", "seccomp_sandbox", "security_default_confined", "security_driver",
    ]  # fmt: skip
    assert [f.severity for f in by_rule(weak, "qemuconf.root")] == [Severity.HIGH, Severity.MEDIUM]
    misc = {f.evidence.split(" = ")[0]: f.threat for f in by_rule(weak, "qemuconf.misc")}
    assert misc == {
        "migrate_tls_force": Threat.HOST_MONITORING,
        "relaxed_acs_check": Threat.VM_ESCAPE,
        "sched_core": Threat.GUEST_TO_GUEST,
        "stdio_handler": Threat.DENIAL_OF_SERVICE,
        "dump_guest_core": Threat.HOST_MONITORING,
    }


def test_open_consoles_and_password_never_shown(weak: Path) -> None:
    found = {f.evidence.split("_")[0]: f for f in by_rule(weak, "qemuconf.remote-display")}
    assert found["vnc"].severity is Severity.HIGH
    assert found["spice"].severity is Severity.MEDIUM  # a password but no TLS
    assert all("hunter2" not in f.evidence for f in found.values())


def test_debian_default_qemu_conf_is_clean(hardened: Path) -> None:
    for rule in ("qemuconf.root", "qemuconf.confinement", "qemuconf.remote-display"):
        assert by_rule(hardened, rule) == []
