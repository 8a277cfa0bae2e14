"""Generic secrets: ``key = value`` where the key names a secret and the value looks random.

Covers env files, YAML, JSON, TOML, INI, ``.properties``, XML elements and assignments in
source settings (``PASSWORD = "..."``, ``define('DB_PASSWORD', '...')``). A value counts
only when it is a literal (no variable, call, template, path or URL), is not made of words,
and passes an entropy floor: these findings are weaker evidence than a provider token, so
their rules are ``medium`` and lose to any provider match on the same value.
"""

from __future__ import annotations

import itertools
import re

from vmguard.checks.redact import redact
from vmguard.checks.secrets.known import is_masked, public_reason
from vmguard.checks.secrets.model import SecretPattern, Specificity, Validator
from vmguard.checks.secrets.validators import Verdict, entropy, is_placeholder
from vmguard.findings import Rule, SecretKind, Severity, Threat

_KINDS = {
    "password": "password|passwd|passphrase|pwd|bindpw|authtok|requirepass|masterauth",
    "api-key": r"api[_.-]?key|apikey|access[_.-]?key|auth[_.-]?key",
    "token": "token",
    "secret": r"client[_.-]?secret|secret|credentials?",
}
_TITLES = {
    "password": "Password assigned in a configuration or source file",
    "api-key": "API key assigned in a configuration or source file",
    "token": "Token assigned in a configuration or source file",
    "secret": "Secret assigned in a configuration or source file",
}
_VALUE = r"[A-Za-z0-9!#$%&()*+./:=?@\[\]^_{|}~-]{8,200}"
_REST_OF_KEY = r"[A-Za-z0-9_.-]{0,30}"
_ASSIGN = (
    r"""["'`]{0,2}\s{0,4}(?:::=|:=|=>|\?=|\+=|\|\|=|<-|\.=|[=:>]|,\s{0,4}["'])"""
    r"""\s{0,4}["'`]{0,2}"""
)

# Key names that hold a secret's metadata, not the secret.
_METADATA_SUFFIX = re.compile(
    rb"(?i)[_.-]?(?:file|path|dir|name|id|url|uri|len|length|min|max|size|type|mode|policy|"
    rb"prompt|field|header|param|env|var|regex|pattern|hint|label|format|enabled|ttl|expiry|"
    rb"expires|expiration|lifetime|timeout|endpoint|hash|hashed|command|cmd|helper|store|"
    rb"source|ref|count|version|method|algorithm|provider|class|kind|location|prefix|"
    rb"required|reset|rotation)$"
)
_METADATA_PREFIX = re.compile(
    rb"(?i)^(?:no|use|require|enable|disable|allow|max|min|check|verify|reset|forgot|change|"
    rb"show|confirm|hashed|encrypted|is|has|get|set|new|default|validate|empty|save|remember|"
    rb"csrf|xsrf)[_.-]?"
)
_NOT_LITERAL = re.compile(rb"\$\{|\{\{|\}\}|%\(|%s|\(|\)|://|^[$%{<(\[@&*#/\\.~!?:|]")
_ATTRIBUTE = re.compile(rb"^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+$")
_FILE_NAME = re.compile(
    rb"(?i)\.(?:pem|key|crt|cer|txt|json|ya?ml|conf|cfg|ini|env|sh|py|so|gpg|asc|der|p12|pfx|"
    rb"jks|keystore|html?|php|js|xml|log|db|sqlite)$"
)
_WORDS = re.compile(
    rb"(?i)password|passwd|secret|token|changeme|replace|insert|enter|here|value|string|"
    rb"none|null|true|false|default|required|optional|undefined|sample|generated"
)
_KEY_CHARS = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")


def _key_name(data: bytes, start: int, keyword_end: int) -> bytes:
    begin = start
    while begin > 0 and start - begin < 40 and data[begin - 1] in _KEY_CHARS:
        begin -= 1
    return data[begin:keyword_end]


def _word_boundaries(data: bytes, start: int, end: int) -> bool:
    """The keyword is a word of the key: ``db_password``, ``apiToken``, not ``tokenizer``."""
    before = data[start - 1 : start]
    if before.isalpha() and not (before.islower() and data[start : start + 1].isupper()):
        return False
    after = data[end : end + 1]
    return not (after.isalpha() and after.islower())


def looks_random(value: bytes) -> bool:
    """A literal value that is neither words, code, a path, a number nor a template."""
    if len(value) < 8 or _NOT_LITERAL.search(value) or _ATTRIBUTE.match(value):
        return False
    if _FILE_NAME.search(value) or _WORDS.search(value):
        return False
    text = value.decode("ascii", "replace")
    lower, upper = any(c.islower() for c in text), any(c.isupper() for c in text)
    digit = any(c.isdigit() for c in text)
    symbol = any(not c.isalnum() and c not in "-_." for c in text)
    if value.replace(b"-", b"").replace(b".", b"").isdigit():
        return False
    if not (digit or symbol):
        # Letters and separators only: words (``no-debconf``, ``SuperSecret``) unless the
        # case flips as often as in random text.
        flips = sum(a.islower() != b.islower() for a, b in itertools.pairwise(text))
        if len(value) < 20 or flips < len(value) // 4 or entropy(value) < 4.0:
            return False
    if lower + upper + digit + symbol < 2:
        return False
    floor = 2.75 if len(value) < 12 else 3.0 if len(value) < 20 else 3.3
    return entropy(value) >= floor


def _validator(regex: re.Pattern[bytes]) -> Validator:
    def validate(data: bytes, start: int, match: bytes) -> Verdict | None:
        m = regex.match(data, start, start + len(match))
        if m is None or not _word_boundaries(data, start, m.end("kw")):
            return None
        key = _key_name(data, start, m.end("key"))
        if _METADATA_SUFFIX.search(key) or _METADATA_PREFIX.match(key):
            return None
        value = m.group("s").rstrip(b".:")
        if is_placeholder(value) or is_masked(value) or not looks_random(value):
            return None
        shown = f"{key.decode('ascii', 'replace')[:60]}: {redact(value)}"
        reason = public_reason(value)
        if reason is not None:
            return Verdict(f"{shown} (known public value: {reason})", Severity.INFO, secret=value)
        return Verdict(shown, secret=value)

    return validate


def generic_patterns() -> tuple[SecretPattern, ...]:
    """One pattern per kind of secret-naming key."""
    patterns = []
    for kind, keywords in _KINDS.items():
        source = f"(?P<kw>(?i:{keywords}))(?P<key>{_REST_OF_KEY}){_ASSIGN}(?P<s>{_VALUE})"
        rule = Rule(
            f"secret.generic-{kind}",
            _TITLES[kind],
            Severity.MEDIUM,
            Threat.IMAGE_EXPOSURE,
            "Move the value out of the file into a secret store or run-time injection, rotate "
            "it, and rebuild the image.",
            rationale="A value stored under a password, token or secret key name is usually "
            "the real thing, and an image spreads it to everyone who receives a copy.",
            shares=SecretKind.CREDENTIAL,
        )
        yara = re.sub(r"\(\?P<\w+>", "(", source)
        patterns.append(
            SecretPattern(
                rule,
                yara,
                _validator(re.compile(source.encode())),
                Specificity.GENERIC,
                "generic",
                in_binaries=False,
            )
        )
    return tuple(patterns)
