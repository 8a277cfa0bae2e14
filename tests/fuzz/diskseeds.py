"""Seeds of the btrfs, LUKS-unlock and BitLocker harnesses, made by the real tools and kept
packed (``packed.py``), as every disk-image seed is (``pack_seeds``).

btrfs: ``mkfs.btrfs --rootdir`` (mixed block groups keep the image at 8 MiB; each checksum
type), and a volume written by the kernel through a loop mount with zlib, lzo and zstd
compression and a subvolume (skipped where loop mounts are unavailable). LUKS:
``cryptsetup luksFormat`` with the harness's passphrase and a cheap KDF (PBKDF2 at 1000
iterations, argon2i/argon2id at minimal cost), LUKS2 with small metadata and key-slot areas
and LUKS1 with the inactive key slots' random fill zeroed (no reader looks at it; it would
make the seed a megabyte); the detection harness's copies have no key material at all.
BitLocker: no tool here writes it; the volumes are those of
tests/disk/volumes/test_bitlocker.py (checked there against blkid and libbde).
"""

from __future__ import annotations

import struct
from pathlib import Path

from .diskharnesses import PASSPHRASE
from .packed import BLOCK, pack

MIB = 1 << 20
PACKED_HARNESSES = frozenset(
    ("qcow2", "vmdk", "vhd", "vhdx", "ova", "probe", "gpt", "mbr", "other-tables", "lvm",
     "luks", "ext", "fat", "ntfs", "btrfs", "luks-unlock", "bitlocker")
)  # fmt: skip
_PACK_ABOVE = 16 * 1024


def pack_seeds(work: Path) -> None:
    """Replace every seed of ``work`` by its packed form where that is smaller."""
    for seed in sorted(work.iterdir()):
        if seed.name.startswith(".") or seed.stat().st_size <= _PACK_ABOVE:
            continue
        image = seed.read_bytes()
        try:
            packed = pack(image)
        except ValueError:  # too many non-zero blocks: kept as it is
            continue
        if len(packed) < len(image):
            seed.write_bytes(packed)


def _tree(root: Path) -> Path:
    (root / "etc/ssh").mkdir(parents=True)
    (root / "etc/os-release").write_text('ID=fedora\nVERSION_ID="39"\n')
    (root / "etc/fstab").write_text("UUID=x / btrfs subvol=root,compress=zstd:1 0 0\n")
    (root / "etc/ssh/id_ed25519").write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nb3Bl\n")
    (root / "etc/link").symlink_to("os-release")
    (root / "var/log").mkdir(parents=True)
    lines = "".join(f"Dec  3 06:{n % 60:02d}:00 host sshd[{n}]: opened\n" for n in range(900))
    (root / "var/log/messages").write_text(lines)  # ~50 KiB: regular, compressible extents
    (root / "var/log/empty").touch()
    return root


def btrfs(work: Path) -> None:
    from btrfsimages import loop_mount_problem, loop_mounted, mkfs_btrfs, run

    tree = _tree(work / "tree")
    for csum in ("crc32c", "xxhash", "sha256", "blake2"):
        mkfs_btrfs(tree, work / f"{csum}.btrfs", "-M", "--csum", csum, size=8 * MIB)
    if loop_mount_problem() is None:
        for method in ("zlib", "lzo", "zstd"):
            image = mkfs_btrfs(None, work / f"{method}.btrfs", "-M", size=16 * MIB)
            with loop_mounted(image, f"compress-force={method}") as mnt:
                run("cp", "-a", f"{tree}/.", mnt)
                run("btrfs", "subvolume", "create", mnt / "home")
                (mnt / "home/notes.txt").write_text("subvolume content\n" * 300)
    run("rm", "-rf", tree)


def _zero_luks1_slots(image: Path, *, active_too: bool = False) -> None:
    """LUKS1: zero the key material areas of inactive slots (cryptsetup fills them with
    random bytes; nothing reads them), or of every slot."""
    with image.open("r+b") as f:
        header = f.read(592)
        (key_bytes,) = struct.unpack_from(">I", header, 108)
        for slot in range(8):
            at = 208 + 48 * slot
            active, _, _, material, stripes = struct.unpack_from(">II32sII", header, at)
            if active != 0x00AC71F3 or active_too:
                f.seek(material * 512)
                f.write(bytes(-(-key_bytes * stripes // BLOCK) * BLOCK))


def luks_unlock(work: Path) -> None:
    from .seeds import _raw, _run

    key = work / "key"
    key.write_bytes(PASSPHRASE)
    argon2 = ("--pbkdf-force-iterations", "4", "--pbkdf-memory", "32", "--pbkdf-parallel", "1")
    cheap = {"pbkdf2": ("--pbkdf-force-iterations", "1000"), "argon2i": argon2, "argon2id": argon2}
    luks2 = ("--luks2-metadata-size", "16k", "--luks2-keyslots-size", "128k", "--offset", "512")
    variants = {
        "luks2-pbkdf2-xts": ("luks2", "pbkdf2", "aes-xts-plain64", "256", *luks2),
        "luks2-argon2id-xts-4k": ("luks2", "argon2id", "aes-xts-plain64", "256", *luks2,
                                  "--sector-size", "4096"),
        "luks2-argon2i-cbc": ("luks2", "argon2i", "aes-cbc-essiv:sha256", "128", *luks2),
        "luks1-pbkdf2-cbc": ("luks1", "pbkdf2", "aes-cbc-essiv:sha256", "128"),
        "luks1-pbkdf2-xts": ("luks1", "pbkdf2", "aes-xts-plain64", "256"),
    }  # fmt: skip
    for name, (kind, kdf, cipher, bits, *extra) in variants.items():
        size = (MIB if kind == "luks2" else 2 * MIB) + 64 * 1024  # header, then 64 KiB of data
        image = _raw(work / f"{name}.img", size)
        _run("cryptsetup", "luksFormat", "--batch-mode", "--type", kind, "--pbkdf", kdf,
             *cheap[kdf], "-c", cipher, "-s", bits, *extra, "--key-file", key, image)  # fmt: skip
        if kind == "luks1":
            _zero_luks1_slots(image)
    key.unlink()


def luks_headers(work: Path) -> None:
    """The LUKS-unlock seeds with their key material zeroed: detection reads the headers
    (both LUKS2 copies) only, and the fuzzer's mutations stay on them."""
    luks_unlock(work)
    for image in work.glob("*.img"):
        if image.name.startswith("luks1"):
            _zero_luks1_slots(image, active_too=True)
        else:
            with image.open("r+b") as f:  # between the two 16 KiB header copies and the data
                f.seek(32 * 1024)
                f.write(bytes(224 * 1024))


def bitlocker(work: Path) -> None:
    from disk.volumes.test_bitlocker import boot_record, metadata_block

    size = MIB
    offsets = (0x10000, 0x30000, 0x50000)
    for variant in ("win7", "to-go"):
        data = bytearray(size)
        data[0:512] = boot_record(variant, offsets)
        for offset in offsets:
            block = metadata_block(offsets, size, "CORP-LAPTOP C: 2/1/2011")
            data[offset : offset + len(block)] = block
        data[0x70000 : 0x70000 + 4096] = bytes(range(256)) * 16  # ciphertext stands in
        (work / f"{variant}.bde").write_bytes(bytes(data))
    vista = bytearray(size)
    vista[0:11] = b"\xeb\x52\x90-FVE-FS-"
    vista[510:512] = b"\x55\xaa"
    (work / "vista.bde").write_bytes(bytes(vista))
