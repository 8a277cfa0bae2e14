"""Real btrfs images for the btrfs reader's tests, built by btrfs-progs and the kernel.

``mkfs.btrfs --rootdir`` copies a source tree without mounting anything. What this
btrfs-progs (6.2) cannot do offline — compression, subvolumes, snapshots, reflinks,
preallocation — is done by the kernel through a loop mount of the *test's own* image, when
the machine allows loop mounts (root, loop devices); otherwise those tests skip visibly.
vmguard itself never mounts: the mount only writes the fixture.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import random
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from vmguard.disk.guestfs import GuestFS

MiB = 1024 * 1024
_WORDS = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india")


def run(*cmd: str | Path) -> str:
    """Run a tool, failing loudly with its stderr."""
    done = subprocess.run([str(c) for c in cmd], capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"{cmd[0]} failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout


def _text(rng: random.Random, size: int) -> bytes:
    words = []
    total = 0
    while total < size:
        word = rng.choice(_WORDS) + (" " if rng.random() < 0.9 else "\n")
        words.append(word)
        total += len(word)
    return "".join(words).encode()[:size]


def make_source_tree(root: Path, *, seed: int = 14) -> Path:
    """A tree exercising every file shape: inline and multi-extent files, compressible and
    random data, sparse files, symlinks, hard links, xattrs, odd modes and owners, a large
    directory (several leaves) and a deep one."""
    rng = random.Random(seed)
    root.mkdir(parents=True)
    sizes = (0, 1, 100, 2047, 2048, 2049, 4095, 4096, 4097, 65539, 131072, 131073, 1048581)
    for size in sizes:
        (root / f"random-{size}").write_bytes(rng.randbytes(size))
        (root / f"text-{size}").write_bytes(_text(rng, size))
    (root / "big-random").write_bytes(rng.randbytes(3 * MiB + 7))
    (root / "big-text").write_bytes(_text(rng, 2 * MiB + 11))
    with open(root / "sparse", "wb") as f:
        f.seek(5 * MiB)
        f.write(b"middle of a sparse file")
        f.truncate(9 * MiB)
    with open(root / "sparse-head", "wb") as f:
        f.seek(300_000)
        f.write(rng.randbytes(70_000))
    many = root / "many"
    many.mkdir()
    for i in range(600):
        (many / f"entry-{i:04d}.txt").write_bytes(_text(rng, rng.randrange(0, 900)))
    deep = root
    for level in range(24):
        deep = deep / f"level{level}"
    deep.mkdir(parents=True)
    (deep / "bottom.txt").write_text("at the bottom\n")
    (root / "café au lait.txt").write_text("unicode and spaces\n")
    os.symlink("random-100", root / "link-relative")
    os.symlink("/etc/shadow", root / "link-absolute")
    os.symlink("does/not/exist", root / "link-dangling")
    os.symlink("x" * 300, root / "link-long")
    (root / "hard").mkdir()
    os.link(root / "text-4097", root / "hard" / "second-name")
    secret = root / "secret.key"
    secret.write_bytes(_text(rng, 777))
    os.chmod(secret, 0o600)
    os.chown(secret, 1000, 1000)
    suid = root / "suid-tool"
    suid.write_bytes(rng.randbytes(5000))
    os.chmod(suid, 0o4755)
    sticky = root / "tmp"
    sticky.mkdir()
    os.chmod(sticky, 0o1777)
    os.chown(root / "many", 65534, 100)
    os.mkfifo(root / "fifo")
    os.setxattr(root / "text-100", "user.comment", b"an extended attribute")
    os.setxattr(root / "hard", "user.dir-note", b"\x00binary\xff")
    return root


def expected_entries(tree: Path) -> dict[str, tuple[int, int, int, int, str]]:
    """guest path -> (mode, uid, gid, mtime, sha256 / link target / "") of a source tree."""
    found: dict[str, tuple[int, int, int, int, str]] = {}
    for dirpath, dirnames, filenames in os.walk(tree):
        for name in dirnames + filenames:
            full = Path(dirpath) / name
            info = full.lstat()
            what = ""
            if stat.S_ISREG(info.st_mode):
                what = hashlib.sha256(full.read_bytes()).hexdigest()
            elif stat.S_ISLNK(info.st_mode):
                what = os.readlink(full)
            path = "/" + full.relative_to(tree).as_posix()
            found[path] = (info.st_mode, info.st_uid, info.st_gid, int(info.st_mtime), what)
    return found


def guest_entries(
    guestfs: GuestFS, top: str = "/", *, skip: tuple[str, ...] = ()
) -> dict[str, tuple[int, int, int, int, str]]:
    """The same view of what vmguard reads below ``top`` (paths relative to it)."""
    found: dict[str, tuple[int, int, int, int, str]] = {}
    base = "" if top == "/" else top
    for entry in guestfs.walk(top):
        rel = entry.path[len(base) :]
        if rel.split("/")[1] in skip:
            continue
        info = entry.stat
        what = ""
        if stat.S_ISREG(info.mode):
            data = guestfs.read_node(entry.mount, entry.node, 0, info.size)
            what = hashlib.sha256(data).hexdigest()
        elif stat.S_ISLNK(info.mode):
            what = entry.mount.fs.readlink(entry.node) or ""
        found[rel] = (info.mode, info.uid, info.gid, info.mtime, what)
    return found


def mkfs_btrfs(tree: Path | None, image: Path, *options: str, size: int = 256 * MiB) -> Path:
    """``mkfs.btrfs [--rootdir tree]`` on a fresh sparse file."""
    with open(image, "wb") as f:
        f.truncate(size)
    rootdir = ("--rootdir", str(tree)) if tree is not None else ()
    run("mkfs.btrfs", "-q", "-f", *options, *rootdir, image)
    return image


@functools.cache
def loop_mount_problem() -> str | None:
    """Why loop mounts cannot be used here, or None when they work."""
    if os.geteuid() != 0:
        return "loop mounts need root"
    with tempfile.TemporaryDirectory() as work:
        image = mkfs_btrfs(None, Path(work) / "probe.img", size=128 * MiB)
        try:
            with loop_mounted(image):
                pass
        except RuntimeError as err:
            return f"loop mount unavailable: {err}"
    return None


@contextlib.contextmanager
def loop_mounted(image: Path, options: str = "") -> Iterator[Path]:
    """The test's own image mounted read-write by the kernel, unmounted afterwards."""
    with tempfile.TemporaryDirectory() as where:
        opts = "loop" + (f",{options}" if options else "")
        run("mount", "-t", "btrfs", "-o", opts, image, where)
        try:
            yield Path(where)
        finally:
            run("sync")
            run("umount", where)


def copy_tree(tree: Path, target: Path) -> None:
    """``cp -a`` the content of ``tree`` into ``target`` (owners, modes, xattrs kept)."""
    run("cp", "-a", "--sparse=always", f"{tree}/.", str(target))
