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
from vmguard.inspection import ImageOptions, open_guest

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


FEDORA_BTRFS_UUID = "3e8f2a1c-7b6d-4c5e-9f0a-1b2c3d4e5f60"
FEDORA_BOOT_UUID = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
SUSE_BTRFS_UUID = "7c6b5a49-3827-4165-9e8d-7c6b5a493827"


def _linux_root(root: Path, *, os_release: str, hostname: str, fstab: str) -> Path:
    (root / "etc").mkdir(parents=True)
    (root / "usr/bin").mkdir(parents=True)
    os.symlink("usr/bin", root / "bin")
    (root / "etc/os-release").write_text(os_release)
    (root / "etc/hostname").write_text(hostname + "\n")
    (root / "etc/fstab").write_text(fstab)
    (root / "etc/passwd").write_text(
        "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000:Alice:/home/alice:/bin/bash\n"
    )
    (root / "etc/group").write_text("root:x:0:\nalice:x:1000:\n")
    (root / "usr/bin/bash").write_bytes(Path("/bin/sh").resolve().read_bytes())
    os.symlink("bash", root / "usr/bin/sh")
    return root


def _home_with_key(home: Path) -> Path:
    ssh = home / "alice/.ssh"
    ssh.mkdir(parents=True)
    run(
        "ssh-keygen",
        "-q",
        "-t",
        "ed25519",
        "-N",
        "",
        "-C",
        "alice@fedora",
        "-f",
        ssh / "id_ed25519",
    )
    for path in (home / "alice", ssh, ssh / "id_ed25519", ssh / "id_ed25519.pub"):
        os.chown(path, 1000, 1000)
    return home


def build_fedora_disk(work: Path) -> Path:
    """A Fedora-style disk: GPT, ext4 /boot, btrfs with ``root`` and ``home`` subvolumes
    (zstd-compressed as Fedora mounts them), fstab with ``subvol=``, a private key in /home.
    Also a ``home-snapshot`` snapshot and a reflinked copy, as real systems carry."""
    from vmguard.demo.imagebuild import LINUX_TYPE, PartitionSpec, assemble_gpt, make_ext4

    fstab = (
        f"UUID={FEDORA_BTRFS_UUID} / btrfs subvol=root,compress=zstd:1 0 0\n"
        f"UUID={FEDORA_BOOT_UUID} /boot ext4 defaults 1 2\n"
        f"UUID={FEDORA_BTRFS_UUID} /home btrfs subvol=home,compress=zstd:1 0 0\n"
    )
    os_release = (
        'NAME="Fedora Linux"\nVERSION="40 (Cloud Edition)"\nID=fedora\nVERSION_ID=40\n'
        'PRETTY_NAME="Fedora Linux 40 (Cloud Edition)"\nVARIANT_ID=cloud\n'
    )
    root = _linux_root(work / "root", os_release=os_release, hostname="fedora-btrfs", fstab=fstab)
    (root / "etc/notes.txt").write_text("kept in the root subvolume\n" * 200)
    home = _home_with_key(work / "home")
    boot = work / "boot"
    (boot / "loader/entries").mkdir(parents=True)
    (boot / "loader/entries/fedora.conf").write_text("title Fedora Linux 40\n")
    make_ext4(work / "boot.img", boot, 64 * MiB, label="boot", fs_uuid=FEDORA_BOOT_UUID)
    btrfs = mkfs_btrfs(None, work / "btrfs.img", "-L", "fedora", "-U", FEDORA_BTRFS_UUID)
    with loop_mounted(btrfs, "compress=zstd:1") as mnt:
        run("btrfs", "subvolume", "create", mnt / "root")
        run("btrfs", "subvolume", "create", mnt / "home")
        copy_tree(root, mnt / "root")
        copy_tree(home, mnt / "home")
        run("cp", "--reflink=always", mnt / "root/etc/notes.txt", mnt / "root/etc/notes.reflink")
        run("btrfs", "subvolume", "snapshot", mnt / "home", mnt / "home-snapshot")
        with open(mnt / "root/etc/notes.txt", "r+b") as f:
            f.write(b"CHANGED AFTER THE REFLINK")
        run("fallocate", "-l", "1M", mnt / "root/etc/preallocated")
    disk = work / "fedora.raw"
    assemble_gpt(
        disk,
        [
            PartitionSpec(
                work / "boot.img", LINUX_TYPE, "11111111-2222-4333-8444-555555555555", "boot"
            ),
            PartitionSpec(btrfs, LINUX_TYPE, "66666666-7777-4888-9999-aaaaaaaaaaaa", "fedora"),
        ],
        disk_guid="bbbbbbbb-cccc-4ddd-8eee-ffffffffffff",
    )
    return disk


def build_opensuse_disk(work: Path) -> Path:
    """An openSUSE-style btrfs (no partition table): the default subvolume set to
    ``@/.snapshots/1/snapshot``, ``@/home`` and ``@/.snapshots`` mounted by ``subvol=``."""
    fstab = (
        f"UUID={SUSE_BTRFS_UUID} / btrfs defaults 0 0\n"
        f"UUID={SUSE_BTRFS_UUID} /home btrfs subvol=/@/home 0 0\n"
        f"UUID={SUSE_BTRFS_UUID} /.snapshots btrfs subvol=/@/.snapshots 0 0\n"
    )
    os_release = (
        'NAME="openSUSE Leap"\nVERSION="15.6"\nID="opensuse-leap"\nVERSION_ID="15.6"\n'
        'PRETTY_NAME="openSUSE Leap 15.6"\nID_LIKE="suse opensuse"\n'
    )
    root = _linux_root(work / "root", os_release=os_release, hostname="suse-btrfs", fstab=fstab)
    (root / ".snapshots").mkdir()
    (root / "home").mkdir()
    home = _home_with_key(work / "home")
    image = mkfs_btrfs(None, work / "suse.raw", "-U", SUSE_BTRFS_UUID)
    with loop_mounted(image) as mnt:
        run("btrfs", "subvolume", "create", mnt / "@")
        run("btrfs", "subvolume", "create", mnt / "@/home")
        run("btrfs", "subvolume", "create", mnt / "@/.snapshots")
        (mnt / "@/.snapshots/1").mkdir()
        run("btrfs", "subvolume", "create", mnt / "@/.snapshots/1/snapshot")
        copy_tree(root, mnt / "@/.snapshots/1/snapshot")
        copy_tree(home, mnt / "@/home")
        (mnt / "@/.snapshots/1/info.xml").write_text("<snapshot><num>1</num></snapshot>\n")
        ident = run("btrfs", "subvolume", "show", mnt / "@/.snapshots/1/snapshot")
        number = next(line.split()[-1] for line in ident.splitlines() if "Subvolume ID" in line)
        run("btrfs", "subvolume", "set-default", number, mnt)
        # /.snapshots by subvolid= rather than subvol=, as some installers write it.
        snapshots = run("btrfs", "subvolume", "show", mnt / "@/.snapshots")
        ident = next(line.split()[-1] for line in snapshots.splitlines() if "Subvolume ID" in line)
        fstab_path = mnt / "@/.snapshots/1/snapshot/etc/fstab"
        fstab_path.write_text(fstab.replace("subvol=/@/.snapshots", f"subvolid={ident}"))
    return image


def physical_of(image: Path, logical: int) -> int:
    """Where ``btrfs-map-logical`` says a logical address lives (first mirror)."""
    out = run("btrfs-map-logical", "-l", str(logical), image)
    for line in out.splitlines():
        words = line.split()
        if words[:2] == ["mirror", "1"] and "physical" in words:
            return int(words[words.index("physical") + 1])
    raise RuntimeError(f"btrfs-map-logical gave no mirror for {logical}: {out!r}")


def tree_blocks(image: Path, tree: str) -> list[tuple[int, int]]:
    """(logical address, level) of each block of a tree, as ``dump-tree`` lists them."""
    out = run("btrfs", "inspect-internal", "dump-tree", "-t", tree, image)
    blocks = []
    for line in out.splitlines():
        words = line.split()
        if words[:1] == ["node"] and words[2] == "level":
            blocks.append((int(words[1]), int(words[3])))
        elif words[:1] == ["leaf"] and words[2] == "items":
            blocks.append((int(words[1]), 0))
    return blocks


def patch_tree_block(image: Path, logical: int, offset: int, value: bytes) -> None:
    """Overwrite bytes of a tree block (single metadata profile) and fix its crc32c, as a
    hostile author would: the block still passes its checksum."""
    import google_crc32c

    physical = physical_of(image, logical)
    with open(image, "r+b") as f:
        f.seek(physical)
        block = bytearray(f.read(16384))
        block[offset : offset + len(value)] = value
        block[:4] = int(google_crc32c.value(bytes(block[32:]))).to_bytes(4, "little")
        f.seek(physical)
        f.write(block)


def patch_superblocks(image: Path, offset: int, value: bytes) -> None:
    """Overwrite bytes of every superblock copy and fix their crc32c."""
    import google_crc32c

    size = image.stat().st_size
    with open(image, "r+b") as f:
        for copy in (0x10000, 0x4000000, 0x4000000000):
            if copy + 4096 > size:
                break
            f.seek(copy)
            block = bytearray(f.read(4096))
            block[offset : offset + len(value)] = value
            block[:4] = int(google_crc32c.value(bytes(block[32:]))).to_bytes(4, "little")
            f.seek(copy)
            f.write(block)


UBUNTU_BTRFS_UUID = "5d4c3b2a-1908-4f7e-8d6c-5b4a39281706"


def build_ubuntu_disk(work: Path) -> Path:
    """An Ubuntu-style btrfs (no partition table): ``@`` and ``@home`` under the top level,
    fstab mounting them by ``subvol=``, and ``@old`` (created first, so found first) a
    leftover copy of an older root that must not be taken for the root."""
    fstab = (
        f"UUID={UBUNTU_BTRFS_UUID} / btrfs defaults,subvol=@ 0 1\n"
        f"UUID={UBUNTU_BTRFS_UUID} /home btrfs defaults,subvol=@home 0 2\n"
    )

    def release(version: str) -> str:
        return f'NAME="Ubuntu"\nID=ubuntu\nVERSION_ID="{version}"\nPRETTY_NAME="Ubuntu {version}"\n'

    old = _linux_root(work / "old", os_release=release("22.04"), hostname="old", fstab=fstab)
    new = _linux_root(work / "new", os_release=release("24.04"), hostname="noble", fstab=fstab)
    home = _home_with_key(work / "home")
    image = mkfs_btrfs(None, work / "ubuntu.raw", "-U", UBUNTU_BTRFS_UUID)
    with loop_mounted(image) as mnt:
        for name, tree in (("@old", old), ("@", new), ("@home", home)):
            run("btrfs", "subvolume", "create", mnt / name)
            copy_tree(tree, mnt / name)
    return image


def open_guestfs(image: Path) -> GuestFS:
    """The guest filesystem tree of ``image``, opened the way the commands open it."""
    guest = open_guest(image, ImageOptions())
    assert guest.layout.guestfs is not None, guest.layout.problems
    return guest.layout.guestfs
