"""The content pass: one yara-x scan per window of each file feeds every content rule.

Secret candidates are validated (``secrets.validators``), malware rules come from vmguard's
built-in set plus user rule directories. Files in documentation and test trees are not
searched for secrets: test vectors and examples are not credentials.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

import yara_x

from vmguard.checks.interface import FileContent, line_of
from vmguard.checks.secrets.model import SecretPattern, Specificity
from vmguard.checks.secrets.patterns import PEM_KEY, SECRET_PATTERNS
from vmguard.checks.secrets.validators import Verdict
from vmguard.errors import VmguardError
from vmguard.findings import Finding, Rule, SecretKind, Severity, Threat

_NOT_SECRETS = (
    "/usr/share/doc/*",
    "/usr/share/man/*",
    "/usr/share/info/*",
    "*/test/*",
    "*/tests/*",
    "*/testdata/*",
    "*/test_data/*",
    "*/examples/*",
    "*/example/*",
)
HOST_KEYS = ("/etc/ssh/ssh_host_*_key",)
_PACKAGE_INDEXES = (
    "/var/lib/apt/lists/*",
    "/var/cache/apt/*",
    "/var/lib/dpkg/*",
    "/var/lib/rpm/*",
    "/var/cache/dnf/*",
    "/var/cache/yum/*",
    "/lib/apk/db/*",
)
"""Package managers' indexes and databases: public metadata (tens of MB of it), searched
with the binary-file set only, since no ``key = value`` written there is a credential."""
_NOT_SECRETS_RE = re.compile("|".join(fnmatch.translate(p) for p in _NOT_SECRETS))
_REDUCED_RE = re.compile("|".join(fnmatch.translate(p) for p in (*_NOT_SECRETS, *_PACKAGE_INDEXES)))
_HOST_KEYS_RE = re.compile("|".join(fnmatch.translate(p) for p in HOST_KEYS))
_MAX_FINDINGS_PER_RULE = 20
_TEXT_PROBE = 4096
MAX_RULE_FILES = 2000
MAX_RULE_BYTES = 64 * 1024 * 1024

HOST_KEY_RULE = Rule(
    "ssh.host-key-baked",
    "SSH host key baked into the image",
    Severity.MEDIUM,
    Threat.GUEST_TO_GUEST,
    "Delete /etc/ssh/ssh_host_* before publishing the image and let each instance generate "
    "its own at first boot (cloud-init ssh_deletekeys, or ssh-keygen -A in a first-boot unit).",
    ("https://cloudinit.readthedocs.io/en/latest/reference/modules.html#ssh",),
    rationale=(
        "Every machine started from the image presents the same host key, so one stolen copy of "
        "the image lets an attacker impersonate all of them and intercept their SSH sessions "
        "unnoticed."
    ),
    shares=SecretKind.SSH_HOST_KEY,
    spans_lines=True,
)


class RuleLoadError(VmguardError):
    """A user-supplied YARA rule directory could not be compiled."""


def _yara_regex(regex: str) -> str:
    return regex.replace("/", r"\/")


def secrets_source(*, binaries: bool = False) -> str:
    """The secret patterns as one YARA source, rule ``s<N>`` for pattern N; with
    ``binaries``, only the patterns that count in binary files."""
    parts = []
    for i, pattern in enumerate(SECRET_PATTERNS):
        if binaries and not pattern.in_binaries:
            continue
        parts.append(f"rule s{i} {{ strings: $a = /{_yara_regex(pattern.regex)}/ condition: $a }}")
    return "\n".join(parts)


@dataclass(frozen=True, slots=True)
class ContentRules:
    """The compiled rules of the content pass, in two sets over the same identifiers.

    Text files get every secret pattern; binary files (ELF, or a NUL in their first bytes),
    package indexes and documentation only those that count in binaries: hundreds of
    keyword and assignment patterns would cost time on bytes where no ``key = value`` is a
    credential, and find nothing they could keep."""

    text: yara_x.Rules
    binary: yara_x.Rules


def compile_rules(user_dirs: tuple[Path, ...] = ()) -> ContentRules:
    """Secret patterns, built-in malware rules and every .yar/.yara file in ``user_dirs``."""
    if not user_dirs:
        return _builtin_rules()
    return ContentRules(_compile(user_dirs, binaries=False), _compile(user_dirs, binaries=True))


@cache
def _builtin_rules() -> ContentRules:
    # Hundreds of credential expressions take a second or two to compile: once per process
    # (a fleet worker scans many images; --deleted scans again), never per scan.
    return ContentRules(_compile((), binaries=False), _compile((), binaries=True))


def _compile(user_dirs: tuple[Path, ...], *, binaries: bool) -> yara_x.Rules:
    compiler = yara_x.Compiler()
    compiler.new_namespace("secrets")
    compiler.add_source(secrets_source(binaries=binaries))
    compiler.new_namespace("malware")
    compiler.add_source(_builtin_malware_source())
    files = 0
    total = 0
    for directory in user_dirs:
        if not directory.is_dir():
            raise RuleLoadError(f"--yara-rules {directory}: not a directory")
        for path in sorted(directory.rglob("*")):
            if path.suffix.lower() not in (".yar", ".yara") or not path.is_file():
                continue
            files += 1
            total += path.stat().st_size
            if files > MAX_RULE_FILES or total > MAX_RULE_BYTES:
                raise RuleLoadError(f"--yara-rules {directory}: too many or too large rule files")
            compiler.new_namespace(f"user_{files}")
            try:
                compiler.add_source(path.read_text(errors="replace"))
            except yara_x.CompileError as err:
                first = str(err).strip().splitlines()[0] if str(err).strip() else "syntax error"
                raise RuleLoadError(f"YARA rule file {path}: {first}") from err
    return compiler.build()


@dataclass(frozen=True, slots=True)
class _Hit:
    pattern: SecretPattern
    verdict: Verdict
    span: tuple[int, int]
    """Where the secret itself lies in the window."""
    context: int
    """Length of the whole match: more matched context (an endpoint, a keyword) is more
    specific."""

    def rank(self) -> tuple[int, int, int]:
        severity = self.verdict.severity or self.pattern.rule.severity
        return (self.pattern.specificity, self.context, severity.rank)


def _overlaps(span: tuple[int, int], others: list[tuple[int, int]]) -> bool:
    return any(span[0] < end and start < span[1] for start, end in others)


def _most_specific(hits: list[_Hit], claimed: list[tuple[int, int]]) -> list[_Hit]:
    """One hit per secret: overlapping hits keep the most specific, the same secret found
    twice keeps one, and generic hits inside any provider match (even one its validator
    dropped as a mask or sample) are not reported."""
    kept: list[_Hit] = []
    seen: set[bytes] = set()
    for hit in sorted(hits, key=_Hit.rank, reverse=True):
        if hit.pattern.specificity is Specificity.GENERIC and _overlaps(hit.span, claimed):
            continue
        if _overlaps(hit.span, [k.span for k in kept]) or hit.verdict.secret in seen:
            continue
        kept.append(hit)
        seen.add(hit.verdict.secret)
    return sorted(kept, key=lambda h: h.span[0])


def _builtin_malware_source() -> str:
    return resources.files("vmguard.data").joinpath("malware.yar").read_text()


def malware_rule(identifier: str, meta: Mapping[str, str], *, builtin: bool) -> Rule:
    """The rule a YARA rule's matches are reported by: a built-in rule's own id from its
    metadata, ``malware.yara.<identifier>`` for a user's rule."""
    rule_id = meta.get("rule_id") if builtin else None
    return Rule(
        rule_id or f"malware.yara.{identifier}",
        meta.get("title") or meta.get("description") or f"YARA rule {identifier} matched",
        _severity(meta.get("severity", "high"), Severity.HIGH),
        Threat.MALWARE,
        "Treat the image as compromised: do not run it; rebuild from a trusted source and "
        "investigate how the file got there.",
        (meta["reference"],) if "reference" in meta else (),
        rationale=meta.get("rationale", ""),
    )


_RULE_META = re.compile(r"^rule\s+(\w+)[^{]*\{\s*meta:(.*?)^\s*(?:strings|condition):", re.M | re.S)
_META_ENTRY = re.compile(r'^\s*(\w+)\s*=\s*"((?:[^"\\]|\\.)*)"', re.M)


def builtin_malware_rules() -> tuple[Rule, ...]:
    """The built-in malware rules, from their metadata blocks (yara-x cannot list rules)."""
    return tuple(
        malware_rule(name, dict(_META_ENTRY.findall(body)), builtin=True)
        for name, body in _RULE_META.findall(_builtin_malware_source())
    )


def _meta(rule: yara_x.Rule) -> dict[str, str]:
    return {str(k): str(v) for k, v in rule.metadata}


def _severity(text: str, default: Severity) -> Severity:
    try:
        return Severity(text.lower())
    except ValueError:
        return default


class ContentScanner:
    """Runs the compiled rules over file windows and turns matches into findings."""

    def __init__(self, rules: ContentRules) -> None:
        self._text = yara_x.Scanner(rules.text)
        self._binary = yara_x.Scanner(rules.binary)
        self._text.set_timeout(60)
        self._binary.set_timeout(60)

    def scan(self, content: FileContent) -> list[Finding]:
        """Findings in one window (offsets and lines are relative to the window's start)."""
        binary = (
            content.compiled
            or b"\0" in content.data[:_TEXT_PROBE]
            or _REDUCED_RE.match(content.path) is not None
        )
        try:
            results = (self._binary if binary else self._text).scan(content.data)
        except (yara_x.TimeoutError, yara_x.ScanError) as err:
            raise VmguardError(f"content scan of {content.path} failed: {err}") from err
        findings: list[Finding] = []
        secret_rules: list[yara_x.Rule] = []
        for rule in results.matching_rules:
            if rule.namespace == "secrets":
                secret_rules.append(rule)
            else:
                findings.append(self._malware(rule, content))
        if secret_rules and _NOT_SECRETS_RE.match(content.path) is None:
            findings.extend(self._secrets(secret_rules, content))
        return findings

    def _secrets(self, rules: list[yara_x.Rule], content: FileContent) -> list[Finding]:
        """Validated secrets; where matches overlap, the most specific one wins, so a value is
        one finding (a GitHub token, not also a generic ``TOKEN=`` assignment)."""
        hits: list[_Hit] = []
        claimed: list[tuple[int, int]] = []
        for rule in rules:
            pattern = SECRET_PATTERNS[int(rule.identifier[1:])]
            if content.compiled and (pattern is PEM_KEY or not pattern.in_binaries):
                continue  # crypto libraries embed self-test keys; strings tables are not config
            count = 0
            for pat in rule.patterns:
                for match in pat.matches:
                    if count >= _MAX_FINDINGS_PER_RULE:
                        break
                    start, end = match.offset, match.offset + match.length
                    if pattern.specificity > Specificity.GENERIC:
                        claimed.append((start, end))
                    verdict = pattern.validate(content.data, start, content.data[start:end])
                    if verdict is None:
                        continue
                    count += 1
                    if verdict.extent is not None:
                        claimed.append(verdict.extent)
                    reach = verdict.extent or (start, end)
                    found = content.data.find(verdict.secret, *reach) if verdict.secret else -1
                    span = (found, found + len(verdict.secret)) if found >= 0 else reach
                    hits.append(_Hit(pattern, verdict, span, reach[1] - reach[0]))
        return [self._finding(hit, content) for hit in _most_specific(hits, claimed)]

    def _finding(self, hit: _Hit, content: FileContent) -> Finding:
        host_key = _HOST_KEYS_RE.match(content.path) is not None
        base = HOST_KEY_RULE if host_key and hit.pattern is PEM_KEY else hit.pattern.rule
        offset = hit.span[0]
        return base.finding(
            content.path,
            hit.verdict.evidence,
            line=line_of(content.data, offset) if content.offset == 0 else None,
            offset=content.offset + offset,
            severity=None if base is HOST_KEY_RULE else hit.verdict.severity,
            title=None if base is HOST_KEY_RULE else hit.verdict.title,
            secret=hit.verdict.secret,
        )

    def _malware(self, rule: yara_x.Rule, content: FileContent) -> Finding:
        meta = _meta(rule)
        builtin = rule.namespace == "malware"
        first = min((m.offset for p in rule.patterns for m in p.matches), default=0)
        described = malware_rule(rule.identifier, meta, builtin=builtin)
        return described.finding(
            content.path,
            f"YARA rule {rule.identifier} matched at byte {content.offset + first}",
            offset=content.offset + first,
        )


__all__ = ["HOST_KEY_RULE", "ContentRules", "ContentScanner", "RuleLoadError", "compile_rules"]
