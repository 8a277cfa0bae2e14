"""Disk image and definition permissions, found from real domain XML and image dirs."""

from __future__ import annotations

from pathlib import Path

from .findings import by_rule, evidences


def test_world_access_foreign_owner_and_places(weak: Path) -> None:
    assert [f.location.path for f in by_rule(weak, "host.image-writable")] == [
        "/var/lib/libvirt/images/web.qcow2"
    ]
    assert [f.location.path for f in by_rule(weak, "host.image-world-readable")] == [
        "/var/lib/libvirt/images/web.qcow2"
    ]
    assert evidences(weak, "host.image-foreign-access") == [
        "mode 0640 owner alice:users (no domain uses it)"
    ]
    assert [f.location.path for f in by_rule(weak, "host.image-outside-dirs")] == [
        "/srv/vms/db.qcow2"
    ]
    assert evidences(weak, "host.definition-outside-dir") == [
        "domain db: resolves to /srv/defs/db.xml"
    ]
    assert evidences(weak, "host.definition-permissions") == [
        "domain web: mode 0666 owner root:root"
    ]


def test_private_images_owned_by_the_vmm_pass(hardened: Path) -> None:
    for rule in ("host.image-writable", "host.image-world-readable", "host.image-foreign-access",
                 "host.image-outside-dirs", "host.definition-permissions"):  # fmt: skip
        assert by_rule(hardened, rule) == []
