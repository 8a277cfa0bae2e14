"""Credential files Windows images are known to leak, found by path (``PathCheck``).

Unattended-setup answer files (plaintext or base64 passwords, decoded to prove them),
Group Policy Preferences ``cpassword`` values (decrypted with the AES key Microsoft
published in MS-GPPREF, to prove them), IIS ``web.config``/``applicationHost.config``
connection strings and passwords, and saved sessions of FileZilla, WinSCP (ini) and
Remote Desktop (.rdp). Every value is reported redacted; an encoded or encrypted form is
never printed either (it is as good as the password). Answer files scrubbed by sysprep
(``*SENSITIVE*DATA*DELETED*``) and empty ``cpassword`` attributes are left alone.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Iterable, Iterator

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from vmguard.checks.interface import FileContent, line_of
from vmguard.checks.redact import redact
from vmguard.checks.secrets.validators import is_placeholder
from vmguard.findings import Finding, Rule, SecretKind, Severity, Threat
from vmguard.text import printable

_EXPOSED = Threat.IMAGE_EXPOSURE
UNATTEND = Rule(
    "secret.unattend-password",
    "Password in an unattended-setup answer file",
    Severity.HIGH,
    _EXPOSED,
    "Delete the answer file (Panther, Sysprep, the volume root) after setup, or let sysprep "
    "scrub it; change the passwords it held. Base64 in an answer file is not encryption.",
    ("https://learn.microsoft.com/en-us/windows-hardware/customize/desktop/unattend/",),
    rationale=(
        "Answer files keep the setup passwords, at best base64-encoded, in files that survive "
        "setup and ship with the image."
    ),
    shares=SecretKind.CREDENTIAL,
)
GPP_CPASSWORD = Rule(
    "secret.gpp-cpassword",
    "Group Policy Preferences password (cpassword, key published by Microsoft)",
    Severity.HIGH,
    _EXPOSED,
    "Remove the preference item and change the password (MS14-025): anyone can decrypt a "
    "cpassword with the AES key Microsoft published.",
    (
        "https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-gppref/2c15cbf0-f086-4c74-8b70-1f2fa45dd4be",
        "https://support.microsoft.com/kb/2962486",
    ),
    rationale=(
        "Group Policy Preferences passwords are encrypted with a key Microsoft published, so "
        "anyone can decrypt them."
    ),
    shares=SecretKind.CREDENTIAL,
)
WEB_CONFIG = Rule(
    "secret.web-config",
    "Password in an IIS/.NET configuration file",
    Severity.HIGH,
    _EXPOSED,
    "Move the credential out of the config file (integrated security, a managed identity, "
    "or aspnet_regiis -pe to encrypt the section) and rotate it.",
    rationale=(
        "Connection strings and passwords in configuration files are readable by anyone who reads "
        "the image, and usually open the application's database."
    ),
    shares=SecretKind.CREDENTIAL,
)
SAVED_SESSION = Rule(
    "secret.saved-session-password",
    "Saved password of a remote-access tool (PuTTY, WinSCP, FileZilla, RDP)",
    Severity.HIGH,
    _EXPOSED,
    "Delete the saved session password (or the tool's profile) from the image and change it; "
    "these tools store passwords in reversible or machine-bound forms.",
    rationale=(
        "Remote-access tools store saved passwords in reversible forms: whoever reads the image "
        "can recover them and log into the servers they name."
    ),
    shares=SecretKind.CREDENTIAL,
)

GPP_KEY = bytes.fromhex("4e9906e8fcb66cc9faf49310620ffee8f496e806cc057990209b09a433b66c1b")
"""The AES-256 key of GPP cpassword values, published in MS-GPPREF 2.2.1.1.4."""
SCRUBBED = b"*SENSITIVE*DATA*DELETED*"
_MAX_FINDINGS = 50

Found = Iterator[tuple[int, str, bytes]]
"""(offset, redacted evidence, secret) per credential."""


def _b64(text: bytes) -> bytes | None:
    try:
        return base64.b64decode(text + b"=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None


def _utf16(raw: bytes) -> str | None:
    try:
        return raw.decode("utf-16-le")
    except UnicodeDecodeError:
        return None


_UNATTEND_ELEMENT = re.compile(
    rb"<(?P<tag>(?:\w+:)?(?:\w*Password))\b[^>]{0,200}>(?P<body>.{0,4096}?)</(?P=tag)\s*>",
    re.DOTALL | re.IGNORECASE,
)
_VALUE = re.compile(rb"<(?:\w+:)?Value\s*>(?P<v>[^<]{0,2048})</", re.IGNORECASE)
_PLAINTEXT = re.compile(rb"<(?:\w+:)?PlainText\s*>\s*(?P<p>\w+)\s*<", re.IGNORECASE)


def _unattend_xml(data: bytes) -> Found:
    for m in _UNATTEND_ELEMENT.finditer(data):
        tag = m.group("tag").split(b":")[-1].decode()
        body = m.group("body")
        value_match = _VALUE.search(body)
        if value_match is not None:
            value = value_match.group("v").strip()
            start = m.start("body") + value_match.start("v")
        elif b"<" not in body:
            value, start = body.strip(), m.start("body")
        else:
            continue  # a container (<AutoLogon>...), its own <Password> is matched inside
        if not value or SCRUBBED in value or is_placeholder(value):
            continue
        plain = _PLAINTEXT.search(body)
        if plain is not None and plain.group("p").lower() == b"false":
            decoded = _utf16(_b64(value) or b"")
            # Windows encodes the password followed by the element's name (MS unattend docs).
            if decoded is None or not decoded.endswith(tag):
                continue
            secret = decoded[: -len(tag)]
            if not secret:
                continue
            yield start, f"<{tag}> (base64, decoded): {redact(secret)}", secret.encode()
        else:
            yield start, f"<{tag}> (plaintext): {redact(value)}", value


_INF_PASSWORD = re.compile(
    rb"^\s*(?P<key>AdminPassword|DomainAdminPassword|Password)\s*=\s*(?P<v>[^\r\n;]*)",
    re.MULTILINE | re.IGNORECASE,
)


def _sysprep_inf(data: bytes) -> Found:
    for m in _INF_PASSWORD.finditer(data):
        value = m.group("v").strip().strip(b'"')
        if value and value != b"*" and SCRUBBED not in value and not is_placeholder(value):
            key = m.group("key").decode()
            yield m.start("v"), f"{key}: {redact(value)}", value


_CPASSWORD = re.compile(rb'\bcpassword\s*=\s*"(?P<v>[^"]{0,4096})"', re.IGNORECASE)
_GPP_USER = re.compile(rb'\b(?:userName|runAs|accountName|newName)\s*=\s*"(?P<u>[^"]{1,128})"')


def gpp_decrypt(cpassword: bytes) -> str | None:
    """The password behind a GPP cpassword (AES-256-CBC, zero IV, UTF-16LE), or None."""
    raw = _b64(cpassword)
    if raw is None or not raw or len(raw) % 16:
        return None
    decryptor = Cipher(algorithms.AES(GPP_KEY), modes.CBC(bytes(16))).decryptor()
    plain = decryptor.update(raw) + decryptor.finalize()
    pad = plain[-1]
    if not 1 <= pad <= 16 or plain[-pad:] != bytes([pad]) * pad:
        return None
    return _utf16(plain[:-pad])


def _gpp(data: bytes) -> Found:
    for m in _CPASSWORD.finditer(data):
        value = m.group("v").strip()
        if not value:
            continue  # the empty attribute every GPP item carries: a decoy, not a secret
        password = gpp_decrypt(value)
        if password is None:
            continue
        element = data[data.rfind(b"<", 0, m.start()) : m.end() + 512]
        user = _GPP_USER.search(element)
        who = f" user {printable(user.group('u'), 64)}" if user else ""
        yield m.start("v"), f"cpassword{who} (decrypted): {redact(password)}", password.encode()


_CONNECTION = re.compile(
    rb"(?<![\w])(?P<key>password|pwd)\s*=\s*(?P<v>'[^']{1,256}'|\"[^\"]{1,256}\"|[^;\"'<>\s]{1,256})",
    re.IGNORECASE,
)
_SETTING = re.compile(
    rb'<add\s+key\s*=\s*"(?P<key>[^"]{0,128}(?:password|secret|pwd|apikey)[^"]{0,64})"\s+'
    rb'value\s*=\s*"(?P<v>[^"]{1,512})"',
    re.IGNORECASE,
)


def _web_config(data: bytes) -> Found:
    seen: set[int] = set()
    for regex in (_SETTING, _CONNECTION):
        for m in regex.finditer(data):
            value = m.group("v").strip(b"\"'")
            if (
                m.start("v") in seen
                or not value
                or value.startswith((b"[enc:", b"$", b"%", b"{"))
                or is_placeholder(value)
            ):
                continue
            seen.add(m.start("v"))
            key = printable(m.group("key"), 64)
            yield m.start("v"), f"{key}: {redact(value)}", value


_FILEZILLA = re.compile(rb"<Pass(?P<attrs>[^>]{0,100})>(?P<v>[^<]{1,1024})</Pass>", re.IGNORECASE)
_FILEZILLA_USER = re.compile(rb"<User>(?P<u>[^<]{1,128})</User>")
_FILEZILLA_HOST = re.compile(rb"<Host>(?P<h>[^<]{1,128})</Host>")


def _filezilla(data: bytes) -> Found:
    for m in _FILEZILLA.finditer(data):
        value = m.group("v").strip()
        if b"base64" in m.group("attrs").lower():
            decoded = _b64(value)
            if decoded is None:
                continue
            value, how = decoded, "base64, decoded"
        else:
            how = "plaintext"
        server = data[max(0, m.start() - 1024) : m.start()]
        hosts = _FILEZILLA_HOST.findall(server)
        users = _FILEZILLA_USER.findall(server)
        who = ""
        if users and hosts:
            who = f" {printable(users[-1], 64)}@{printable(hosts[-1], 64)}"
        if value and not is_placeholder(value):
            yield m.start("v"), f"{who.strip() or 'server'} ({how}): {redact(value)}", value


_RDP_PASSWORD = re.compile(rb"^\s*password 51:b:(?P<v>[0-9A-Fa-f]{16,})", re.MULTILINE)
_RDP_FIELD = re.compile(rb"^\s*(?P<k>full address|username):s:(?P<v>[^\r\n]{1,128})", re.MULTILINE)


def _rdp(data: bytes) -> Found:
    text = data.decode("utf-16", "replace") if data[:2] in (b"\xff\xfe", b"\xfe\xff") else None
    if text is not None:
        data = text.encode("utf-8", "replace")
    fields = {m.group("k").decode(): printable(m.group("v"), 64) for m in _RDP_FIELD.finditer(data)}
    for m in _RDP_PASSWORD.finditer(data):
        who = f" {fields.get('username', '')}@{fields.get('full address', '')}".rstrip("@ ")
        yield (
            m.start("v"),
            f".rdp saved password{who} (DPAPI blob): {redact(m.group('v'))}",
            m.group("v"),
        )


_WINSCP_INI = re.compile(rb"^\s*(?P<key>Password|ProxyPassword)=(?P<v>[^\r\n]+)", re.MULTILINE)


def _winscp_ini(data: bytes) -> Found:
    for m in _WINSCP_INI.finditer(data):
        value = m.group("v").strip()
        if value:
            key = m.group("key").decode()
            yield m.start("v"), f"WinSCP {key} (obfuscated): {redact(value)}", value


_UNATTEND_NAMES = ("unattend.xml", "autounattend.xml", "unattended.xml", "sysprep.xml")
_GPP_NAMES = (
    "groups.xml",
    "services.xml",
    "scheduledtasks.xml",
    "datasources.xml",
    "printers.xml",
    "drives.xml",
)


Parser = Callable[[bytes], Found]


def _kind(path: str) -> tuple[Rule, str, Parser] | None:
    lower = path.lower()
    name = lower.rsplit("/", 1)[-1]
    if name in _UNATTEND_NAMES:
        return UNATTEND, "answer file", _unattend_xml
    if name in ("sysprep.inf", "unattend.txt", "winnt.sif"):  # the pre-Vista answer files
        return UNATTEND, name, _sysprep_inf
    if name in _GPP_NAMES and "/preferences/" in lower:
        return GPP_CPASSWORD, "Group Policy Preferences", _gpp
    if name in ("web.config", "applicationhost.config"):
        return WEB_CONFIG, name, _web_config
    if name in ("sitemanager.xml", "recentservers.xml", "filezilla.xml"):
        return SAVED_SESSION, "FileZilla", _filezilla
    if name.endswith(".rdp"):
        return SAVED_SESSION, "Remote Desktop", _rdp
    if name == "winscp.ini":
        return SAVED_SESSION, "WinSCP", _winscp_ini
    return None


class WindowsCredentialFiles:
    """The path-chosen Windows credential checks (``PathCheck``)."""

    rules: tuple[Rule, ...] = (UNATTEND, GPP_CPASSWORD, WEB_CONFIG, SAVED_SESSION)

    def wants(self, path: str) -> bool:
        """Whether the file's name is one of the Windows credential files."""
        return _kind(path) is not None

    def check(self, content: FileContent) -> Iterable[Finding]:
        """Redacted credentials in one file."""
        kind = _kind(content.path)
        if kind is None:
            return
        rule, what, parse = kind
        data = content.data
        if data[:2] == b"\xff\xfe" and not content.path.lower().endswith(".rdp"):
            data = data[2:].decode("utf-16-le", "replace").encode()  # UTF-16 XML/INF
        seen: set[str] = set()
        for offset, evidence, secret in parse(data):
            if evidence in seen or len(seen) >= _MAX_FINDINGS:
                continue
            seen.add(evidence)
            yield rule.finding(
                content.path,
                f"{what}: {evidence}",
                line=line_of(data, max(offset, 0)),
                secret=secret,
            )
