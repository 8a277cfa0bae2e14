"""The libvirt launch gate: a qemu hook that refuses to start unsigned or modified VMs.

libvirt runs ``/etc/libvirt/hooks/qemu NAME OPERATION SUBOPERATION EXTRA`` with the domain
XML on stdin; a non-zero exit at ``prepare begin`` aborts the start and libvirt puts the
hook's stderr in its error. The installed script runs any hook that was there before first
(kept beside it as ``qemu.vmguard-chained``, same arguments, same XML) and then, at
``prepare begin`` only, ``vmguard gate check``.

``check_domain`` verifies every disk the domain names and the domain definition itself
against ``SIGNATURES/NAME.dsse.json``. Those disks are the only host paths opened because a
document named them: that is the gate's purpose. Backing files still go through the disk
layer's policy, and a disk vmguard cannot read as a file (block, network) is refused.

Installing never deletes a hook it did not write; tests pass a temporary hook path.
"""

from __future__ import annotations

import os
import re
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

from vmguard.integrity.domain import DomainSpec, parse_domain
from vmguard.integrity.errors import IntegrityError
from vmguard.integrity.trust import TrustStore
from vmguard.integrity.verify import DefinitionInput, VerifiedBundle, VerifyOptions, verify_parts

DEFAULT_HOOK = Path("/etc/libvirt/hooks/qemu")
DEFAULT_SIGNATURES = Path("/etc/vmguard/signatures")
MARKER = "# vmguard launch gate"
CHAINED_SUFFIX = ".vmguard-chained"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,199}$")


class GateError(IntegrityError):
    """The gate cannot be installed, or a domain cannot be checked (refused to start)."""


@dataclass(frozen=True, slots=True)
class GateConfig:
    """What the installed hook passes to ``vmguard gate check``."""

    trust_dirs: tuple[Path, ...]
    signatures: Path = DEFAULT_SIGNATURES
    allowed_dirs: tuple[Path, ...] = ()
    python: str = sys.executable


def hook_script(config: GateConfig, chained: Path) -> str:
    """The shell script installed as the qemu hook."""
    q = shlex.quote
    args = [q(config.python), "-m", "vmguard", "gate", "check"]
    for d in config.trust_dirs:
        args += ["--trust", q(str(d.resolve()))]
    args += ["--signatures", q(str(config.signatures.resolve()))]
    for d in config.allowed_dirs:
        args += ["--allow-dir", q(str(d.resolve()))]
    check = " ".join(args)
    return f"""#!/bin/sh
{MARKER}: installed by `vmguard gate install`; `vmguard gate uninstall` restores the hook
# that was here before (kept at {chained}) and runs first, with the same arguments and XML.
set -u
xml=$(mktemp) || exit 1
trap 'rm -f "$xml"' EXIT
cat > "$xml" || exit 1
if [ -x {q(str(chained))} ]; then
    {q(str(chained))} "$@" < "$xml" || exit $?
fi
if [ "${{2:-}}" = prepare ] && [ "${{3:-}}" = begin ]; then
    {check} --domain-name "${{1:-}}" < "$xml"
    exit $?
fi
exit 0
"""


def _is_ours(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return MARKER.encode() in fh.read(4096)
    except OSError:
        return False


@dataclass(frozen=True, slots=True)
class Installed:
    """What ``install`` did."""

    hook: Path
    chained: Path | None
    """Where the previous hook now lives (it still runs first), if there was one."""


def install(config: GateConfig, hook: Path = DEFAULT_HOOK) -> Installed:
    """Install (or update) the gate at ``hook``, chaining a foreign hook already there."""
    chained = hook.with_name(hook.name + CHAINED_SUFFIX)
    try:
        hook.parent.mkdir(parents=True, exist_ok=True)
        if (hook.exists() or hook.is_symlink()) and not _is_ours(hook):
            if chained.exists() or chained.is_symlink():
                raise GateError(f"{hook} is not vmguard's and {chained} already exists")
            os.rename(hook, chained)
        temp = hook.with_name(f".{hook.name}.vmguard-{os.getpid()}")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o755)
        with os.fdopen(fd, "w") as fh:
            fh.write(hook_script(config, chained))
        os.rename(temp, hook)
    except OSError as err:
        raise GateError(f"cannot install the hook at {hook}: {err}") from err
    return Installed(hook, chained if chained.exists() else None)


def uninstall(hook: Path = DEFAULT_HOOK) -> Installed:
    """Remove the gate and put the chained hook back; refuses a hook vmguard did not write."""
    chained = hook.with_name(hook.name + CHAINED_SUFFIX)
    if not hook.exists():
        raise GateError(f"no hook at {hook}")
    if not _is_ours(hook):
        raise GateError(f"{hook} is not vmguard's launch gate; leaving it alone")
    try:
        os.unlink(hook)
        if chained.exists():
            os.rename(chained, hook)
            return Installed(hook, None)
    except OSError as err:
        raise GateError(f"cannot uninstall the hook at {hook}: {err}") from err
    return Installed(hook, None)


def signature_path(signatures: Path, domain: DomainSpec) -> Path:
    """Where the gate looks for a domain's signature."""
    if not _NAME.match(domain.name):
        raise GateError(f"domain name {domain.name[:80]!r} is not a safe file name")
    return signatures / f"{domain.name}.dsse.json"


def domain_disks(domain: DomainSpec) -> list[Path]:
    """The disk files to verify, in XML order; refuses disks vmguard cannot read as files."""
    paths = []
    for disk in domain.disks:
        if disk.path is None and disk.source_type == "file":
            continue  # an empty CD-ROM/floppy drive: nothing runs from it
        if disk.source_type != "file" or disk.path is None:
            raise GateError(
                f"disk {disk.target} is a {disk.source_type} disk; the gate verifies file disks"
            )
        if not os.path.isabs(disk.path):
            raise GateError(f"disk {disk.target} path is not absolute")
        if not os.path.isfile(disk.path):
            raise GateError(f"disk {disk.target}: no such file {disk.path[:200]!r}")
        paths.append(Path(disk.path))
    return paths


def check_domain(
    xml: bytes,
    config_trust: TrustStore,
    signatures: Path,
    options: VerifyOptions,
    *,
    expected_name: str | None = None,
) -> VerifiedBundle:
    """Verify a domain about to start; raise (refuse) or return (allow).

    ``expected_name`` is the name libvirt passed as the hook's first argument.
    """
    domain = parse_domain(xml)
    if expected_name is not None and expected_name != domain.name:
        raise GateError(f"hook called for {expected_name!r} with the XML of {domain.name!r}")
    sig_path = signature_path(signatures, domain)
    try:
        with open(sig_path, "rb") as fh:
            envelope = fh.read(256 * 1024 * 1024 + 1)
    except FileNotFoundError as err:
        raise GateError(f"domain {domain.name} is not signed (no {sig_path})") from err
    except OSError as err:
        raise GateError(f"{sig_path}: {err.strerror}") from err
    definition = DefinitionInput("domain XML", "libvirt", xml)
    return verify_parts(domain_disks(domain), [definition], envelope, config_trust, options)
