"""The effective sshd configuration: Include honoured, first value wins, Match blocks apart.

Reads /etc/ssh/sshd_config through the guest view only; Include globs are expanded inside
the guest (relative names are under /etc/ssh), with depth and file-count bounds. What the
bounds leave unread is reported (``SshdConfigPartlyRead``, after the findings), never dropped.
"""

from __future__ import annotations

import fnmatch
import posixpath
from collections.abc import Iterable
from dataclasses import dataclass, field

from vmguard.errors import VmguardError
from vmguard.findings import Finding, Rule, Severity, Threat
from vmguard.guest.facts import GuestFacts
from vmguard.guest.view import GuestFileTooLarge, GuestView
from vmguard.problems import Problem, Stage

_MAX_FILE = 1024 * 1024
_MAX_FILES = 64
_MAX_DEPTH = 8
_WEAK = Threat.WEAK_CONFIGURATION
_REFS = ("https://man.openbsd.org/sshd_config",)

ROOT_LOGIN = Rule(
    "ssh.root-login",
    "sshd allows root to log in with a password",
    Severity.HIGH,
    _WEAK,
    "Set PermitRootLogin prohibit-password (or no) and log in as an unprivileged user.",
    _REFS,
    rationale=(
        "Password logins as root let a guessed or leaked password take the whole machine in one "
        "step, with nothing in the logs but root."
    ),
)
PASSWORD_AUTH = Rule(
    "ssh.password-authentication",
    "sshd accepts password authentication",
    Severity.MEDIUM,
    _WEAK,
    "Set PasswordAuthentication no (and KbdInteractiveAuthentication no); use keys.",
    _REFS,
    rationale=(
        "Password authentication exposes every account to online guessing and credential stuffing; "
        "keys cannot be guessed."
    ),
)
EMPTY_PASSWORDS = Rule(
    "ssh.empty-passwords",
    "sshd accepts empty passwords",
    Severity.CRITICAL,
    _WEAK,
    "Set PermitEmptyPasswords no.",
    _REFS,
    rationale=(
        "With empty passwords permitted, any account without a password is reachable over the "
        "network with no secret at all."
    ),
)

# OpenSSH's compiled-in defaults for the keywords checked here (OpenSSH >= 7.0).
DEFAULTS = {
    "permitrootlogin": "prohibit-password",
    "passwordauthentication": "yes",
    "permitemptypasswords": "no",
}


@dataclass
class EffectiveConfig:
    """Global values (first one wins) and where each came from; Match-block values apart."""

    values: dict[str, tuple[str, str, int]] = field(default_factory=dict)
    """keyword -> (value, file, line) for the global section."""
    conditional: list[tuple[str, str, str, int, str]] = field(default_factory=list)
    """(keyword, value, file, line, match criteria) set inside Match blocks."""
    problems: list[Problem] = field(default_factory=list)
    """Files a bound left unread."""


class SshdConfigPartlyRead(VmguardError):
    """Part of the sshd configuration was not read (too large, too many Includes)."""


def _read(view: GuestView, path: str, config: EffectiveConfig) -> str | None:
    try:
        data = view.read_file(path, _MAX_FILE)
    except GuestFileTooLarge:
        config.problems.append(
            Problem(Stage.CONTENT, path, f"larger than {_MAX_FILE} bytes; not read")
        )
        return None
    return None if data is None else data.decode("utf-8", "replace")


def _expand(view: GuestView, pattern: str) -> list[str]:
    if not pattern.startswith("/"):
        pattern = posixpath.join("/etc/ssh", pattern)
    directory, name = posixpath.split(pattern)
    if not any(ch in name for ch in "*?["):
        return [pattern]
    return [
        posixpath.join(directory, n)
        for n in sorted(view.list_dir(directory) or [])
        if fnmatch.fnmatch(n, name)
    ]


def effective_config(view: GuestView, path: str = "/etc/ssh/sshd_config") -> EffectiveConfig | None:
    """Parse sshd's configuration as sshd does; None when the file does not exist.

    Raises SshdConfigPartlyRead when the file itself is beyond the size bound."""
    config = EffectiveConfig()
    text = _read(view, path, config)
    if config.problems:
        raise SshdConfigPartlyRead(str(config.problems[0]))
    if text is None:
        return None
    files = [0]
    match: list[str] = [""]

    def parse(name: str, body: str, depth: int) -> None:
        for number, raw in enumerate(body.splitlines(), 1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            key, _, rest = line.replace("=", " ", 1).partition(" ")
            keyword, value = key.lower(), rest.strip().strip('"')
            if keyword == "include":
                for pattern in value.split():
                    for included in _expand(view, pattern):
                        files[0] += 1
                        if depth >= _MAX_DEPTH or files[0] > _MAX_FILES:
                            config.problems.append(
                                Problem(
                                    Stage.CONTENT,
                                    included,
                                    f"Include beyond {_MAX_DEPTH} levels or {_MAX_FILES} "
                                    "files; not read",
                                )
                            )
                            return
                        inner = _read(view, included, config)
                        if inner is not None:
                            parse(included, inner, depth + 1)
                continue
            if keyword == "match":
                match[0] = "" if value.lower() == "all" else value
                continue
            if match[0]:
                config.conditional.append((keyword, value, name, number, match[0]))
            else:
                config.values.setdefault(keyword, (value, name, number))

    parse(path, text, 0)
    return config


class SshdChecks:
    """``GuestCheck`` over the effective sshd configuration."""

    rules: tuple[Rule, ...] = (ROOT_LOGIN, PASSWORD_AUTH, EMPTY_PASSWORDS)

    def check(self, view: GuestView, facts: GuestFacts) -> Iterable[Finding]:
        """Findings for the settings that weaken SSH logins."""
        config = effective_config(view)
        if config is None:
            return
        checks = (
            ("permitrootlogin", {"yes"}, ROOT_LOGIN),
            ("passwordauthentication", {"yes"}, PASSWORD_AUTH),
            ("permitemptypasswords", {"yes"}, EMPTY_PASSWORDS),
        )
        for keyword, bad, rule in checks:
            value, where, line = config.values.get(keyword, (DEFAULTS[keyword], "", 0))
            if value.lower() in bad:
                origin = f"{where}:{line}" if where else "OpenSSH default (not set)"
                yield rule.finding(
                    where or "/etc/ssh/sshd_config",
                    f"{keyword} {value} ({origin})",
                    line=line or None,
                )
            for kw, cvalue, cwhere, cline, criteria in config.conditional:
                if kw == keyword and cvalue.lower() in bad:
                    yield rule.finding(
                        cwhere, f"{keyword} {cvalue} for Match {criteria}", line=cline
                    )
        if config.problems:
            raise SshdConfigPartlyRead("; ".join(str(p) for p in config.problems[:5]))
