"""Seeds of the application-package, Windows and secret harnesses.

Application files are real tools' output found on this machine or made here: pip's
dist-info METADATA and Debian's egg-info PKG-INFO, npm's package.json and package-lock.json
files, RubyGems' gemspecs, jars and a war from the JDK's ``jar`` (tests/guest/apps's
builder), a Go binary from ``go build`` and a cargo-auditable section added with
``objcopy``, each ELF cut by ``objcopy --only-section`` to the section the analyzer reads.
Composer's installed.json and .NET's deps.json come from the same builder (in those tools'
documented formats; neither tool is installable here). Windows hives come from
``hivexregedit`` (tests/windowshives.py, tests/guest/test_windows.py); Windows credential
files and secret samples from the formats the tests already use.
"""

from __future__ import annotations

import shutil
import subprocess
import zlib
from pathlib import Path

MAX_SEED = 64 * 1024


def _copy_small(paths: list[Path], work: Path, prefix: str, limit: int = 12) -> None:
    kept = [p for p in paths if p.is_file() and p.stat().st_size <= MAX_SEED][:limit]
    for n, path in enumerate(kept):
        shutil.copy(path, work / f"{prefix}{n}-{path.name}")


def app_python(work: Path) -> None:
    site = Path(__file__).resolve().parents[2] / ".venv/lib"
    _copy_small(sorted(site.glob("python3*/site-packages/*.dist-info/METADATA"))[::9], work, "m")
    debian = Path("/usr/lib/python3/dist-packages")
    _copy_small(sorted(debian.glob("*.egg-info/PKG-INFO")), work, "p", 4)


def app_node(work: Path) -> None:
    modules = Path("/usr/lib/node_modules")
    _copy_small(sorted(modules.glob("*/package.json")), work, "top")
    _copy_small(sorted(modules.glob("npm/node_modules/*/package.json"))[::25], work, "dep")
    locks = [Path("/usr/lib/ruby/gems/3.1.0/gems/typeprof-0.21.2/vscode/package-lock.json")]
    locks += sorted(Path("/usr/share").glob("go-*/src/cmd/vendor/**/package-lock.json"))
    _copy_small(locks, work, "lock", 3)
    (work / "yarn-classic.lock").write_bytes(
        b'# yarn lockfile v1\n\n"@babel/core@^7.0.0", "@babel/core@^7.1.0":\n  version "7.1.2"\n'
        b'  resolved "https://registry.yarnpkg.com/@babel/core/-/core-7.1.2.tgz#abc"\n'
    )
    (work / "yarn-berry.lock").write_bytes(
        b'__metadata:\n  version: 6\n\n"lodash@npm:^4.17.15":\n  version: 4.17.21\n'
        b'  resolution: "lodash@npm:4.17.21"\n'
    )


def _app_root(work: Path) -> Path:
    root = work.resolve() / "root"
    root.mkdir(exist_ok=True)
    return root


def app_java(work: Path) -> None:
    from guest.apps.appguest import _java

    _java(_app_root(work), work, [])
    shutil.copy(work / "root/opt/tomcat/webapps/shop.war", work / "shop.war")
    shutil.copy(work / "root/opt/tomcat/lib/spring-core-5.3.18.RELEASE.jar", work / "spring.jar")
    _copy_small(sorted(Path("/usr/share/java").glob("*-[0-9]*.jar")), work, "deb", 4)
    for leftover in ("root", "war", "jar-log4j", "jar-text", "jar-spring"):
        shutil.rmtree(work / leftover, ignore_errors=True)


def app_manifests(work: Path) -> None:
    from guest.apps.appguest import RUBY_SPECS, _composer, _dotnet

    root = _app_root(work)
    _composer(root, [])
    _dotnet(root, [])
    shutil.copy(root / "var/www/shop/vendor/composer/installed.json", work / "installed.json")
    shutil.copy(root / "opt/dotnetapp/ShopApi.deps.json", work / "ShopApi.deps.json")
    _copy_small(sorted(RUBY_SPECS.glob("*.gemspec"))[::8], work, "gem", 6)
    shutil.rmtree(root)


def _only_section(binary: Path, section: str, out: Path) -> None:
    subprocess.run(
        ["objcopy", f"--only-section={section}", binary, out], check=True, capture_output=True
    )


def app_binary(work: Path) -> None:
    from guest.apps.appguest import _go

    root = _app_root(work)
    try:
        _go(root, work, [])
        _only_section(root / "usr/local/bin/planted", ".go.buildinfo", work / "go.elf")
    finally:
        shutil.rmtree(root, ignore_errors=True)
        for leftover in ("gosrc", "gocache", "gopath"):
            shutil.rmtree(work / leftover, ignore_errors=True)
    deps = (
        b'{"packages":[{"name":"hello","version":"0.1.0","source":"local","root":true},'
        b'{"name":"smallvec","version":"1.6.0","source":"crates.io","dependencies":[0]},'
        b'{"name":"cc","version":"1.0.0","source":"crates.io","kind":"build"}]}'
    )
    section = work / "deps.zlib"
    section.write_bytes(zlib.compress(deps))
    audited = work / "audited"
    subprocess.run(["objcopy", "--add-section", f".dep-v0={section}", "/bin/true", audited],
                   check=True, capture_output=True)  # fmt: skip
    _only_section(audited, ".dep-v0", work / "rust.elf")
    section.unlink()
    audited.unlink()


def windows_registry(work: Path) -> None:
    from guest.test_sam import ACCOUNTS
    from guest.test_windows import SOFTWARE_SCRIPT, SYSTEM_SCRIPT, _hivexsh
    from windowshives import empty_hive, hive_from_reg, sam_reg

    hive_from_reg(work / "SAM", "HKEY_LOCAL_MACHINE\\SAM", sam_reg(ACCOUNTS))
    for name, script in (("SOFTWARE", SOFTWARE_SCRIPT), ("SYSTEM", SYSTEM_SCRIPT)):
        empty_hive(work / name)
        _hivexsh(work / name, script)
    software = "HKEY_LOCAL_MACHINE\\SOFTWARE"
    winlogon = f"[{software}\\Microsoft\\Windows NT\\CurrentVersion\\Winlogon]\n"
    version = f'[{software}\\Microsoft\\Windows NT\\CurrentVersion]\n"ProductName"="Windows"\n\n'
    hive_from_reg(work / "SOFTWARE-winlogon", software,
                  f'{version}{winlogon}"AutoAdminLogon"="1"\n"DefaultUserName"="admin"\n'
                  '"DefaultPassword"="Winl0gon!Pass"\n\n')  # fmt: skip
    system = "HKEY_LOCAL_MACHINE\\SYSTEM"  # weak settings in the control set Windows boots
    control = f"{system}\\ControlSet001\\Control"
    hive_from_reg(work / "SYSTEM-weak", system,
                  f'[{system}\\Select]\n"Current"=dword:00000001\n\n'
                  f'[{control}\\Terminal Server]\n"fDenyTSConnections"=dword:00000000\n\n'
                  f'[{control}\\Terminal Server\\WinStations\\RDP-Tcp]\n'
                  '"UserAuthentication"=dword:00000000\n\n'
                  f'[{control}\\Lsa]\n"NoLMHash"=dword:00000000\n\n')  # fmt: skip
    user = "HKEY_CURRENT_USER"
    putty = f"[{user}\\Software\\SimonTatham\\PuTTY\\Sessions\\db]\n"
    winscp = f"[{user}\\Software\\Martin Prikryl\\WinSCP 2\\Sessions\\web]\n"
    hive_from_reg(work / "NTUSER.DAT", user,
                  f'{putty}"HostName"="db.corp"\n"ProxyPassword"="Pr0xy!Pass"\n\n'
                  f'{winscp}"HostName"="web.corp"\n"Password"="A35C4E5B6C"\n\n')  # fmt: skip


WINDOWS_FILES = {
    "unattend.xml": (
        b'<?xml version="1.0" encoding="utf-8"?>\n<unattend xmlns="urn:schemas-microsoft-com:'
        b'unattend"><settings pass="oobeSystem"><component name="Microsoft-Windows-Shell-Setup">'
        b"<UserAccounts><AdministratorPassword><Value>UwAzAGMAcgBlAHQAIQBQAHcAQQBkAG0AaQBuAGkA"
        b"cwB0AHIAYQB0AG8AcgBQAGEAcwBzAHcAbwByAGQA</Value><PlainText>false</PlainText>"
        b"</AdministratorPassword></UserAccounts><AutoLogon><Password><Value>Plain!Logon1"
        b"</Value><PlainText>true</PlainText></Password></AutoLogon></component></settings>"
        b"</unattend>\n"
    ),
    "groups.xml": (
        b'<?xml version="1.0" encoding="utf-8"?>\n<Groups clsid="{3125E937}">'
        b'<User clsid="{DF5F1855}" name="LocalAdmin"><Properties action="U" '
        b'userName="LocalAdmin" cpassword="j1Uyj3Vx8TY9LtLZil2uAuZkFQA/4latT76ZwgdHdhw" '
        b'changeLogon="0"/></User></Groups>\n'
    ),
    "web.config": (
        b'<configuration><appSettings><add key="ApiPassword" value="K3y!Value99"/></appSettings>'
        b'<connectionStrings><add name="db" connectionString="Server=db;User Id=sa;'
        b'Password=Db!Passw0rd;"/></connectionStrings></configuration>\n'
    ),
    "sitemanager.xml": (
        b'<?xml version="1.0"?><FileZilla3><Servers><Server><Host>ftp.corp</Host><User>u</User>'
        b'<Pass encoding="base64">UGxhaW4hWmlsbGE=</Pass></Server></Servers></FileZilla3>\n'
    ),
    "server.rdp": "\ufefffull address:s:srv\r\nusername:s:corp\\admin\r\n"
    "password 51:b:01000000D08C9DDF0115D1118C7A00C04FC297EB\r\n".encode("utf-16-le"),
    "winscp.ini": b"[Sessions\\admin@web]\r\nHostName=web.corp\r\nUserName=admin\r\n"
    b"Password=A35C4E5B6C6D\r\n",
    "winnt.sif": b'[GuiUnattended]\r\nAdminPassword="Old!Admin1"\r\n[Identification]\r\n'
    b"DomainAdminPassword=*\r\n",
}


def windows_files(work: Path) -> None:
    for name, data in WINDOWS_FILES.items():
        (work / name).write_bytes(data)


def secrets(work: Path) -> None:
    from checks.secrets.corpus import samples

    for n, sample in enumerate(samples()[::6]):
        (work / f"{n:03d}-{sample.rule_id}").write_text(sample.text)
