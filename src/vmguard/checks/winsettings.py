"""Weak Windows settings, read from the SYSTEM and SOFTWARE hives.

Each simple rule is one line of data (``SETTINGS``): the hive, the key, the value and the
values that make it weak. Settings under SYSTEM are read in the control set Windows boots
(``Select\\Current``), never in another one: a stale ControlSet002 is not the machine's
configuration. A finding's location is the registry path of the value.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from vmguard.findings import Area, Finding, Rule, Severity, Threat
from vmguard.guest.facts import GuestFacts
from vmguard.guest.registry import Hive
from vmguard.guest.view import GuestView
from vmguard.guest.windows import open_system_hive

_WEAK = Threat.WEAK_CONFIGURATION
_MS = "https://learn.microsoft.com/en-us/windows/security/"


def _rule(
    rule_id: str, title: str, severity: Severity, fix: str, *, rationale: str, ref: str = _MS
) -> Rule:
    return Rule(f"windows.{rule_id}", title, severity, _WEAK, fix, (ref,), rationale=rationale)


RDP_WITHOUT_NLA = _rule(
    "rdp-without-nla",
    "Remote Desktop enabled without Network Level Authentication",
    Severity.HIGH,
    "Require NLA (UserAuthentication=1 on RDP-Tcp) or disable Remote Desktop "
    "(fDenyTSConnections=1): without NLA the logon screen is reachable before any credential.",
    rationale=(
        "Without Network Level Authentication the full logon screen, and the code behind it, is "
        "reachable by anyone before they prove who they are (BlueKeep-class bugs, password "
        "spraying)."
    ),
)
FIREWALL_OFF = _rule(
    "firewall-off",
    "Windows Firewall profile turned off",
    Severity.MEDIUM,
    "Set EnableFirewall=1 for every profile (Domain, Private, Public), by policy if managed.",
    rationale=(
        "With a firewall profile off, every listening service is reachable from the networks of "
        "that profile."
    ),
)
SMB1 = _rule(
    "smb1-enabled",
    "SMBv1 enabled",
    Severity.HIGH,
    "Remove the SMB1Protocol feature, set LanmanServer\\Parameters\\SMB1=0 and disable the "
    "mrxsmb10 driver (Start=4): SMBv1 is what EternalBlue/WannaCry spread through.",
    rationale=(
        "SMBv1 lacks modern protections and carried the EternalBlue worms; no current Windows "
        "needs it."
    ),
)
UAC_OFF = _rule(
    "uac-disabled",
    "User Account Control disabled",
    Severity.HIGH,
    "Set Policies\\System\\EnableLUA=1: with UAC off every administrator process runs "
    "elevated and the integrity-level sandbox is gone.",
    rationale=(
        "Without UAC every administrator process runs with full rights, so any program an "
        "administrator starts can change the system."
    ),
)
WDIGEST = _rule(
    "wdigest-cleartext",
    "WDigest keeps cleartext logon passwords in memory",
    Severity.HIGH,
    "Set SecurityProviders\\WDigest\\UseLogonCredential=0 (or delete it): with 1, LSASS "
    "holds every interactive logon's password in cleartext for credential dumpers.",
    rationale=(
        "With WDigest caching, LSASS keeps logon passwords in cleartext, and credential dumpers "
        "read them straight from memory."
    ),
)
LM_HASH = _rule(
    "lm-hash-stored",
    "LAN Manager hashes stored",
    Severity.MEDIUM,
    "Set Control\\Lsa\\NoLMHash=1 and change passwords: LM hashes are cracked in minutes.",
    rationale=("LAN Manager hashes are cracked in minutes and give away the password itself."),
)
WINRM_BASIC = _rule(
    "winrm-basic-auth",
    "WinRM allows Basic authentication",
    Severity.HIGH,
    "Set the WinRM Service/Client policy AllowBasic=0; Basic sends credentials reversibly.",
    rationale=(
        "Basic authentication sends the user name and password in a reversible encoding with every "
        "request."
    ),
)
WINRM_UNENCRYPTED = _rule(
    "winrm-unencrypted",
    "WinRM allows unencrypted traffic",
    Severity.HIGH,
    "Set the WinRM Service/Client policy AllowUnencryptedTraffic=0.",
    rationale=(
        "Unencrypted WinRM traffic exposes commands, output and credentials to anyone on the "
        "network path."
    ),
)
DEFENDER_OFF = _rule(
    "defender-disabled",
    "Microsoft Defender disabled by policy",
    Severity.MEDIUM,
    "Remove the DisableAntiSpyware/DisableRealtimeMonitoring policies, or make sure another "
    "anti-malware product is installed and running.",
    rationale=(
        "With Defender disabled by policy and nothing else installed, malware runs undetected in "
        "every instance."
    ),
)
UPDATES_OFF = _rule(
    "updates-disabled",
    "Windows Update disabled by policy",
    Severity.MEDIUM,
    "Remove the NoAutoUpdate/DisableWindowsUpdateAccess policies; keep the image patched.",
    rationale=(
        "With Windows Update disabled, instances keep every vulnerability the image was built with."
    ),
)
AUTORUN = _rule(
    "autorun-enabled",
    "AutoRun allowed on removable drives",
    Severity.LOW,
    "Set Policies\\Explorer\\NoDriveTypeAutoRun=0xFF (AutoRun off for every drive type).",
    rationale=(
        "AutoRun starts programs from inserted media without asking, a long-used way for malware "
        "to spread."
    ),
)

Weakness = Callable[[int | str | bytes | None], bool]


def _equals(*weak: int) -> Weakness:
    return lambda value: isinstance(value, int) and value in weak


@dataclass(frozen=True, slots=True)
class Setting:
    """One registry value whose content makes a guest weak."""

    rule: Rule
    hive: str
    """``SYSTEM`` (keys below the current control set) or ``SOFTWARE``."""
    key: str
    value: str
    weak: Weakness


_FW = "Services\\SharedAccess\\Parameters\\FirewallPolicy"
_FW_POLICY = "Policies\\Microsoft\\WindowsFirewall"
_WINRM = "Policies\\Microsoft\\Windows\\WinRM"
SETTINGS: tuple[Setting, ...] = (
    *(
        Setting(FIREWALL_OFF, "SYSTEM", f"{_FW}\\{p}", "EnableFirewall", _equals(0))
        for p in ("DomainProfile", "StandardProfile", "PublicProfile")
    ),
    *(
        Setting(FIREWALL_OFF, "SOFTWARE", f"{_FW_POLICY}\\{p}", "EnableFirewall", _equals(0))
        for p in ("DomainProfile", "PrivateProfile", "PublicProfile", "StandardProfile")
    ),
    Setting(SMB1, "SYSTEM", "Services\\LanmanServer\\Parameters", "SMB1", _equals(1)),
    Setting(SMB1, "SYSTEM", "Services\\mrxsmb10", "Start", _equals(0, 1, 2, 3)),
    Setting(
        UAC_OFF,
        "SOFTWARE",
        "Microsoft\\Windows\\CurrentVersion\\Policies\\System",
        "EnableLUA",
        _equals(0),
    ),
    Setting(
        WDIGEST,
        "SYSTEM",
        "Control\\SecurityProviders\\WDigest",
        "UseLogonCredential",
        _equals(1),
    ),
    Setting(LM_HASH, "SYSTEM", "Control\\Lsa", "NoLMHash", _equals(0)),
    *(
        Setting(rule, "SOFTWARE", f"{_WINRM}\\{side}", value, _equals(1))
        for side in ("Service", "Client")
        for rule, value in (
            (WINRM_BASIC, "AllowBasic"),
            (WINRM_UNENCRYPTED, "AllowUnencryptedTraffic"),
        )
    ),
    Setting(
        DEFENDER_OFF,
        "SOFTWARE",
        "Policies\\Microsoft\\Windows Defender",
        "DisableAntiSpyware",
        _equals(1),
    ),
    Setting(
        DEFENDER_OFF,
        "SOFTWARE",
        "Policies\\Microsoft\\Windows Defender\\Real-Time Protection",
        "DisableRealtimeMonitoring",
        _equals(1),
    ),
    Setting(
        UPDATES_OFF,
        "SOFTWARE",
        "Policies\\Microsoft\\Windows\\WindowsUpdate\\AU",
        "NoAutoUpdate",
        _equals(1),
    ),
    Setting(
        UPDATES_OFF,
        "SOFTWARE",
        "Policies\\Microsoft\\Windows\\WindowsUpdate",
        "DisableWindowsUpdateAccess",
        _equals(1),
    ),
    Setting(
        AUTORUN,
        "SOFTWARE",
        "Microsoft\\Windows\\CurrentVersion\\Policies\\Explorer",
        "NoDriveTypeAutoRun",
        lambda v: isinstance(v, int) and not v & 0x04,
    ),
)


def registry_path(hive: str, key: str, value: str | None = None) -> str:
    """``HKLM\\SYSTEM\\ControlSet001\\Control\\Lsa\\NoLMHash``: where a finding points."""
    return f"HKLM\\{hive}\\{key}" + (f"\\{value}" if value is not None else "")


def _shown(value: int | str | bytes | None) -> str:
    return f"0x{value:x}" if isinstance(value, int) and value > 9 else str(value)


class WindowsSettings:
    """The weak-setting checks of a Windows guest (``GuestCheck``)."""

    rules: tuple[Rule, ...] = (
        RDP_WITHOUT_NLA,
        FIREWALL_OFF,
        SMB1,
        UAC_OFF,
        WDIGEST,
        LM_HASH,
        WINRM_BASIC,
        WINRM_UNENCRYPTED,
        DEFENDER_OFF,
        UPDATES_OFF,
        AUTORUN,
    )

    def check(self, view: GuestView, facts: GuestFacts) -> Iterable[Finding]:
        """Findings for every weak setting of SETTINGS, and RDP without NLA."""
        if facts.os.family != "windows":
            return
        hives = {name: open_system_hive(view, name) for name in ("SYSTEM", "SOFTWARE")}
        system = hives["SYSTEM"]
        control_set = system.current_control_set() if system is not None else ""
        for setting in SETTINGS:
            hive = hives[setting.hive]
            if hive is None:
                continue
            key = f"{control_set}\\{setting.key}" if setting.hive == "SYSTEM" else setting.key
            found = hive.key(key)
            value = found.value(setting.value) if found is not None else None
            if value is not None and setting.weak(value):
                yield setting.rule.finding(
                    registry_path(setting.hive, key, setting.value),
                    f"{setting.value} = {_shown(value)}",
                    area=Area.CONFIG,
                )
        if system is not None:
            yield from _rdp(system, control_set, hives["SOFTWARE"])


_TS_POLICY = "Policies\\Microsoft\\Windows NT\\Terminal Services"


def _rdp(system: Hive, control_set: str, software: Hive | None) -> Iterable[Finding]:
    """RDP on and NLA off, the Terminal Services policy (SOFTWARE) taking precedence over
    the local setting (SYSTEM), as Windows applies them."""
    server = f"{control_set}\\Control\\Terminal Server"
    tcp_path = f"{server}\\WinStations\\RDP-Tcp"
    policy = software.key(_TS_POLICY) if software is not None else None
    local = system.key(server)
    tcp = system.key(tcp_path)
    deny = policy.number("fDenyTSConnections") if policy is not None else None
    if deny is None:
        deny = local.number("fDenyTSConnections") if local is not None else None
    nla = policy.number("UserAuthentication") if policy is not None else None
    where = registry_path("SOFTWARE", _TS_POLICY, "UserAuthentication")
    if nla is None:
        nla = tcp.number("UserAuthentication") if tcp is not None else None
        where = registry_path("SYSTEM", tcp_path, "UserAuthentication")
    if deny == 0 and nla == 0:
        yield RDP_WITHOUT_NLA.finding(
            where,
            "fDenyTSConnections = 0 (RDP on), UserAuthentication = 0 (no NLA)",
            area=Area.CONFIG,
        )
