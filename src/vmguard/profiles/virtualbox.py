"""The VirtualBox manual's security guide as a profile, as data.

The manual's chapter "Security Guide" (Potentially Insecure Operations, Encryption, CPU
vulnerabilities) does not number its advice, so the ids (VBOX-01 ...) are vmguard's and
each title names what the manual warns about.
"""

# ruff: noqa: E501 (one guide item per line: the table reads like the guide)
from __future__ import annotations

from vmguard.profiles.model import GuideItem, Profile, Scope
from vmguard.vmconfig.model import ConfigFormat, Platform

VBOX_ITEMS = (
    GuideItem("VBOX-01", "The shared clipboard is disabled (Potentially Insecure Operations)"),
    GuideItem("VBOX-02", "Drag and drop is disabled (Potentially Insecure Operations)"),
    GuideItem("VBOX-03", "No host folders are shared (Potentially Insecure Operations)"),
    GuideItem("VBOX-04", "VRDE requires authentication and TLS (Authentication; Encryption)"),
    GuideItem("VBOX-05", "Teleporting is off (Encryption: teleporting is unencrypted)"),
    GuideItem("VBOX-06", "No teleporter password is stored in clear (Teleporting)"),
    GuideItem("VBOX-07", "No iSCSI secret is stored in clear (iSCSI servers)"),
    GuideItem("VBOX-08", "Disk images are encrypted (Encryption of disk images)"),
    GuideItem("VBOX-09", "L1D cache flushes are not switched off (CPU vulnerabilities: L1TF)"),
    GuideItem("VBOX-10", "MDS buffer clears are not switched off (CPU vulnerabilities: MDS)"),
    GuideItem("VBOX-11", "IBPB barriers on VM exit/entry are on (CPU vulnerabilities: Spectre)"),
    GuideItem("VBOX-12", "Speculation control is not disabled (CPU vulnerabilities)"),
    GuideItem("VBOX-13", "No screen/audio recording or audio input (Potentially Insecure Operations)"),
    GuideItem("VBOX-14", "No host PCI or USB devices are passed to the guest (Potentially Insecure Operations)"),
    GuideItem("VBOX-15", "NAT port forwards do not bind every host address (Networking)"),
    GuideItem("VBOX-16", "No adapter may run in promiscuous mode (Networking)"),
    GuideItem("VBOX-17", "No network traffic is traced to a file (Potentially Insecure Operations)"),
    GuideItem("VBOX-18", "Nested virtualization and 3D acceleration are off (attack surface)"),
    GuideItem("VBOX-20", "The web service and VBoxManage access are authenticated (Authentication)", Scope.HOST,
              manual="vboxwebsrv's authentication library is host configuration, not part of a .vbox"),
    GuideItem("VBOX-21", "VirtualBox and its Extension Pack are current (Security Guide: general)", Scope.HOST,
              manual="needs the installed VirtualBox version and Oracle's current advisories"),
)  # fmt: skip

VIRTUALBOX_GUIDE = Profile(
    name="virtualbox",
    guide="Oracle VM VirtualBox User Manual, Security Guide (vmguard item numbering)",
    tag="VBOX",
    items=VBOX_ITEMS,
    formats=frozenset({ConfigFormat.VBOX, ConfigFormat.OVF}),
    platforms=frozenset({Platform.VIRTUALBOX}),
)
