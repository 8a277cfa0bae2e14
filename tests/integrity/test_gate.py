"""The launch gate: installed beside an existing hook, invoked exactly as libvirtd invokes it."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import guest_file_offset, qemu_write
from vmguard.integrity.gate import GateConfig, hook_script, install, uninstall
from vmguard.integrity.keys import KeyType
from vmguard.integrity.sign import SignOptions, build_manifest, sign_manifest

# What libvirtd 9.0 passed to a hook here (measured): a clean environment, this argv shape.
LIBVIRT_ENV = {
    "LC_ALL": "C",
    "HOME": "/root",
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
}


def domain_xml(disk: Path, name: str = "vmguard-sample") -> str:
    """A domain as libvirt hands it to the hook at prepare begin (inactive XML plus id)."""
    return f"""<domain type='qemu' id='7'>
  <name>{name}</name>
  <memory unit='KiB'>65536</memory>
  <os><type arch='x86_64' machine='pc-i440fx-7.2'>hvm</type></os>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='{disk}'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <disk type='file' device='cdrom'><target dev='hdc' bus='ide'/><readonly/></disk>
  </devices>
</domain>
"""


def run_hook(
    hook: Path, xml: str, name: str = "vmguard-sample", op: str = "prepare"
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(hook), name, op, "begin", "-"],
        input=xml, capture_output=True, text=True, env=LIBVIRT_ENV, timeout=60, check=False,
    )  # fmt: skip


@pytest.fixture
def gate(tmp_path: Path, key_pairs, sample: Path):
    """A trust dir, a signatures dir holding the sample's signature, and an installed hook."""
    pair = key_pairs[KeyType.ED25519]
    trust = tmp_path / "trust"
    trust.mkdir()
    shutil.copy(pair.public, trust / "signer.pub")
    signatures = tmp_path / "signatures"
    signatures.mkdir()
    disk = sample / "sample.qcow2"
    definition = sample / "domain.xml"
    definition.write_text(domain_xml(disk).replace(" id='7'", ""))
    manifest = build_manifest([disk, definition], SignOptions())
    (signatures / "vmguard-sample.dsse.json").write_bytes(sign_manifest(manifest, pair.signing()))
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    previous = hooks / "qemu"
    previous.write_text(
        f'#!/bin/sh\necho "$*" >> {tmp_path}/chained.args\ncat > {tmp_path}/chained.xml\n'
    )
    previous.chmod(0o755)
    installed = install(GateConfig((trust,), signatures), previous)
    assert installed.chained == hooks / "qemu.vmguard-chained"
    return installed.hook, disk, tmp_path


def test_signed_domain_starts_and_the_old_hook_still_runs(gate) -> None:
    hook, disk, tmp = gate
    xml = domain_xml(disk)
    done = run_hook(hook, xml)
    assert done.returncode == 0, done.stderr
    assert (tmp / "chained.args").read_text() == "vmguard-sample prepare begin -\n"
    assert (tmp / "chained.xml").read_text() == xml


def test_modified_disk_is_refused_with_the_reason(gate) -> None:
    hook, disk, _ = gate
    qemu_write(disk, "qcow2", guest_file_offset(disk, "/etc/shadow"), b"\x41" * 512)
    done = run_hook(hook, domain_xml(disk))
    assert done.returncode == 1
    assert done.stderr.startswith("vmguard: refused: ")
    assert "/etc/shadow" in done.stderr and "sample.qcow2" in done.stderr
    assert len(done.stderr.splitlines()) == 1
    # Other operations are not gated (libvirt calls the hook for release, migrate, ...).
    assert run_hook(hook, domain_xml(disk), op="release").returncode == 0


def test_unsigned_or_changed_domains_are_refused(gate, tmp_path: Path) -> None:
    hook, disk, _ = gate
    other = run_hook(hook, domain_xml(disk, "other-vm"), name="other-vm")
    assert other.returncode == 2 and "not signed" in other.stderr
    changed = domain_xml(disk).replace(
        "</devices>", "<hostdev mode='subsystem' type='pci'/></devices>"
    )
    refused = run_hook(hook, changed)
    assert refused.returncode == 1 and "definition differs" in refused.stderr
    block = domain_xml(disk).replace("type='file' device='disk'", "type='block' device='disk'")
    assert run_hook(hook, block).returncode == 2
    mismatch = run_hook(hook, domain_xml(disk), name="someone-else")
    assert mismatch.returncode == 2


def test_uninstall_restores_the_previous_hook(gate) -> None:
    hook, _, _ = gate
    before = (hook.parent / "qemu.vmguard-chained").read_text()
    uninstall(hook)
    assert hook.read_text() == before
    assert not (hook.parent / "qemu.vmguard-chained").exists()
    assert os.access(hook, os.X_OK)


def test_hook_script_quotes_paths(tmp_path: Path) -> None:
    odd = tmp_path / "dir with 'quotes' and $x"
    script = hook_script(GateConfig((odd,), odd), odd / "chained")
    assert "'\"'\"'" in script  # shlex-quoted, never interpolated by sh
