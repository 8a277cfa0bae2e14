"""libvirt domain XML for the guide tests, each checked by real libvirt.

``domain_xml`` fills a KVM domain template; ``write_domain`` writes it and has libvirt's
own ``virt-xml-validate`` (libvirt-clients) check it against the domain RNG schema, so no
fixture is XML that libvirt would refuse.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

_TEMPLATE = """<domain type='kvm'{ns}>
  <name>guide-vm</name>
  <uuid>6c1d3c8e-6f2a-4c55-9a3b-1b2f1f0e7a10</uuid>
  <memory unit='KiB'>2097152</memory>
  <vcpu placement='static'>2</vcpu>
  {os}
  <features>
    <acpi/>
    <apic/>
  </features>
  {cpu}
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='/var/lib/libvirt/images/guide-vm.qcow2'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    {devices}
  </devices>
  {seclabel}
  {qemu}
</domain>
"""
DEFAULTS = {
    "ns": "",
    "os": "<os><type arch='x86_64' machine='q35'>hvm</type></os>",
    "cpu": "",
    "devices": "",
    "seclabel": "",
    "qemu": "",
}


def domain_xml(**parts: str) -> str:
    """A KVM domain with ``parts`` (os, cpu, devices, seclabel, qemu, ns) filled in."""
    unknown = set(parts) - set(DEFAULTS)
    assert not unknown, unknown
    return _TEMPLATE.format(**{**DEFAULTS, **parts})


def write_domain(directory: Path, name: str, **parts: str) -> Path:
    """Write the domain and have virt-xml-validate accept it (skip without the tool)."""
    tool = shutil.which("virt-xml-validate")
    if tool is None:
        pytest.skip("virt-xml-validate (libvirt-clients) not installed")
    path = directory / f"{name}.xml"
    path.write_text(domain_xml(**parts), encoding="utf-8")
    checked = subprocess.run(
        [tool, str(path), "domain"], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, f"libvirt refuses {name}: {checked.stderr}"
    return path
