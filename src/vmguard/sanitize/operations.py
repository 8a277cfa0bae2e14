"""What a sanitize operation is, and how its declared path rules become planned changes.

Most operations are "these paths: remove / empty / clear" (the catalogue is in
``catalogue``); the few that need reasoning (accounts, host keys, secret findings) are
functions in their own modules. Paths may use
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


def plan_operations(ctx: Context, operations: tuple[Operation, ...]) -> None:
    """Plan every selected operation into ``ctx.plan``."""
    for operation in operations:
        apply_path_rules(ctx, operation)
        if operation.custom is not None:
            operation.custom(ctx, operation.name)
