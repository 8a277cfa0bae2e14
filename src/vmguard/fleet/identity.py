"""What decides that an image is unchanged, and the versions a stored result depends on.

An image is *unchanged* when, for its own file and every backing file it pulled in last
time, size, mtime, ctime, inode and device all match what was stored (``FileState``): a
``stat`` per file, no read. ctime is included because it cannot be set from user space:
``touch -d`` can put mtime back, but a write always moves ctime. When any of those differ
the image's *content digest* is computed: the BLAKE3 Merkle root of the guest-visible disk
(``vmguard.integrity.merkle.hash_source``, the digest ``vmguard sign`` uses), which depends
only on the bytes the guest sees, so a ``touch``, a copy or a re-compression leaves it equal
and the scan is skipped all the same. Results are reused only while the rule version (the
vmguard version and a hash of the rule table, YARA sources and result-changing options) is
the one they were made with.

This module must never read guest files; it reads container data only to hash it.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import blake3

from vmguard import __version__
from vmguard.checks.content import secrets_source
from vmguard.checks.registry import all_rules
from vmguard.disk.image import OpenedImage
from vmguard.integrity.merkle import hash_source
from vmguard.scanning import ScanOptions
from vmguard.vulns.index import AdvisoryIndex


@dataclass(frozen=True, slots=True)
class FileState:
    """The ``stat`` facts of one host file that say it was not written since."""

    path: str
    size: int
    mtime_ns: int
    ctime_ns: int
    inode: int
    device: int

    def to_json(self) -> list[object]:
        """A compact JSON form for the database."""
        return [self.path, self.size, self.mtime_ns, self.ctime_ns, self.inode, self.device]

    @classmethod
    def from_json(cls, value: list[object]) -> FileState:
        """The inverse of ``to_json``."""
        path, size, mtime, ctime, inode, device = value
        return cls(
            str(path),
            int(str(size)),
            int(str(mtime)),
            int(str(ctime)),
            int(str(inode)),
            int(str(device)),
        )


def file_state(path: str | Path) -> FileState:
    """The current state of one file (raises ``OSError`` when it is gone)."""
    st = os.stat(path)
    return FileState(str(path), st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)


def unchanged_on_disk(stored: tuple[FileState, ...]) -> bool:
    """Whether every file stored for an image still has the same state (``stat`` only)."""
    if not stored:
        return False
    try:
        return all(file_state(s.path) == s for s in stored)
    except OSError:
        return False


def content_digest(image: OpenedImage) -> str:
    """The guest-visible content digest: Merkle roots of every disk, in order, combined."""
    combined = blake3.blake3()
    for disk in image.disks:
        digest = hash_source(disk.disk)
        combined.update(digest.size.to_bytes(8, "big"))
        combined.update(digest.root)
    return "merkle-blake3:" + combined.hexdigest()


def rule_version(options: ScanOptions) -> str:
    """The vmguard version plus a hash of everything that decides a scan's findings."""
    h = hashlib.sha256()
    for rule in all_rules():
        h.update(
            repr(
                (
                    rule.rule_id,
                    rule.title,
                    rule.severity.value,
                    rule.threat.value,
                    rule.remediation,
                    rule.references,
                )
            ).encode()
        )
    h.update(secrets_source().encode())
    data = resources.files("vmguard.data")
    for name in ("malware.yar", "weak-passwords.txt", "secret-rules.toml"):
        h.update(data.joinpath(name).read_bytes())
    for directory in options.yara_dirs:
        for path in sorted(directory.rglob("*")):
            if path.suffix.lower() in (".yar", ".yara") and path.is_file():
                h.update(str(path.relative_to(directory)).encode() + b"\0")
                h.update(path.read_bytes())
    h.update(f"deleted={options.deleted};max_file_bytes={options.max_file_bytes}".encode())
    return f"{__version__}+{h.hexdigest()[:16]}"


def vulns_version(index: AdvisoryIndex) -> str:
    """What identifies the advisory index's content: changes with every import that did."""
    status = index.status()
    text = f"{status.advisories};{status.imports};{status.last_import};{status.newest_modified}"
    return "osv:" + hashlib.sha256(text.encode()).hexdigest()[:16]
