"""A Windows guest tree with every leak and weak setting vmguard looks for (or, with
``clean=True``, the same guest hardened, with decoys only), made of real hives
(``windowshives``) and files; ``windowsimage`` puts it on an NTFS disk.

``PLANTED`` lists what a scan must find: (rule id, path or registry path).
"""

from __future__ import annotations

import base64
import struct
from pathlib import Path

from windowshives import SamAccount, hive_from_reg, sam_reg

GPP_SAMPLE = "j1Uyj3Vx8TY9LtLZil2uAuZkFQA/4latT76ZwgdHdhw"
"""The cpassword of Microsoft's published example; it decrypts to ``Local*P4ssword!``."""
SECRETS = {
    "autologon": "AutoL0gon!Secret",
    "unattend_admin": "Unatt3nd!Admin",
    "unattend_autologon": "Unatt3nd!Logon",
    "autounattend_local": "AutoUn4tt!Local",
    "sysprep_inf": "InfAdm1n!Pass",
    "gpp": "Local*P4ssword!",
    "psreadline": "Winter2024!Pw",
    "net_user": "Backup#2023x",
    "web_config": "Db!Passw0rd77",
    "apphost": "VDirP4ss!word",
    "filezilla": "FileZ1lla!Pw",
    "putty": "PuttyPr0xy!Pw",
    "aws": "q8Xv3+Lm2Zp9Rt6Wy1Bn4Hj7Kd0Fs5Gc8Va2Ne3T",
    "gcloud": "1//0gQv7Rk2Zp9Lm3Xw8Tn5Bc4Hj6Kd1Fs0GyA-L9IrNw2xVb8mYc4PzTq",
}
CS = "HKLM\\SYSTEM\\ControlSet002"
PLANTED = {
    ("windows.guest-enabled", "HKLM\\SAM\\SAM\\Domains\\Account\\Users\\000001F5"),
    ("windows.admin-blank-password", "HKLM\\SAM\\SAM\\Domains\\Account\\Users\\000001F4"),
    ("windows.blank-password", "HKLM\\SAM\\SAM\\Domains\\Account\\Users\\000003EC"),
    (
        "secret.windows-autologon",
        "HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Winlogon\\DefaultPassword",
    ),
    (
        "windows.rdp-without-nla",
        f"{CS}\\Control\\Terminal Server\\WinStations\\RDP-Tcp\\UserAuthentication",
    ),
    (
        "windows.firewall-off",
        f"{CS}\\Services\\SharedAccess\\Parameters\\FirewallPolicy\\PublicProfile\\EnableFirewall",
    ),
    ("windows.smb1-enabled", f"{CS}\\Services\\LanmanServer\\Parameters\\SMB1"),
    (
        "windows.uac-disabled",
        "HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Policies\\System\\EnableLUA",
    ),
    (
        "windows.wdigest-cleartext",
        f"{CS}\\Control\\SecurityProviders\\WDigest\\UseLogonCredential",
    ),
    ("windows.lm-hash-stored", f"{CS}\\Control\\Lsa\\NoLMHash"),
    (
        "windows.winrm-basic-auth",
        "HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows\\WinRM\\Service\\AllowBasic",
    ),
    (
        "windows.winrm-unencrypted",
        "HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows\\WinRM\\Service\\AllowUnencryptedTraffic",
    ),
    (
        "windows.defender-disabled",
        "HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows Defender\\DisableAntiSpyware",
    ),
    (
        "windows.updates-disabled",
        "HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows\\WindowsUpdate\\AU\\NoAutoUpdate",
    ),
    (
        "windows.autorun-enabled",
        "HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Policies\\Explorer\\NoDriveTypeAutoRun",
    ),
    ("secret.unattend-password", "/Windows/Panther/Unattend.xml"),
    ("secret.unattend-password", "/autounattend.xml"),
    ("secret.unattend-password", "/Windows/System32/Sysprep/sysprep.inf"),
    (
        "secret.gpp-cpassword",
        "/ProgramData/Microsoft/Group Policy/History/{31B2F340-016D-11D2-945F-00C04FB984F9}"
        "/Machine/Preferences/Groups/Groups.xml",
    ),
    (
        "secret.history",
        "/Users/alice/AppData/Roaming/Microsoft/Windows/PowerShell/PSReadLine"
        "/ConsoleHost_history.txt",
    ),
    ("secret.web-config", "/inetpub/wwwroot/web.config"),
    ("secret.web-config", "/Windows/System32/inetsrv/config/applicationHost.config"),
    ("secret.saved-session-password", "/Users/alice/AppData/Roaming/FileZilla/sitemanager.xml"),
    ("secret.saved-session-password", "/Users/alice/Documents/prod-db.rdp"),
    (
        "secret.saved-session-password",
        "/Users/alice/NTUSER.DAT:HKU\\alice\\Software\\SimonTatham\\PuTTY\\Sessions\\prod"
        "\\ProxyPassword",
    ),
    (
        "secret.saved-session-password",
        "/Users/alice/NTUSER.DAT:HKU\\alice\\Software\\Martin Prikryl\\WinSCP 2\\Sessions"
        "\\ftp@files\\Password",
    ),
    ("secret.aws-access-key", "/Users/alice/.aws/credentials"),
    # The refresh token is a Google OAuth token: the table's own rule names it (one finding
    # per secret per file, the most specific rule wins over the credential-file parser).
    (
        "secret.gcp-oauth-refresh-token",
        "/Users/alice/AppData/Roaming/gcloud/application_default_credentials.json",
    ),
    ("secret.memory-artefact", "/pagefile.sys"),
    ("secret.memory-artefact", "/hiberfil.sys"),
    ("secret.memory-artefact", "/Windows/MEMORY.DMP"),
    ("secret.memory-artefact", "/Windows/Minidump/120325-01.dmp"),
}

ACCOUNTS = [
    SamAccount("Administrator", 500, blank=True, aes=False, admin=True),
    SamAccount("Guest", 501, blank=True),
    SamAccount("alice", 1001, admin=True),
    SamAccount("bob", 1002, aes=False),
    SamAccount("carol", 1003, disabled=True, blank=True),
    SamAccount("dave", 1004, blank=True, password_not_required=True),
]
CLEAN_ACCOUNTS = [
    SamAccount("Administrator", 500, disabled=True, blank=True, aes=False, admin=True),
    SamAccount("Guest", 501, disabled=True, blank=True),
    SamAccount("alice", 1001, admin=True),
]


def _dword(value: int) -> str:
    return f"dword:{value:08x}"


def _system_reg(clean: bool) -> str:
    weak = not clean
    root = "HKEY_LOCAL_MACHINE\\SYSTEM"
    lines = [f"[{root}\\Select]", f'"Current"={_dword(2)}', f'"Default"={_dword(2)}', ""]

    def control_set(number: int, weak: bool) -> None:
        cs = f"{root}\\ControlSet{number:03d}"
        fw = f"{cs}\\Services\\SharedAccess\\Parameters\\FirewallPolicy"
        lines.extend(
            [
                f"[{cs}\\Control\\ComputerName\\ComputerName]",
                '"ComputerName"="WIN-PLANTED01"',
                "",
                f"[{cs}\\Services\\Tcpip\\Parameters]",
                '"Hostname"="WIN-PLANTED01"',
                "",
                f"[{cs}\\Control\\Session Manager\\Environment]",
                '"PROCESSOR_ARCHITECTURE"="AMD64"',
                "",
                f"[{cs}\\Control\\Terminal Server]",
                f'"fDenyTSConnections"={_dword(0 if weak else 1)}',
                "",
                f"[{cs}\\Control\\Terminal Server\\WinStations\\RDP-Tcp]",
                f'"UserAuthentication"={_dword(0 if weak else 1)}',
                "",
                f"[{fw}\\DomainProfile]",
                f'"EnableFirewall"={_dword(1)}',
                "",
                f"[{fw}\\StandardProfile]",
                f'"EnableFirewall"={_dword(1)}',
                "",
                f"[{fw}\\PublicProfile]",
                f'"EnableFirewall"={_dword(0 if weak else 1)}',
                "",
                f"[{cs}\\Services\\LanmanServer\\Parameters]",
                f'"SMB1"={_dword(1 if weak else 0)}',
                "",
                f"[{cs}\\Control\\SecurityProviders\\WDigest]",
                f'"UseLogonCredential"={_dword(1 if weak else 0)}',
                "",
                f"[{cs}\\Control\\Lsa]",
                f'"NoLMHash"={_dword(0 if weak else 1)}',
                "",
                f"[{cs}\\Services\\Spooler]",
                '"DisplayName"="Print Spooler"',
                f'"Type"={_dword(0x110)}',
                f'"Start"={_dword(2)}',
                '"ImagePath"="%SystemRoot%\\\\System32\\\\spoolsv.exe"',
                '"ObjectName"="LocalSystem"',
                "",
                f"[{cs}\\Services\\TermService]",
                '"DisplayName"="Remote Desktop Services"',
                f'"Type"={_dword(0x20)}',
                f'"Start"={_dword(3)}',
                '"ObjectName"="NT Authority\\\\NetworkService"',
                "",
                f"[{cs}\\Services\\disk]",
                f'"Type"={_dword(1)}',
                f'"Start"={_dword(0)}',
                "",
            ]
        )

    control_set(1, True)  # not the current set: a decoy, every setting weak
    control_set(2, weak)
    return "\n".join(lines) + "\n"


def _utf16_hex(text: str) -> str:
    return ",".join(f"{b:02x}" for b in (text + "\0").encode("utf-16-le"))


def _software_reg(clean: bool) -> str:
    root = "HKEY_LOCAL_MACHINE\\SOFTWARE"
    nt = f"{root}\\Microsoft\\Windows NT\\CurrentVersion"
    uninstall = "Microsoft\\Windows\\CurrentVersion\\Uninstall"
    lines = [
        f"[{nt}]",
        '"ProductName"="Windows Server 2022 Datacenter"',
        '"CurrentBuildNumber"="20348"',
        f'"CurrentMajorVersionNumber"={_dword(10)}',
        f'"CurrentMinorVersionNumber"={_dword(0)}',
        '"EditionID"="ServerDatacenter"',
        "",
        f"[{root}\\{uninstall}\\7-Zip]",
        '"DisplayName"="7-Zip 23.01 (x64)"',
        '"DisplayVersion"="23.01"',
        '"Publisher"="Igor Pavlov"',
        "",
        f"[{root}\\{uninstall}\\KB5005039]",
        '"ParentKeyName"="OperatingSystem"',
        "",
        f"[{root}\\WOW6432Node\\{uninstall}\\Notepad++]",
        '"DisplayName"="Notepad++ (32-bit x86)"',
        '"DisplayVersion"="8.5.8"',
        '"Publisher"="Notepad++ Team"',
        "",
        f"[{nt}\\ProfileList\\S-1-5-21-1111111111-2222222222-3333333333-1001]",
        '"ProfileImagePath"=hex(2):' + _utf16_hex("C:\\Users\\alice"),
        "",
        f"[{nt}\\ProfileList\\S-1-5-18]",
        '"ProfileImagePath"="%systemroot%\\\\system32\\\\config\\\\systemprofile"',
        "",
        f"[{nt}\\Winlogon]",
        '"Shell"="explorer.exe"',
    ]
    if not clean:
        lines += [
            '"AutoAdminLogon"="1"',
            '"DefaultUserName"="Administrator"',
            f'"DefaultPassword"="{SECRETS["autologon"]}"',
        ]
    lines.append("")
    policies = {
        "Microsoft\\Windows\\CurrentVersion\\Policies\\System": ("EnableLUA", 0, 1),
        "Policies\\Microsoft\\Windows\\WinRM\\Service": ("AllowBasic", 1, 0),
        "Policies\\Microsoft\\Windows\\WinRM\\Client": ("AllowUnencryptedTraffic", 0, 0),
        "Policies\\Microsoft\\Windows Defender": ("DisableAntiSpyware", 1, 0),
        "Policies\\Microsoft\\Windows\\WindowsUpdate\\AU": ("NoAutoUpdate", 1, 0),
        "Microsoft\\Windows\\CurrentVersion\\Policies\\Explorer": ("NoDriveTypeAutoRun", 0, 0xFF),
    }
    for key, (name, weak, safe) in policies.items():
        lines += [f"[{root}\\{key}]", f'"{name}"={_dword(safe if clean else weak)}']
        if key.endswith("WinRM\\Service"):
            lines.append(f'"AllowUnencryptedTraffic"={_dword(0 if clean else 1)}')
        lines.append("")
    return "\n".join(lines) + "\n"


def _ntuser_reg(clean: bool) -> str:
    root = "HKEY_CURRENT_USER"
    lines = [f"[{root}\\Software\\SimonTatham\\PuTTY\\Sessions\\prod]", '"HostName"="10.0.0.5"']
    if not clean:
        lines.append(f'"ProxyPassword"="{SECRETS["putty"]}"')
    lines += ["", f"[{root}\\Software\\Martin Prikryl\\WinSCP 2\\Sessions\\ftp@files]"]
    lines.append('"HostName"="files.example.org"')
    if not clean:
        lines.append('"Password"="A35C4E5B5E7D6F6F6E3A2C3D6C6D686F6D6C6F6C"')
    return "\n".join(lines) + "\n\n"


def _b64_password(password: str, element: str) -> str:
    return base64.b64encode((password + element).encode("utf-16-le")).decode()


def _unattend(clean: bool) -> str:
    if clean:
        admin = "<Value>*SENSITIVE*DATA*DELETED*</Value><PlainText>true</PlainText>"
        logon = admin
    else:
        encoded = _b64_password(SECRETS["unattend_admin"], "AdministratorPassword")
        admin = f"<Value>{encoded}</Value><PlainText>false</PlainText>"
        logon = f"<Value>{SECRETS['unattend_autologon']}</Value><PlainText>true</PlainText>"
    return f"""<?xml version="1.0" encoding="utf-8"?>
<unattend xmlns="urn:schemas-microsoft-com:unattend">
  <settings pass="oobeSystem">
    <component name="Microsoft-Windows-Shell-Setup" processorArchitecture="amd64">
      <UserAccounts>
        <AdministratorPassword>{admin}</AdministratorPassword>
      </UserAccounts>
      <AutoLogon>
        <Password>{logon}</Password>
        <Enabled>true</Enabled>
        <Username>Administrator</Username>
      </AutoLogon>
    </component>
  </settings>
</unattend>
"""


def _pe_header() -> bytes:
    """The headers of an x86-64 console program (what libmagic reads an architecture from)."""
    pe = bytearray(1024)
    pe[0:2] = b"MZ"
    struct.pack_into("<I", pe, 0x3C, 0x80)  # e_lfanew
    pe[0x80:0x84] = b"PE\0\0"
    struct.pack_into("<HHIIIHH", pe, 0x84, 0x8664, 1, 0, 0, 0, 0xF0, 0x22)  # AMD64 COFF
    struct.pack_into("<H", pe, 0x98, 0x20B)  # PE32+ optional header
    struct.pack_into("<H", pe, 0x98 + 68, 3)  # console subsystem
    return bytes(pe)


def _write(root: Path, relative: str, data: str | bytes) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)


def build_tree(root: Path, *, clean: bool = False) -> Path:
    """The guest's files under ``root`` (hives included); returns ``root``."""
    config = root / "Windows/System32/config"
    config.mkdir(parents=True)
    for program in ("cmd.exe", "ntoskrnl.exe"):  # what inspectors look for besides hives
        (root / "Windows/System32" / program).write_bytes(_pe_header())
    hive_from_reg(config / "SYSTEM", "HKEY_LOCAL_MACHINE\\SYSTEM", _system_reg(clean))
    hive_from_reg(config / "SOFTWARE", "HKEY_LOCAL_MACHINE\\SOFTWARE", _software_reg(clean))
    accounts = CLEAN_ACCOUNTS if clean else ACCOUNTS
    hive_from_reg(config / "SAM", "HKEY_LOCAL_MACHINE\\SAM", sam_reg(accounts))
    (root / "Users/alice").mkdir(parents=True)
    hive_from_reg(root / "Users/alice/NTUSER.DAT", "HKEY_CURRENT_USER", _ntuser_reg(clean))

    _write(root, "Windows/Panther/Unattend.xml", _unattend(clean))
    _write(root, "Windows/System32/Sysprep/unattend.xml", _unattend(True))  # scrubbed: decoy
    gpp = "ProgramData/Microsoft/Group Policy/History/{31B2F340-016D-11D2-945F-00C04FB984F9}"
    cpassword = "" if clean else GPP_SAMPLE
    _write(
        root,
        f"{gpp}/Machine/Preferences/Groups/Groups.xml",
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<Groups clsid="{3125E937-EB16-4b4c-9934-544FC6D24D26}">'
        '<User clsid="{DF5F1855-51E5-4d24-8B1A-D9BDE98BA1D1}" name="svc_local">'
        f'<Properties action="U" newName="" userName="svc_local" cpassword="{cpassword}"/>'
        "</User>"
        '<User clsid="{DF5F1855-51E5-4d24-8B1A-D9BDE98BA1D1}" name="decoy">'
        '<Properties action="U" userName="decoy" cpassword=""/></User></Groups>\n',
    )
    _write(
        root,
        "inetpub/wwwroot/web.config",
        '<configuration><connectionStrings><add name="db" connectionString="Server=sql01;'
        + ("Integrated Security=SSPI" if clean else f"User ID=app;Password={SECRETS['web_config']}")
        + ';"/></connectionStrings></configuration>\n',
    )
    apphost = "[enc:IISWASOnlyCngProvider:c2VjcmV0:enc]" if clean else SECRETS["apphost"]
    _write(
        root,
        "Windows/System32/inetsrv/config/applicationHost.config",
        '<configuration><system.applicationHost><sites><site name="s"><application path="/">'
        '<virtualDirectory path="/" physicalPath="\\\\fs\\web" userName="web" '
        f'password="{apphost}"/>'
        "</application></site></sites></system.applicationHost></configuration>\n",
    )
    if clean:
        return root
    _write(
        root,
        "autounattend.xml",
        _unattend(True).replace(
            "<AutoLogon>",
            "<LocalAccounts><LocalAccount><Password><Value>"
            f"{SECRETS['autounattend_local']}</Value><PlainText>true</PlainText></Password>"
            "<Name>deploy</Name></LocalAccount></LocalAccounts><AutoLogon>",
        ),
    )
    _write(
        root,
        "Windows/System32/Sysprep/sysprep.inf",
        f'[GuiUnattended]\r\nAdminPassword="{SECRETS["sysprep_inf"]}"\r\nOEMSkipRegional=1\r\n',
    )
    _write(
        root,
        "Users/alice/AppData/Roaming/Microsoft/Windows/PowerShell/PSReadLine/ConsoleHost_history.txt",
        "Get-Service\n"
        f'$pw = ConvertTo-SecureString "{SECRETS["psreadline"]}" -AsPlainText -Force\n'
        f"net user svc_backup {SECRETS['net_user']} /add\n",
    )
    encoded = base64.b64encode(SECRETS["filezilla"].encode()).decode()
    _write(
        root,
        "Users/alice/AppData/Roaming/FileZilla/sitemanager.xml",
        "<FileZilla3><Servers><Server><Host>ftp.example.org</Host><User>deploy</User>"
        f'<Pass encoding="base64">{encoded}</Pass></Server></Servers></FileZilla3>\n',
    )
    _write(
        root,
        "Users/alice/Documents/prod-db.rdp",
        "full address:s:db01.example.org\r\nusername:s:CORP\\alice\r\n"
        "password 51:b:01000000D08C9DDF0115D1118C7A00C04FC297EB0100000052A9E191EA75A948B359790\r\n",
    )
    _write(
        root,
        "Users/alice/.aws/credentials",
        "[default]\naws_access_key_id = AKIAZ7QW3ERT5YUI2OPA\n"
        f"aws_secret_access_key = {SECRETS['aws']}\n",
    )
    _write(
        root,
        "Users/alice/AppData/Roaming/gcloud/application_default_credentials.json",
        '{"client_id": "764086051850-6qr4p6gpi6hn506pt8ejuq83di341hur.apps.googleusercontent.com",'
        f' "refresh_token": "{SECRETS["gcloud"]}", "type": "authorized_user"}}\n',
    )
    for name, size in (
        ("pagefile.sys", 3 << 20),
        ("hiberfil.sys", 2 << 20),
        ("Windows/MEMORY.DMP", 1 << 20),
        ("Windows/Minidump/120325-01.dmp", 256 << 10),
    ):
        _write(root, name, b"PAGEDU64" + bytes(size - 8))
    return root
