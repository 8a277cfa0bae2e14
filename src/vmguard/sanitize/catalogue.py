"""The named sanitize operations (``vmguard sanitize --list``), in the order they run.

Declared as data wherever a path list says it all; ``custom`` names the function for the
rest. This is the one place operations are listed (no discovery).
"""

from __future__ import annotations

import fnmatch

from vmguard.findings import Rule
from vmguard.sanitize.accounts import lock_passwords, remove_host_keys
from vmguard.sanitize.operations import Action, Context, Operation, PathRule
from vmguard.sanitize.rules import (
    FINDING_REMOVED,
    NO_HOST_KEY_REGENERATION,
    NOT_CHANGED,
    ZERO_FREE_SPACE,
)
from vmguard.sanitize.secrets import remove_secret_findings

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


def operations_listed(spec: str | None) -> tuple[Operation, ...]:
    """The operations a comma-separated list names, as ``--operations`` gives them (all for
    None); unknown names raise ValueError."""
    if spec is None:
        return select_operations(None)
    return select_operations([name.strip() for name in spec.split(",") if name.strip()])
