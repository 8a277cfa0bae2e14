"""The credential table (``vmguard/data/secret-rules.toml``) turned into secret patterns.

Each row is one credential type; this module builds its rule (``secret.<id>``), its yara-x
expression (with the provider keyword in front when the token has no prefix of its own) and
its validator: boundaries, placeholders and masks, known public values, entropy, then the
row's structural check. It must never keep or print a matched value.
"""

from __future__ import annotations

import math
import re
import string
import tomllib
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

from vmguard.checks.redact import redact
from vmguard.checks.secrets.known import is_masked, public_reason
from vmguard.checks.secrets.model import SecretPattern, Specificity, Validator
from vmguard.checks.secrets.structure import CHECKS, StructureCheck
from vmguard.checks.secrets.validators import Verdict, entropy, is_placeholder
from vmguard.errors import VmguardError
from vmguard.findings import Rule, SecretKind, Severity, Threat

ASSIGNMENT = r"(?:::=|:=|=>|\?=|\+=|\|\|=|<-|\.=|[=:,>])"
"""Assignment operators of env, YAML, JSON, TOML, INI, XML, shell, Make, Go, R, PHP, Ruby."""
SEPARATOR = r"""[\w .-]{0,25}["'`]{0,2}\s{0,4}""" + ASSIGNMENT + r"""?\s{0,4}["'`]{0,2}"""
"""Between a provider keyword and its token: the rest of the key name (``_API_KEY``,
``Token``), quotes, and an assignment operator of env, YAML, JSON, TOML, INI, XML or code."""

_ALNUM = frozenset((string.ascii_letters + string.digits).encode())
_LITERAL_HEAD = re.compile(r"^(?:\\b)?([A-Za-z0-9_-]+)")
_SCAN_HEAD = re.compile(r"^(?:\\b)?(?:[A-Za-z0-9_=;:/~ -]|\\[./?$])+")
_MIN_HEAD = 4
_LEADING_WORDS = re.compile(r"^(?:\(\?:[^()\[\]]+\)|[^()\[\]{}?*+])+")
_REACH = 4096
"""How far past its head a token may end (keyword, separator and the longest token)."""


class SecretTableError(VmguardError):
    """The shipped credential table is malformed (a packaging defect)."""


_RATIONALES = {
    "cloud": "A cloud provider's key or token in an image hands the account to whoever copies "
    "the image: its data, its machines, and a bill run up in the owner's name.",
    "ci": "A token for source hosting, CI or deployment lets its holder push code, read "
    "private repositories or change what the pipeline builds and ships: a supply-chain "
    "foothold.",
    "chat": "A chat, mail or messaging token lets its holder read conversations and send "
    "messages as a trusted sender, the first step of most phishing inside an organisation.",
    "payment": "A payment provider's key can move money, issue refunds or read customers' "
    "payment records.",
    "registry": "A package or container registry token can publish artefacts that every "
    "consumer downloads and runs, or read private packages.",
    "ai": "An AI service key lets anyone run requests billed to the owner and read the "
    "prompts, files and fine-tuned models kept under the account.",
    "saas": "A SaaS API key opens the account behind it: customer data, configuration and "
    "whatever the service is trusted to do for the owner.",
    "keys": "Key material or a service password gives direct access to the systems that trust "
    "it, without any login that could be noticed or stopped.",
}
"""Why a credential of each family in the table matters (one rationale per family)."""


def _remediation(title: str) -> str:
    return (
        f"Revoke the {title} with its provider and issue a new one, remove it from the image, "
        "and rebuild the image from a clean build with secrets injected at run time."
    )


def _bounded(data: bytes, start: int, end: int) -> bool:
    """The token does not continue into letters or digits on either side."""
    if start > 0 and data[start] in _ALNUM and data[start - 1] in _ALNUM:
        return False
    return not (end < len(data) and data[end - 1] in _ALNUM and data[end] in _ALNUM)


def _validator(
    regex: re.Pattern[bytes],
    *,
    floor: float,
    check: StructureCheck | None,
    loose: bool,
    keep: int,
    back: int,
) -> Validator:
    has_group = "s" in regex.groupindex

    def validate(data: bytes, start: int, match: bytes) -> Verdict | None:
        # yara-x found the row's cheap head (keyword, literal prefix or inner anchor); the
        # whole shape is matched here, from up to ``back`` bytes before it.
        m = None
        for begin in range(max(0, start - back), start + 1):
            m = regex.match(data, begin, start + _REACH)
            if m is not None and m.end() > start:
                break
            m = None
        if m is None:
            return None
        s_start, s_end = m.span("s") if has_group else m.span()
        secret = data[s_start:s_end]
        if not loose and not _bounded(data, s_start, s_end):
            return None
        if is_placeholder(secret) or is_masked(secret):
            return None
        shown = redact(secret, keep=keep)
        reason = public_reason(secret)
        if reason is not None:
            return Verdict(
                f"{shown} (known public value: {reason})",
                Severity.INFO,
                secret=secret,
                extent=m.span(),
            )
        # A short random token cannot reach a long one's entropy: the floor scales down.
        if entropy(secret) < min(floor, 0.8 * math.log2(max(2, len(secret)))):
            return None
        note, severity = "", None
        if check is not None:
            structure = check(secret, data, s_start)
            if structure is None:
                return None
            note, severity = structure.note, structure.severity
        shown = f"{shown} ({note})" if note else shown
        return Verdict(shown, severity, secret=secret, extent=m.span())

    return validate


def _pattern(family: str, ident: str, row: Mapping[str, Any]) -> SecretPattern:
    title, token = str(row["t"]), str(row["re"])
    keyword = row.get("kw")
    source = f"(?i:{keyword}){SEPARATOR}(?P<s>{token})" if keyword else token
    check_name = row.get("check")
    if check_name is not None and check_name not in CHECKS:
        raise SecretTableError(f"secret-rules.toml: {ident}: unknown check {check_name!r}")
    head = _LITERAL_HEAD.match(token)
    rule = Rule(
        f"secret.{ident}",
        title,
        Severity(row.get("sev", "high")),
        Threat.IMAGE_EXPOSURE,
        _remediation(title),
        (str(row["ref"]),) if "ref" in row else (),
        rationale=_RATIONALES.get(family, ""),
        shares=_shares(ident, row),
    )
    validate = _validator(
        re.compile(source.encode()),
        floor=float(row.get("ent", 3.0)),
        check=CHECKS[check_name] if check_name else None,
        loose=bool(row.get("loose", False)),
        keep=min(12, len(head.group(1))) if head and "(?P<s>" not in source else 4,
        back=int(row.get("back", 0)),
    )
    return SecretPattern(
        rule,
        scan_expression(row),
        validate,
        Specificity.KEYWORD if keyword else Specificity.PREFIX,
        family,
        in_binaries=not keyword and bool(row.get("bin", False)),
    )


def _shares(ident: str, row: Mapping[str, Any]) -> SecretKind:
    try:
        return SecretKind(str(row.get("shares", SecretKind.CREDENTIAL.value)))
    except ValueError as err:
        raise SecretTableError(f"secret-rules.toml: {ident}: unknown shares {err}") from err


def scan_expression(row: Mapping[str, Any]) -> str:
    """What the yara-x pass looks for: the cheapest part that every match starts with.

    yara-x's cost grows with each expression's atoms and length, so the pass searches only
    the provider keyword, the token's literal prefix, or the row's own ``scan`` anchor, and
    the validator matches the whole shape on the few hits."""
    token = str(row["re"]).replace("(?P<s>", "(")
    if row.get("scan") == "*":
        return token
    if "scan" in row:
        return str(row["scan"])
    if "kw" in row:
        # The keyword's leading words; a gap inside it (``aws[\w .-]{0,20}secret``) would
        # make yara-x look for ``secret`` everywhere.
        keyword = str(row["kw"])
        lead = _LEADING_WORDS.match(keyword)
        if lead is None or "{0," not in keyword[lead.end() :]:
            return f"(?i:{keyword})"  # tight: all of it filters
        short = min(map(len, re.findall(r"[A-Za-z0-9]+", lead.group(0)))) < _MIN_HEAD
        return f"(?i:{keyword if short else lead.group(0)})"
    head = _SCAN_HEAD.match(token)
    text = head.group(0) if head else ""
    if head and token[head.end() : head.end() + 1] in ("?", "*", "+", "{"):
        text = text[:-2] if text.endswith(("\\.", "\\/", "\\?", "\\$")) else text[:-1]
    if len(text.removeprefix("\\b").replace("\\", "")) >= _MIN_HEAD:
        return text
    return token


@cache
def _document() -> dict[str, Any]:
    text = resources.files("vmguard.data").joinpath("secret-rules.toml").read_text()
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise SecretTableError(f"secret-rules.toml: {err}") from err


@cache
def table_patterns() -> tuple[SecretPattern, ...]:
    """Every row of the credential table, in table order."""
    return tuple(
        _pattern(family, ident, row)
        for family, rows in _document().items()
        for ident, row in rows.items()
    )


def table_source(rule_id: str) -> tuple[str | None, str] | None:
    """(provider keyword or None, token expression) of a table rule: the documented shape,
    for listings and for building test corpora; None for a rule the table does not hold."""
    for rows in _document().values():
        row = rows.get(rule_id.removeprefix("secret."))
        if row is not None:
            keyword = row.get("kw")
            return (str(keyword) if keyword is not None else None, str(row["re"]))
    return None
