"""Operations on the guest's identity: SSH host keys and password hashes.

Host keys are removed; whether the guest will make new ones at first boot is read from its
own unit files and cloud-init, and a warning is raised when nothing will. Password hashes
are locked the way ``passwd -l`` does it (a ``!`` in front), never deleted, so the accounts
and their ages stay as they were.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vmguard.guest.view import GuestFileTooLarge
from vmguard.sanitize.rules import NO_HOST_KEY_REGENERATION

if TYPE_CHECKING:
    from vmguard.sanitize.operations import Context

_UNIT_DIRS = ("/etc/systemd/system", "/usr/lib/systemd/system", "/lib/systemd/system")
_UNIT_LIMIT = 256 * 1024
_REGENERATORS = (b"ssh-keygen -A", b"sshd-keygen", b"ssh-keygen\x00-A")


def remove_host_keys(ctx: Context, name: str) -> None:
    """Remove /etc/ssh/ssh_host_* and warn when nothing in the guest regenerates them."""
    plan = ctx.plan
    removed = 0
    for entry in plan.fs.list_dir("/etc/ssh") or []:
        if entry.startswith("ssh_host_") and plan.remove(name, f"/etc/ssh/{entry}"):
            removed += 1
    if removed == 0:
        return
    how = host_key_regeneration(ctx)
    if how is None:
        ctx.notes.append(
            NO_HOST_KEY_REGENERATION.finding(
                "/etc/ssh",
                "no systemd unit runs ssh-keygen -A or sshd-keygen, and cloud-init is absent",
            )
        )


def host_key_regeneration(ctx: Context) -> str | None:
    """What regenerates SSH host keys at boot (a unit file or cloud-init), or None."""
    fs = ctx.plan.fs
    if fs.stat("/etc/cloud/cloud.cfg") is not None and (
        fs.stat("/usr/bin/cloud-init") is not None or fs.stat("/bin/cloud-init") is not None
    ):
        return "cloud-init"
    for directory in _UNIT_DIRS:
        for unit in fs.list_dir(directory) or []:
            if "ssh" not in unit or not unit.endswith((".service", ".conf")):
                continue
            try:
                text = fs.read_file(f"{directory}/{unit}", _UNIT_LIMIT)
            except GuestFileTooLarge:
                continue
            if text is not None and any(r in text for r in _REGENERATORS):
                return f"{directory}/{unit}"
    return None


def lock_shadow(data: bytes) -> tuple[bytes, list[str]]:
    """``data`` (a shadow file) with every usable or empty password locked; the user names."""
    out: list[bytes] = []
    locked: list[str] = []
    for line in data.split(b"\n"):
        parts = line.split(b":")
        if len(parts) >= 2 and parts[0] and not line.startswith((b"#", b"+", b"-")):
            field = parts[1]
            if not field.startswith((b"!", b"*")):
                parts[1] = b"!" + field
                locked.append(parts[0].decode("utf-8", "replace"))
                out.append(b":".join(parts))
                continue
        out.append(line)
    return b"\n".join(out), locked


def lock_passwords(ctx: Context, name: str) -> None:
    """Lock every password hash (and empty password) in /etc/shadow."""

    def change(data: bytes) -> tuple[bytes, str]:
        new, users = lock_shadow(data)
        shown = ", ".join(users[:20]) + (" ..." if len(users) > 20 else "")
        return new, f"locked: {shown}"

    ctx.plan.rewrite(name, "/etc/shadow", change)
