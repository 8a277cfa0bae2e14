"""LUKS test volumes made by cryptsetup on plain files (no device-mapper, no root needed):
an ext4 filesystem made by ``mkfs.ext4 -d`` is encrypted in place by
``cryptsetup reencrypt --encrypt``; LUKS1 volumes are then made by ``cryptsetup convert``
(the same volume key and ciphertext under a LUKS1 header)."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

MIB = 1 << 20
PASSPHRASE = b"correct horse battery"
FS_BYTES = 16 * MIB
HEADER_ROOM = 8 * MIB


def cryptsetup_missing() -> str | None:
    """Why these volumes cannot be made here, or None."""
    for tool in ("cryptsetup", "mkfs.ext4"):
        if shutil.which(tool) is None:
            return f"needs {tool}"
    return None


@dataclass(frozen=True, slots=True)
class EncryptedFs:
    """An encrypted volume and the plaintext filesystem it holds (first ``FS_BYTES``)."""

    path: Path
    plaintext: Path
    key_file: Path


def write_tree(root: Path) -> Path:
    """A small Debian-like root with a planted private key."""
    (root / "etc").mkdir(parents=True, exist_ok=True)
    (root / "root" / ".ssh").mkdir(parents=True, exist_ok=True)
    (root / "etc" / "fstab").write_text("/dev/mapper/root / ext4 defaults 0 1\n")
    (root / "etc" / "hostname").write_text("vault\n")
    (root / "etc" / "os-release").write_text('ID=debian\nVERSION_ID="12"\nPRETTY_NAME="Debian"\n')
    key = root / "root" / ".ssh" / "id_ed25519"
    if not key.exists():
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)],
                       check=True, capture_output=True)  # fmt: skip
    (root / "srv").mkdir(exist_ok=True)
    (root / "srv" / "blob.bin").write_bytes(bytes(range(256)) * 4096)  # 1 MiB across sectors
    return root


def encrypted_ext4(
    directory: Path,
    *,
    version: int = 2,
    pbkdf: str = "pbkdf2",
    cipher: str = "aes-xts-plain64",
    key_bits: int = 512,
    sector_size: int = 512,
) -> EncryptedFs:
    """An ext4 filesystem encrypted in place, with the pass phrase in ``key_file``."""
    directory.mkdir(parents=True, exist_ok=True)
    tree = write_tree(directory / "tree")
    plain = directory / "plain.img"
    with plain.open("wb") as f:
        f.truncate(FS_BYTES + HEADER_ROOM)
    block = ["-b", "4096"] if sector_size == 4096 else []
    subprocess.run(["mkfs.ext4", "-q", "-F", *block, "-d", str(tree), str(plain), "16M"],
                   check=True, capture_output=True)  # fmt: skip
    key_file = directory / "key"
    key_file.write_bytes(PASSPHRASE)
    enc = directory / f"luks{version}.img"
    shutil.copyfile(plain, enc)
    kdf = ["--pbkdf", pbkdf, "--pbkdf-force-iterations", "1000" if pbkdf == "pbkdf2" else "4"]
    if pbkdf != "pbkdf2":
        kdf += ["--pbkdf-memory", "16384", "--pbkdf-parallel", "1"]
    subprocess.run(
        ["cryptsetup", "reencrypt", "--encrypt", "--batch-mode", "--type", "luks2",
         "--reduce-device-size", f"{HEADER_ROOM}", "-c", cipher, "-s", str(key_bits),
         "--sector-size", str(sector_size), *kdf, "--key-file", str(key_file), str(enc)],
        check=True, capture_output=True,
    )  # fmt: skip
    if version == 1:
        subprocess.run(["cryptsetup", "convert", "--batch-mode", "--type", "luks1", str(enc)],
                       check=True, capture_output=True)  # fmt: skip
    return EncryptedFs(enc, plain, key_file)
