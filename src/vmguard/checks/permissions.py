"""Checks on file metadata met by the walk: world-writable system files, unexpected
SUID/SGID programs, and paths that known rootkits leave behind. No content is read."""

from __future__ import annotations

import stat
from collections.abc import Iterable

from vmguard.findings import Finding, Rule, Severity, Threat
from vmguard.guest.view import GuestStat

WORLD_WRITABLE = Rule(
    "fs.world-writable",
    "World-writable file in a system path",
    Severity.MEDIUM,
    Threat.WEAK_CONFIGURATION,
    "chmod o-w the file: any local user (or compromised service) can change what root runs.",
    rationale=(
        "Any local user can change a world-writable file in a system path, and so plant code that "
        "root or a service later runs."
    ),
)
UNEXPECTED_SUID = Rule(
    "fs.unexpected-suid",
    "Unexpected SUID/SGID program",
    Severity.MEDIUM,
    Threat.WEAK_CONFIGURATION,
    "Remove the set-id bit (chmod u-s,g-s) unless the program is meant to be privileged.",
    rationale=(
        "A set-uid or set-gid program that the system does not ship runs with raised privileges "
        "for every user: a common backdoor or privilege-escalation path."
    ),
)
ROOTKIT_PATH = Rule(
    "malware.rootkit-path",
    "File at a path known from Linux rootkits",
    Severity.CRITICAL,
    Threat.MALWARE,
    "Treat the image as compromised: do not run it; rebuild from a trusted source.",
    ("https://www.chkrootkit.org/",),
    rationale=(
        "Files at paths used by known Linux rootkits point to a compromised build machine or "
        "template."
    ),
)

SYSTEM_PREFIXES = (
    "/etc/",
    "/usr/",
    "/bin/",
    "/sbin/",
    "/lib/",
    "/lib32/",
    "/lib64/",
    "/libx32/",
    "/boot/",
    "/opt/",
    "/var/lib/",
    "/root/",
)

# Set-id programs shipped by mainstream distributions (Debian, Ubuntu, RHEL family, Alpine,
# SUSE); anything else set-id deserves a look.
EXPECTED_SETID = frozenset(
    {
        "su",
        "sudo",
        "sudoedit",
        "passwd",
        "chsh",
        "chfn",
        "gpasswd",
        "newgrp",
        "mount",
        "umount",
        "ping",
        "ping6",
        "pkexec",
        "crontab",
        "at",
        "chage",
        "expiry",
        "wall",
        "write",
        "bsd-write",
        "ssh-agent",
        "ssh-keysign",
        "unix_chkpwd",
        "pam_timestamp_check",
        "dotlockfile",
        "polkit-agent-helper-1",
        "dbus-daemon-launch-helper",
        "fusermount",
        "fusermount3",
        "ntfs-3g",
        "newuidmap",
        "newgidmap",
        "Xorg.wrap",
        "mount.nfs",
        "mount.cifs",
        "traceroute6.iputils",
        "staprun",
        "userhelper",
        "usernetctl",
        "locate",
        "mlocate",
        "plocate",
        "screen",
        "lockdev",
        "utempter",
        "chromium-sandbox",
        "chrome-sandbox",
        "vmware-user-suid-wrapper",
        "mail-lock",
        "mail-unlock",
        "mail-touchlock",
        "lppasswd",
        "procmail",
        "exim4",
        "sendmail",
        "postdrop",
        "postqueue",
        "ksu",
        "suexec",
        "grub2-set-bootflag",
        "cockpit-session",
        "sg",
        "bwrap",
        "snap-confine",
        "doas",
        "bbsuid",
        "busybox",
        "lxc-user-nic",
        "cgexec",
        "netreport",
    }
)

ROOTKIT_PATHS = {
    "/usr/lib/libprocesshider.so": "libprocesshider",
    "/usr/local/lib/libprocesshider.so": "libprocesshider",
    "/reptile/reptile_cmd": "Reptile",
    "/lib/udev/reptile": "Reptile",
    "/XxJynx": "Jynx",
    "/usr/bin/.sshd": "trojaned sshd (hidden)",
    "/dev/.hdlc": "hidden device-directory kit",
    "/lib/libext-2.so.7": "Ebury",
    "/lib64/libns2.so": "Ebury",
    "/lib/x86_64-linux-gnu/libkeyutils.so.1.9": "Ebury",
    "/usr/lib/x86_64-linux-gnu/libkeyutils.so.1.9": "Ebury",
    "/etc/rc.d/init.d/selinux": "BillGates/Elknot",
    "/usr/bin/bsd-port/getty": "BillGates",
    "/tmp/.ICE-unix/.x": "hidden miner dropper",  # noqa: S108 - a guest path
}
ROOTKIT_NAMES = {
    "diamorphine.ko": "Diamorphine",
    "reptile.ko": "Reptile",
    "kovid.ko": "KoviD",
    "suterusu.ko": "Suterusu",
}


class MetadataChecks:
    """Checks fed by the walk's stat results; world-writable findings are capped and counted."""

    rules: tuple[Rule, ...] = (WORLD_WRITABLE, UNEXPECTED_SUID, ROOTKIT_PATH)

    def __init__(self, max_world_writable: int = 50) -> None:
        self._max = max_world_writable
        self.world_writable = 0

    def check(self, path: str, info: GuestStat) -> Iterable[Finding]:
        """Findings for one path."""
        mode = info.mode
        if path in ROOTKIT_PATHS or path.rsplit("/", 1)[-1] in ROOTKIT_NAMES:
            family = ROOTKIT_PATHS.get(path) or ROOTKIT_NAMES[path.rsplit("/", 1)[-1]]
            yield ROOTKIT_PATH.finding(path, f"known {family} path")
        if stat.S_ISLNK(mode):
            return
        system = path.startswith(SYSTEM_PREFIXES)
        if system and mode & stat.S_IWOTH and not (stat.S_ISDIR(mode) and mode & stat.S_ISVTX):
            self.world_writable += 1
            if self.world_writable <= self._max:
                yield WORLD_WRITABLE.finding(path, f"mode {stat.filemode(mode)}")
        if stat.S_ISREG(mode) and mode & (stat.S_ISUID | stat.S_ISGID):
            name = path.rsplit("/", 1)[-1]
            if name not in EXPECTED_SETID:
                bits = "SUID" if mode & stat.S_ISUID else "SGID"
                yield UNEXPECTED_SUID.finding(
                    path,
                    f"{bits} {stat.filemode(mode)} owner uid {info.uid}",
                    severity=Severity.HIGH if mode & stat.S_ISUID and info.uid == 0 else None,
                )
