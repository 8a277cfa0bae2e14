"""Credential files found by path: .pgpass, .netrc, .git-credentials, .my.cnf, docker and
kube configs, NetworkManager and wpa_supplicant PSKs, cloud CLI credentials (AWS, gcloud,
Azure), shell/database/PowerShell histories, cloud-init. Globs start with ``*/`` so that
a Windows profile (``/Users/NAME/AppData/Roaming/gcloud/...``) matches like a Linux home.

Each parser reads the file's bytes as handed over by the scan (bounded there), looks only
for the credential fields, and reports them redacted.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import fnmatch
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from vmguard.checks.cloudtokens import json_tokens
from vmguard.checks.interface import FileContent, line_of
from vmguard.checks.redact import redact
from vmguard.checks.secrets.validators import is_placeholder
from vmguard.findings import Finding, Rule, SecretKind, Severity, Threat
from vmguard.text import printable

_FIX = "Remove the credential from the image, rotate it, and inject secrets at boot instead."
CREDENTIAL_FILE = Rule(
    "secret.credential-file",
    "Credential file left in the image",
    Severity.HIGH,
    Threat.IMAGE_EXPOSURE,
    _FIX,
    rationale=(
        "Credential files of common tools (.netrc, .pgpass, cloud CLI configuration, git "
        "credentials) hold working passwords and tokens that travel with every copy of the image."
    ),
    shares=SecretKind.CREDENTIAL,
    generic=True,
)
HISTORY = Rule(
    "secret.history",
    "Secret on a command line in a shell or database history",
    Severity.HIGH,
    Threat.IMAGE_EXPOSURE,
    "Clear histories (and the builder's habit of passing secrets as arguments) before "
    "publishing: truncate ~/.*history, and rotate what they contain.",
    rationale=(
        "Secrets typed on a command line are kept in history files long after the command ran, and "
        "ship with the image."
    ),
    shares=SecretKind.CREDENTIAL,
    generic=True,
)
CLOUD_INIT = Rule(
    "secret.cloud-init-password",
    "Plaintext password in cloud-init data",
    Severity.HIGH,
    Threat.IMAGE_EXPOSURE,
    "Remove the seed/user-data from the image (cloud-init clean --seed) and use hashed "
    "passwords or SSH keys injected at launch.",
    ("https://cloudinit.readthedocs.io/en/latest/reference/modules.html#set-passwords",),
    rationale=(
        "cloud-init seed data keeps the passwords it set in plain text on disk, where every copy "
        "of the image carries them."
    ),
    shares=SecretKind.CREDENTIAL,
)

Parser = Callable[[bytes], Iterable[tuple[int, str, bytes]]]
"""data -> (offset, redacted evidence, raw secret) per credential found."""


def _assignments(pattern: str) -> Parser:
    regex = re.compile(pattern.encode(), re.MULTILINE)

    def parse(data: bytes) -> Iterable[tuple[int, str, bytes]]:
        for m in regex.finditer(data):
            value = m.group("value").strip().strip(b"\"'")
            if value and not is_placeholder(value) and value not in (b"*", b"x"):
                yield (
                    m.start("value"),
                    f"{m.group('key').decode(errors='replace')}: {redact(value)}",
                    value,
                )

    return parse


def _pgpass(data: bytes) -> Iterable[tuple[int, str, bytes]]:
    offset = 0
    for line in data.splitlines(keepends=True):
        fields = re.split(rb"(?<!\\):", line.strip())
        if len(fields) == 5 and fields[4] and not line.startswith(b"#"):
            who = f"{fields[3].decode(errors='replace')}@{fields[0].decode(errors='replace')}"
            yield offset, f"{who}: {redact(fields[4])}", fields[4]
        offset += len(line)


def _git_credentials(data: bytes) -> Iterable[tuple[int, str, bytes]]:
    for m in re.finditer(rb"[a-z][a-z0-9+.-]*://([^:/\s@]+):([^@\s]+)@([^\s/]+)", data):
        who = f"{m.group(1).decode(errors='replace')}@{m.group(3).decode(errors='replace')}"
        yield m.start(), f"{who}: {redact(m.group(2))}", m.group(2)


def _docker_config(data: bytes) -> Iterable[tuple[int, str, bytes]]:
    try:
        document = json.loads(data)
    except ValueError:
        return
    auths = document.get("auths", {}) if isinstance(document, dict) else {}
    if not isinstance(auths, dict):
        return
    for registry, entry in list(auths.items())[:100]:
        if not isinstance(entry, dict):
            continue
        token = entry.get("auth") or entry.get("identitytoken") or entry.get("password")
        if isinstance(token, str) and token:
            user = ""
            with contextlib.suppress(binascii.Error, ValueError):
                user = base64.b64decode(token).split(b":", 1)[0].decode(errors="replace")
            evidence = f"{registry} {user}: {redact(token)}".replace("  ", " ")
            yield data.find(token.encode()), evidence, token.encode()


def _kubeconfig(data: bytes) -> Iterable[tuple[int, str, bytes]]:
    for m in re.finditer(rb"^\s*(client-key-data|token|password)\s*:\s*(\S+)", data, re.MULTILINE):
        value = m.group(2).strip(b"\"'")
        if value and not is_placeholder(value):
            yield m.start(2), f"{m.group(1).decode()}: {redact(value)}", value


# Each way a command line carries a secret, scanned on its own (one alternation would let
# one match swallow a second secret later on the same line). The label is all the evidence
# says about the command: no text around a match is ever quoted, since that text may be (or
# hold) another secret.
_HISTORY_FORMS: tuple[tuple[str, re.Pattern[bytes]], ...] = tuple(
    (label, re.compile(pattern, re.MULTILINE))
    for label, pattern in (
        (
            "mysql -p",
            rb"\b(?:mysql|mariadb|mysqladmin|mysqldump)\b[^\n]*?\s-p(?P<value>[^\s'\"-][^\s;|&]*)",
        ),
        ("--password", rb"--password[= ](?P<value>[^\s;|&]+)"),
        ("--passwd", rb"--passwd[= ](?P<value>[^\s;|&]+)"),
        (
            "environment",
            rb"(?<![A-Za-z0-9_])(?P<name>PGPASSWORD|MYSQL_PWD|AWS_SECRET_ACCESS_KEY"
            rb"|AWS_SESSION_TOKEN|[A-Z][A-Z0-9_]*(?:TOKEN|PASSWORD|SECRET|PASSWD|API_KEY|APIKEY))"
            rb"=(?P<value>[^\s;|&]+)",
        ),
        ("sshpass -p", rb"\bsshpass\s+-p\s*(?P<value>[^\s;|&]+)"),
        (
            "curl -u",
            rb"\b(?:curl|wget)\b[^\n]*?\s(?:-u|--user)\s+[^:\s]+:(?P<value>[^\s;|&]+)",
        ),
        (
            "aws configure set",
            rb"\baws\s+configure\s+set\s+(?:[\w.-]+\.)?(?P<name>aws_secret_access_key"
            rb"|aws_session_token)\s+(?P<value>[^\s;|&]+)",
        ),
        (
            "docker login -p",
            rb"\b(?:docker|podman|buildah|skopeo|helm\s+registry)\s+login\b[^\n]*?\s-p\s*"
            rb"(?P<value>[^\s;|&-][^\s;|&]*)",
        ),
        (
            "Authorization header",
            rb"[Aa]uthorization:\s*(?:[Bb]earer|[Bb]asic|[Tt]oken)\s+"
            rb"(?P<value>[A-Za-z0-9._~+/=-]{8,})",
        ),
        (
            "API key header",
            rb"(?P<name>(?:X-)?[A-Za-z-]*(?:Api-?Key|Auth-?Token|Access-?Token|Secret)):\s*"
            rb"(?P<value>[A-Za-z0-9._~+/=-]{8,})",
        ),
        ("URL credentials", rb"://[^:/\s@'\"]+:(?P<value>[^@\s/'\"]+)@"),
        # PowerShell and cmd forms (PSReadLine histories).
        (
            "ConvertTo-SecureString",
            rb"(?i)\bConvertTo-SecureString\s+(?:-AsPlainText\s+|-Force\s+|-String\s+)*"
            rb"(?P<q>[\"'])(?P<value>[^\"'\n]+)(?P=q)",
        ),
        (
            "net user",
            rb"(?i)\bnet(?:\.exe)?\s+user\s+(?:\"[^\"\n]+\"|[^\s\"/]+)\s+"
            rb"(?P<value>\"[^\"\n]+\"|[^\s/*\"][^\s]*)",
        ),
        (
            "-Password",
            rb"(?i)(?<![\w-])-(?:Password|AccountPassword|Passwd|Pass)[\s:]+"
            rb"(?P<value>\"[^\"\n]+\"|'[^'\n]+'|[^\s\"'(;|&$-][^\s;|&]*)",
        ),
        (
            "cmdkey /pass",
            rb"(?i)\bcmdkey(?:\.exe)?\b[^\n]*?\s/pass(?:word)?:(?P<value>\"[^\"\n]+\"|\S+)",
        ),
    )
)


def _history_values(data: bytes) -> Iterable[tuple[int, str, bytes]]:
    found: dict[int, tuple[str, bytes]] = {}
    for label, regex in _HISTORY_FORMS:
        for m in regex.finditer(data):
            value = m.group("value").strip(b"\"'")
            if len(value) < 4 or is_placeholder(value) or value.startswith(b"$"):
                continue
            named = m.groupdict().get("name")
            # A name is the command's own syntax (PGPASSWORD, X-Api-Key), never a secret.
            shown = f"{label} {printable(named, 40)}" if named else label
            found.setdefault(m.start("value"), (shown, value))
    for offset in sorted(found):
        shown, value = found[offset]
        yield offset, f"{shown}: {redact(value)}", value


def _cloud_init(data: bytes) -> Iterable[tuple[int, str, bytes]]:
    yield from _assignments(
        r"^\s*(?P<key>password|plain_text_passwd|passwd)\s*:\s*(?P<value>[^\n#]+)"
    )(_not_hashes(data))
    # chpasswd "list: |" / users: - name:password
    for m in re.finditer(
        rb"^\s*-?\s*(?:name:\s*)?([a-z_][a-z0-9_-]*):([^\s:$][^\s:]{3,})\s*$", data, re.MULTILINE
    ):
        if not is_placeholder(m.group(2)) and m.group(2) not in (b"RANDOM",):
            yield m.start(2), f"chpasswd {m.group(1).decode()}: {redact(m.group(2))}", m.group(2)


def _not_hashes(data: bytes) -> bytes:
    # A crypt hash ($6$...) as `passwd:` is not plaintext; blank those values out.
    return re.sub(rb"(?m)^(\s*passwd\s*:\s*)\$[0-9a-z]+\$\S+", lambda m: m.group(1) + b"*", data)


@dataclass(frozen=True, slots=True)
class _Kind:
    patterns: tuple[str, ...]
    rule: Rule
    what: str
    parse: Parser


_KINDS = (
    _Kind(("*/.pgpass",), CREDENTIAL_FILE, ".pgpass", _pgpass),
    _Kind(
        ("*/.netrc", "*/_netrc"),
        CREDENTIAL_FILE,
        ".netrc",
        _assignments(r"(?P<key>password|passwd)\s+(?P<value>\S+)"),
    ),
    _Kind(("*/.git-credentials",), CREDENTIAL_FILE, ".git-credentials", _git_credentials),
    _Kind(
        ("*/.my.cnf", "/etc/mysql/debian.cnf", "*/.mylogin.cnf"),
        CREDENTIAL_FILE,
        "MySQL option file",
        _assignments(r"^\s*(?P<key>password|passwd)\s*=\s*(?P<value>[^\n#]+)"),
    ),
    _Kind(
        ("*/.docker/config.json", "/etc/containers/auth.json", "/run/containers/*/auth.json"),
        CREDENTIAL_FILE,
        "registry auth",
        _docker_config,
    ),
    _Kind(
        ("*/.kube/config", "/etc/kubernetes/*.conf", "/etc/rancher/*/*.yaml"),
        CREDENTIAL_FILE,
        "kubeconfig",
        _kubeconfig,
    ),
    _Kind(
        ("/etc/NetworkManager/system-connections/*",),
        CREDENTIAL_FILE,
        "NetworkManager PSK",
        _assignments(r"^\s*(?P<key>psk|password|wep-key0)\s*=\s*(?P<value>[^\n]+)"),
    ),
    _Kind(
        ("/etc/wpa_supplicant/*.conf", "/etc/wpa_supplicant.conf"),
        CREDENTIAL_FILE,
        "wpa_supplicant PSK",
        _assignments(r"^\s*(?P<key>psk|password)\s*=\s*(?P<value>[^\n]+)"),
    ),
    _Kind(
        ("*/.aws/credentials",),
        CREDENTIAL_FILE,
        "AWS shared credentials",
        _assignments(r"^\s*(?P<key>aws_secret_access_key|aws_session_token)\s*=\s*(?P<value>\S+)"),
    ),
    _Kind(
        (
            "*/gcloud/application_default_credentials.json",
            "*/gcloud/legacy_credentials/*/adc.json",
            "*/.azure/accessTokens.json",
            "*/.azure/msal_token_cache.json",
        ),
        CREDENTIAL_FILE,
        "cloud CLI credentials",
        json_tokens,
    ),
    _Kind(
        (
            "*/.bash_history",
            "*/.zsh_history",
            "*/.sh_history",
            "*/.ash_history",
            "*/.history",
            "*/.mysql_history",
            "*/.psql_history",
            "*/.sqlite_history",
            "*/.python_history",
            "*/.rediscli_history",
            "*/.mongo*history*",
            "*/fish_history",
            "*/PSReadLine/*_history.txt",
            "*/PSReadline/*_history.txt",
            "*/psreadline/*_history.txt",
        ),
        HISTORY,
        "history",
        _history_values,
    ),
    _Kind(
        (
            "/var/lib/cloud/instance/user-data.txt*",
            "/var/lib/cloud/instances/*/user-data.txt*",
            "/var/lib/cloud/seed/*/user-data",
            "/etc/cloud/cloud.cfg",
            "/etc/cloud/cloud.cfg.d/*",
            "/var/lib/cloud/instance/cloud-config.txt",
            "/var/lib/cloud/instances/*/cloud-config.txt",
        ),
        CLOUD_INIT,
        "cloud-init",
        _cloud_init,
    ),
)


def _glob_regex(patterns: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in patterns))


_KIND_REGEX = tuple(_glob_regex(kind.patterns) for kind in _KINDS)
_ANY_KIND = _glob_regex(tuple(p for kind in _KINDS for p in kind.patterns))


class CredentialFiles:
    """The path-chosen credential checks (``PathCheck``)."""

    rules: tuple[Rule, ...] = (CREDENTIAL_FILE, HISTORY, CLOUD_INIT)

    def wants(self, path: str) -> bool:
        """Whether any credential-file parser applies to this path."""
        return _ANY_KIND.match(path) is not None

    def check(self, content: FileContent) -> Iterable[Finding]:
        """Redacted credentials in one file."""
        for kind, regex in zip(_KINDS, _KIND_REGEX, strict=True):
            if regex.match(content.path) is None:
                continue
            seen: set[str] = set()
            for offset, evidence, secret in kind.parse(content.data):
                if evidence in seen or len(seen) >= 50:
                    continue
                seen.add(evidence)
                yield kind.rule.finding(
                    content.path,
                    f"{kind.what}: {evidence}",
                    line=line_of(content.data, max(offset, 0)),
                    secret=secret,
                )
