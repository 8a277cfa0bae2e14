"""A libvirt/KVM profile built from libvirt's and Red Hat's documentation, as data.

Neither source numbers its advice, so the ids (KVM-01 ...) are vmguard's; each item's
title names the section it comes from: libvirt's QEMU driver security architecture
(drvqemu), domain XML reference (formatdomain), access control (acl), cgroups, and
virt-host-validate; Red Hat Enterprise Linux 9 "Configuring and managing virtualization",
chapter "Securing virtual machines" (sVirt, Secure Boot, limited host access, vTPM).
"""

# ruff: noqa: E501 (one guide item per line: the table reads like the guide)
from __future__ import annotations

from vmguard.profiles.model import GuideItem, Profile, Scope
from vmguard.vmconfig.model import ConfigFormat, Platform

H = Scope.HOST

KVM_ITEMS = (
    GuideItem("KVM-01", "QEMU runs as an unprivileged user (drvqemu: POSIX users/groups; qemu.conf user, group)", H),
    GuideItem("KVM-02", "Guests are confined by sVirt (drvqemu: SELinux/AppArmor; security_driver, security_default_confined)", H),
    GuideItem("KVM-03", "QEMU runs under its seccomp sandbox (qemu.conf seccomp_sandbox)", H),
    GuideItem("KVM-04", "QEMU gets a private mount namespace and /dev (drvqemu: namespaces)", H),
    GuideItem("KVM-05", "libvirt manages image file ownership (drvqemu: dynamic_ownership)", H),
    GuideItem("KVM-06", "The cgroup device ACL admits no extra host devices (cgroups; cgroup_device_acl)", H),
    GuideItem("KVM-07", "Consoles listen on loopback or use TLS with authentication (qemu.conf vnc/spice)", H),
    GuideItem("KVM-08", "Migrations are forced onto TLS (qemu.conf migrate_tls_force)", H),
    GuideItem("KVM-09", "TCP character devices use TLS (qemu.conf chardev_tls)", H),
    GuideItem("KVM-10", "Management sockets require authentication (remote, auth: listen_tcp, auth_*, unix_sock_rw_perms)", H),
    GuideItem("KVM-11", "API access is restricted to administrators (acl: access_drivers, unix_sock_group)", H),
    GuideItem("KVM-12", "The host's MAC policy (SELinux/AppArmor) is enforcing and confines QEMU (RHEL: sVirt)", H),
    GuideItem("KVM-13", "The host mitigates CPU side channels and does not merge guest pages (virt-host-validate; KSM)", H),
    GuideItem("KVM-14", "An IOMMU is on wherever devices are assigned (virt-host-validate: IOMMU support)", H),
    GuideItem("KVM-15", "The hypervisor's files match their packages (RHEL: keep the host updated and verified)", H),
    GuideItem("KVM-20", "The domain's security label is not disabled (formatdomain: Security label)"),
    GuideItem("KVM-21", "No static DAC label runs the domain's QEMU as root (formatdomain: Security label)"),
    GuideItem("KVM-22", "No static MAC label and no relabel='no' disks (formatdomain: Security label)"),
    GuideItem("KVM-23", "No host devices are assigned (formatdomain: Host device assignment)"),
    GuideItem("KVM-24", "No host CD/DVD drive is passed through (formatdomain: Hard drives, floppy disks, CDROMs)"),
    GuideItem("KVM-25", "No USB controller unless needed (formatdomain: Controllers)"),
    GuideItem("KVM-26", "Nested virtualization is not exposed (formatdomain: CPU model and topology)"),
    GuideItem("KVM-27", "No vsock host channel unless needed (formatdomain: Vsock)"),
    GuideItem("KVM-28", "Graphical consoles require a password and are not bound to every address (formatdomain: Graphical framebuffers)"),
    GuideItem("KVM-29", "UEFI Secure Boot is on (RHEL: Secure Boot; formatdomain: BIOS bootloader)"),
    GuideItem("KVM-30", "The domain has a virtual TPM (RHEL: vTPM; formatdomain: TPM device)"),
    GuideItem("KVM-31", "Interfaces carry an anti-spoofing nwfilter (formatnwfilter: clean-traffic)"),
    GuideItem("KVM-32", "No raw QEMU command-line passthrough (drvqemu: pass-through of arbitrary command line arguments)"),
    GuideItem("KVM-33", "Legacy devices are removed (formatdomain; RHEL: remove unneeded devices)"),
    GuideItem("KVM-34", "Host directories are not shared writable (formatdomain: Filesystems)"),
    GuideItem("KVM-40", "The host CPU has hardware virtualization enabled (virt-host-validate: hardware virtualization)", H,
              manual="needs the running host's CPU flags and /dev/kvm: run virt-host-validate qemu on the host"),
    GuideItem("KVM-41", "Host packages carry current security updates (RHEL: keep the host updated)", H,
              manual="needs the distribution's current advisories: compare with the vendor's errata or run vmguard vulns"),
)  # fmt: skip

LIBVIRT_KVM = Profile(
    name="libvirt-kvm",
    guide="libvirt QEMU/KVM and Red Hat Enterprise Linux 9 virtualization security guidance "
    "(vmguard item numbering)",
    tag="KVM",
    items=KVM_ITEMS,
    formats=frozenset({ConfigFormat.LIBVIRT}),
    platforms=frozenset({Platform.LIBVIRT}),
)
