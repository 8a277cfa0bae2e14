"""The named sanitize operations (``vmguard sanitize --list``), declared as data.

Most operations are "these paths: remove / empty / clear"; the few that need reasoning
(accounts, host keys, secret findings) are functions in their own modules. Paths may use
``{home}`` (every login user's home, root's included) and shell wildcards in any component,
matched against what the guest's directories hold (never the host's).
"""

from __future__ import annotations

import fnmatch
import stat as st
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum

from vmguard.disk.guestfs import split_guest_path
from vmguard.findings import Finding, Rule
from vmguard.guest.facts import GuestFacts
from vmguard.sanitize.plan import Plan
from vmguard.sanitize.rules import operation_rule

MAX_GLOB_MATCHES = 10_000


class Action(StrEnum):
    """What a path rule does to what it matches."""

    REMOVE = "remove"
    TRUNCATE = "truncate"
    CLEAR = "clear"
    """Remove everything below a directory, keeping the directory."""


@dataclass(frozen=True, slots=True)
class PathRule:
    """A guest path pattern and what happens to the matching entries."""

    pattern: str
    action: Action
    recursive: bool = False
    """With TRUNCATE/REMOVE on a directory pattern: every file below it."""


@dataclass(frozen=True, slots=True)
class Context:
    """What an operation may use to plan its changes."""

    plan: Plan
    facts: GuestFacts | None
    findings: tuple[Finding, ...]
    """The scan of the image being sanitized (policy applied)."""
    notes: list[Finding] = field(default_factory=list)
    """Warnings an operation raises (e.g. nothing will regenerate SSH host keys)."""


@dataclass(frozen=True, slots=True)
class Operation:
    """One named cleaning step."""

    name: str
    title: str
    paths: tuple[PathRule, ...] = ()
    custom: Callable[[Context, str], None] | None = field(default=None, compare=False)

    @property
    def rule(self) -> Rule:
        """The info rule this operation's changes are reported under."""
        return operation_rule(self.name, self.title)


def homes(ctx: Context) -> list[str]:
    """Home directories of root and of login users (uid 1000 up to 60000), and /home/*."""
    found = ["/root"]
    if ctx.facts is not None:
        found += [u.home for u in ctx.facts.users if u.uid == 0 or 1000 <= u.uid < 60000]
    found += [f"/home/{n}" for n in ctx.plan.fs.list_dir("/home") or []]
    unique: list[str] = []
    for home in found:
        canonical = "/" + "/".join(split_guest_path(home))
        if home.startswith("/") and canonical != "/" and canonical not in unique:
            unique.append(canonical)
    return unique


def expand(ctx: Context, pattern: str) -> Iterator[str]:
    """Guest paths matching ``pattern`` (``{home}`` and wildcards; nothing outside the guest)."""
    bases = homes(ctx) if pattern.startswith("{home}") else ["/"]
    rest = split_guest_path(pattern.removeprefix("{home}"))
    count = 0
    for base in bases:
        paths = [base]
        for part in rest:
            nxt: list[str] = []
            for path in paths:
                if not any(c in part for c in "*?["):
                    nxt.append(path.rstrip("/") + "/" + part)
                    continue
                for name in ctx.plan.fs.list_dir(path) or []:
                    if fnmatch.fnmatchcase(name, part):
                        nxt.append(path.rstrip("/") + "/" + name)
            paths = nxt
        for path in paths:
            count += 1
            if count > MAX_GLOB_MATCHES:
                return
            yield path


def apply_path_rules(ctx: Context, operation: Operation) -> None:
    """Plan an operation's declared path rules."""
    plan = ctx.plan
    for rule in operation.paths:
        for path in expand(ctx, rule.pattern):
            info = plan.fs.stat(path, follow=False)
            if info is None:
                continue
            if rule.action is Action.CLEAR:
                plan.clear_dir(operation.name, path)
            elif st.S_ISDIR(info.mode) and rule.recursive:
                for file in plan.files(path, recursive=True):
                    _one(plan, operation.name, rule.action, file)
            elif not st.S_ISDIR(info.mode):
                _one(plan, operation.name, rule.action, path)


def _one(plan: Plan, operation: str, action: Action, path: str) -> None:
    if action is Action.TRUNCATE:
        plan.truncate(operation, path)
    else:
        plan.remove(operation, path)


_ROTATED = ("*.gz", "*.xz", "*.bz2", "*.zst", "*.[0-9]", "*.old", "*-[0-9][0-9][0-9][0-9]*")


def _logs(ctx: Context, name: str) -> None:
    plan = ctx.plan
    for path in plan.files("/var/log", recursive=True):
        base = path.rsplit("/", 1)[-1]
        if any(fnmatch.fnmatchcase(base, p) for p in _ROTATED) or "/journal/" in path:
            plan.remove(name, path, "rotated or binary journal")
        else:
            plan.truncate(name, path)


def _catalogue() -> tuple[Operation, ...]:
    from vmguard.sanitize.accounts import lock_passwords, remove_host_keys
    from vmguard.sanitize.secrets import remove_secret_findings

    r, t, c = Action.REMOVE, Action.TRUNCATE, Action.CLEAR
    histories = (
        *(".bash_history", ".zsh_history", ".zhistory", ".sh_history", ".ash_history"),
        *(".history", ".python_history", ".psql_history", ".mysql_history", ".sqlite_history"),
        *(".lesshst", ".viminfo", ".node_repl_history", ".rediscli_history", ".dbshell"),
    )
    return (
        Operation("ssh-hostkeys", "SSH host keys removed", custom=remove_host_keys),
        Operation(
            "machine-id",
            "Machine id emptied",
            (PathRule("/etc/machine-id", t), PathRule("/var/lib/dbus/machine-id", r)),
        ),
        Operation(
            "histories",
            "Shell, database and PowerShell histories emptied",
            (
                *(PathRule("{home}/" + h, t) for h in histories),
                PathRule("{home}/.local/share/fish/fish_history", t),
                PathRule(
                    "/Users/*/AppData/Roaming/Microsoft/Windows/PowerShell/PSReadLine/*.txt", t
                ),
            ),
        ),
        Operation(
            "cloud-init",
            "cloud-init instance state removed",
            (
                PathRule("/var/lib/cloud/instances", c),
                PathRule("/var/lib/cloud/instance", r),
                PathRule("/var/lib/cloud/data", c),
                PathRule("/var/lib/cloud/sem", c),
            ),
        ),
        Operation("logs", "Logs emptied (rotated logs removed)", custom=_logs),
        Operation(
            "dhcp-leases",
            "DHCP leases removed",
            (
                PathRule("/var/lib/dhcp/*lease*", r),
                PathRule("/var/lib/dhclient/*", r),
                PathRule("/var/lib/dhcpcd/*lease*", r),
                PathRule("/var/lib/NetworkManager/*lease*", r),
                PathRule("/var/lib/systemd/netif/leases/*", r),
            ),
        ),
        Operation(
            "udev-persistent-net",
            "udev persistent network rules removed",
            (PathRule("/etc/udev/rules.d/70-persistent-net.rules", r),),
        ),
        Operation(
            "random-seed",
            "Random seeds and host credential secrets removed",
            (
                PathRule("/var/lib/systemd/random-seed", r),
                PathRule("/var/lib/urandom/random-seed", r),
                PathRule("/var/lib/random-seed", r),
                PathRule("/var/lib/systemd/credential.secret", r),
            ),
        ),
        Operation(
            "tmp-files",
            "Temporary files removed",
            (PathRule("/tmp", c), PathRule("/var/tmp", c)),  # noqa: S108 - guest paths
        ),
        Operation(
            "package-caches",
            "Package manager caches removed",
            (
                PathRule("/var/cache/apt/archives/*.deb", r),
                PathRule("/var/cache/apt/archives/partial", r, recursive=True),
                PathRule("/var/cache/apt/*.bin", r),
                PathRule("/var/cache/dnf", r, recursive=True),
                PathRule("/var/cache/yum", r, recursive=True),
                PathRule("/var/cache/zypp/packages", r, recursive=True),
                PathRule("/var/cache/apk/*", r),
            ),
        ),
        Operation(
            "crash-dumps",
            "Crash dumps removed",
            (
                PathRule("/var/crash", r, recursive=True),
                PathRule("/var/lib/systemd/coredump", r, recursive=True),
                PathRule("/var/spool/abrt", r, recursive=True),
            ),
        ),
        Operation(
            "mail-spools",
            "Mail spools emptied",
            (PathRule("/var/spool/mail/*", t), PathRule("/var/mail/*", t)),
        ),
        Operation(
            "windows-setup",
            "Windows answer files and setup logs removed",
            (
                PathRule("/unattend.xml", r),
                PathRule("/autounattend.xml", r),
                PathRule("/Windows/Panther/*.xml", r),
                PathRule("/Windows/Panther/*.log", r),
                PathRule("/Windows/Panther/Unattend/*.xml", r),
                PathRule("/Windows/System32/Sysprep/unattend.xml", r),
                PathRule("/Windows/System32/Sysprep/Panther/*", r),
                PathRule("/Windows/inf/setupapi*.log", r),
            ),
        ),
        Operation(
            "user-ssh-keys",
            "Login users' SSH keys and authorized_keys removed",
            (
                PathRule("{home}/.ssh/authorized_keys", r),
                PathRule("{home}/.ssh/authorized_keys2", r),
                PathRule("{home}/.ssh/id_*", r),
            ),
        ),
        Operation("password-hashes", "Password hashes locked ('!' prefix)", custom=lock_passwords),
        Operation(
            "secret-files",
            "Files carrying a secret finding removed (or the offending lines)",
            custom=remove_secret_findings,
        ),
    )


OPERATIONS: tuple[Operation, ...] = _catalogue()
"""Every operation, in the order they are planned (and listed)."""


def sanitize_rules() -> tuple[Rule, ...]:
    """Every rule ``vmguard sanitize`` reports under (its own; re-scan findings keep theirs)."""
    from vmguard.sanitize.rules import (
        FINDING_REMOVED,
        NO_HOST_KEY_REGENERATION,
        NOT_CHANGED,
        ZERO_FREE_SPACE,
    )

    return (
        *(o.rule for o in OPERATIONS),
        ZERO_FREE_SPACE,
        FINDING_REMOVED,
        NO_HOST_KEY_REGENERATION,
        NOT_CHANGED,
    )


def select_operations(names: list[str] | None) -> tuple[Operation, ...]:
    """The operations named (all when ``names`` is None); unknown names raise ValueError."""
    if names is None:
        return OPERATIONS
    known = {o.name: o for o in OPERATIONS}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"unknown operation {', '.join(unknown)} (see --list)")
    return tuple(o for o in OPERATIONS if o.name in names)


def plan_operations(ctx: Context, operations: tuple[Operation, ...]) -> None:
    """Plan every selected operation into ``ctx.plan``."""
    for operation in operations:
        apply_path_rules(ctx, operation)
        if operation.custom is not None:
            operation.custom(ctx, operation.name)
