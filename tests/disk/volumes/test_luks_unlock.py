"""LUKS volumes opened with the user's key (issue 14): images made by cryptsetup, decrypted
by vmguard and compared byte for byte with the plaintext filesystem; hostile headers
(absurd KDF cost) stay refusals, decided before any derivation."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from luksimages import FS_BYTES, MIB, PASSPHRASE, EncryptedFs, cryptsetup_missing, encrypted_ext4
from vmguard.disk.errors import LimitExceeded, UnsupportedFormat
from vmguard.disk.limits import Limits
from vmguard.disk.source import FileSource
from vmguard.disk.volumes.luks_cipher import SectorCipher
from vmguard.disk.volumes.luks_unlock import VolumeSecret, unlock_luks
from vmguard.disk.volumes.scan import scan_volumes
from vmguard.inspection import ImageOptions, inspect_image

pytestmark = pytest.mark.skipif(cryptsetup_missing() is not None, reason=str(cryptsetup_missing()))
RIGHT = VolumeSecret(PASSPHRASE)
WRONG = VolumeSecret(b"incorrect horse")

VARIANTS = {
    "luks1-pbkdf2-cbc-essiv": dict(version=1, cipher="aes-cbc-essiv:sha256", key_bits=256),
    "luks1-pbkdf2-xts": dict(version=1),
    "luks2-pbkdf2-xts": dict(version=2),
    "luks2-argon2i-xts": dict(version=2, pbkdf="argon2i"),
    "luks2-argon2id-xts-4k": dict(version=2, pbkdf="argon2id", sector_size=4096),
    "luks2-pbkdf2-cbc-plain64": dict(version=2, cipher="aes-cbc-plain64", key_bits=256),
}


@pytest.fixture(scope="module")
def volumes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, EncryptedFs]:
    root = tmp_path_factory.mktemp("luks")
    return {name: encrypted_ext4(root / name, **kw) for name, kw in VARIANTS.items()}  # type: ignore[arg-type]


@pytest.mark.parametrize("name", list(VARIANTS))
def test_decrypts_byte_for_byte(volumes: dict[str, EncryptedFs], name: str) -> None:
    vol = volumes[name]
    opened = unlock_luks(FileSource(vol.path), [WRONG, RIGHT])
    assert opened is not None
    plain = vol.plaintext.read_bytes()[:FS_BYTES]
    assert opened.plaintext.read_at(0, FS_BYTES) == plain
    assert opened.plaintext.read_at(4097, 70000) == plain[4097 : 4097 + 70000]


def test_wrong_key_opens_nothing(volumes: dict[str, EncryptedFs]) -> None:
    assert unlock_luks(FileSource(volumes["luks2-argon2i-xts"].path), [WRONG]) is None
    assert unlock_luks(FileSource(volumes["luks1-pbkdf2-xts"].path), [WRONG]) is None


def test_unlocked_volume_goes_through_the_filesystem_path(volumes: dict[str, EncryptedFs]) -> None:
    vol = volumes["luks2-argon2id-xts-4k"]
    layout = scan_volumes(FileSource(vol.path), limits=Limits(), secrets=[RIGHT])
    (volume,) = layout.volumes
    assert (volume.encryption, volume.unlocked) == ("luks2", True)
    report = inspect_image(vol.path, ImageOptions(secrets=(RIGHT,)))
    assert report.inventory is not None and report.inventory.os is not None
    assert (report.inventory.os.distro, report.inventory.os.hostname) == ("debian", "vault")
    (part,) = report.inventory.partitions
    assert (part.filesystem, part.encryption, part.mountpoint) == ("ext4", "luks2", "/")
    assert report.errors == ()


def test_without_the_key_it_stays_closed(volumes: dict[str, EncryptedFs]) -> None:
    vol = volumes["luks1-pbkdf2-xts"]
    report = inspect_image(vol.path, ImageOptions(secrets=(WRONG,)))
    assert report.inventory is not None and report.inventory.os is None
    assert [e.reason for e in report.errors] == [
        "luks1: no key slot opens with the key given",
        "encrypted (luks1); not opened without a key",
    ]


def test_digest_decides(volumes: dict[str, EncryptedFs], tmp_path: Path) -> None:
    """A LUKS1 header whose master-key digest no longer matches opens with nothing."""
    data = bytearray(volumes["luks1-pbkdf2-xts"].path.read_bytes())
    data[112] ^= 1
    bad = tmp_path / "bad-digest.img"
    bad.write_bytes(bytes(data))
    assert unlock_luks(FileSource(bad), [RIGHT]) is None


def test_absurd_pbkdf2_iterations_are_refused_before_work(
    volumes: dict[str, EncryptedFs], tmp_path: Path
) -> None:
    data = bytearray(volumes["luks1-pbkdf2-xts"].path.read_bytes())
    struct.pack_into(">I", data, 208 + 4, 0xFFFFFFFF)  # key slot 0 iterations
    img = tmp_path / "hostile1.img"
    img.write_bytes(bytes(data))
    with pytest.raises(LimitExceeded, match="iterations"):  # ~40 min of PBKDF2 otherwise
        unlock_luks(FileSource(img), [RIGHT])
    report = inspect_image(img, ImageOptions(secrets=(RIGHT,)))
    assert "not unlocked" in report.errors[0].reason


def _rewrite_luks2_json(path: Path, out: Path, change: dict[str, object]) -> None:
    """Change key slot 0's KDF and re-seal the header checksum, as a hostile author would."""
    data = bytearray(path.read_bytes())
    (hdr_size,) = struct.unpack_from(">Q", data, 8)
    meta = json.loads(bytes(data[4096:hdr_size]).split(b"\0", 1)[0])
    meta["keyslots"]["0"]["kdf"].update(change)
    text = json.dumps(meta).encode()
    data[4096:hdr_size] = text + bytes(hdr_size - 4096 - len(text))
    data[448:512] = bytes(64)
    data[448:480] = hashlib.sha256(bytes(data[:hdr_size])).digest()
    out.write_bytes(bytes(data))


@pytest.mark.parametrize(
    "change",
    [{"memory": 4 * 1024 * 1024}, {"time": 100000}, {"cpus": 4096}],
    ids=["4GiB", "time", "lanes"],
)
def test_hostile_argon2_is_refused(
    volumes: dict[str, EncryptedFs], tmp_path: Path, change: dict[str, object]
) -> None:
    img = tmp_path / "hostile2.img"
    _rewrite_luks2_json(volumes["luks2-argon2i-xts"].path, img, change)
    with pytest.raises(LimitExceeded):
        unlock_luks(FileSource(img), [RIGHT])


def test_resealed_header_still_opens(volumes: dict[str, EncryptedFs], tmp_path: Path) -> None:
    """The re-sealing above is faithful: an unchanged salt gives a header that opens."""
    vol = volumes["luks2-argon2i-xts"]
    img = tmp_path / "resealed.img"
    data = vol.path.read_bytes()
    (hdr_size,) = struct.unpack_from(">Q", data, 8)
    salt = json.loads(data[4096:hdr_size].split(b"\0", 1)[0])["keyslots"]["0"]["kdf"]["salt"]
    _rewrite_luks2_json(vol.path, img, {"salt": salt})
    assert unlock_luks(FileSource(img), [RIGHT]) is not None
    _rewrite_luks2_json(vol.path, img, {"salt": base64.b64encode(bytes(32)).decode()})
    assert unlock_luks(FileSource(img), [RIGHT]) is None


@pytest.mark.parametrize("spec", ["serpent-xts-plain64", "twofish-cbc-essiv:sha256"])
def test_ciphers_without_a_permissive_implementation_are_refused(spec: str) -> None:
    with pytest.raises(UnsupportedFormat, match="not available in the cryptography library"):
        SectorCipher(spec, bytes(64))


@pytest.mark.parametrize("spec", ["aes-xts-random", "aes-gcm-random", "capi:xts(aes)-plain64"])
def test_other_specs_are_refused(spec: str) -> None:
    with pytest.raises(UnsupportedFormat):
        SectorCipher(spec, bytes(64))


def test_secret_never_in_repr() -> None:
    assert "horse" not in repr(RIGHT)
    assert "horse" not in repr(ImageOptions(secrets=(RIGHT,)))


def _lvm(loop: str, *cmd: str) -> str:
    env = {**os.environ, "LVM_SUPPRESS_FD_WARNINGS": "1"}
    options = ["--driverloaded", "n", "--devices", loop,
               "--config", "backup { backup = 0 archive = 0 }"]  # fmt: skip
    done = subprocess.run([cmd[0], *options, *cmd[1:]], capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip())
    return done.stdout


def test_lvm_inside_luks(volumes: dict[str, EncryptedFs], tmp_path: Path) -> None:
    """The usual Debian/Ubuntu encrypted install: LUKS holding an LVM PV whose LV is root.
    The PV is made by pvcreate/vgcreate/lvcreate on a loop device (no device-mapper), the
    plaintext ext4 written at the LV's extents, then the PV encrypted in place."""
    if os.geteuid() != 0 or shutil.which("losetup") is None or shutil.which("pvcreate") is None:
        pytest.skip("needs root, losetup and lvm2")
    pv = tmp_path / "pv.img"
    with pv.open("wb") as f:
        f.truncate(48 * MIB)
    try:
        loop = subprocess.run(["losetup", "-f", "--show", str(pv)], capture_output=True,
                              text=True, check=True).stdout.strip()  # fmt: skip
    except subprocess.CalledProcessError as err:
        pytest.skip(f"loop devices unavailable: {err.stderr}")
    try:
        _lvm(loop, "pvcreate", "-q", "--setphysicalvolumesize", "40M", loop)
        _lvm(loop, "vgcreate", "-q", "-s", "1M", "vault", loop)
        _lvm(loop, "lvcreate", "-q", "-an", "-Zn", "-L", "16M", "-n", "root", "vault")
        pe_start = int(_lvm(loop, "pvs", "-o", "pe_start", "--units", "b", "--nosuffix",
                            "--noheadings", loop))  # fmt: skip
        first_pe = int(_lvm(loop, "lvs", "-o", "seg_pe_ranges", "--noheadings",
                            "vault/root").strip().split(":")[1].split("-")[0])  # fmt: skip
    finally:
        subprocess.run(["losetup", "-d", loop], check=False)
    plain_fs = volumes["luks2-pbkdf2-xts"].plaintext.read_bytes()[:FS_BYTES]
    with pv.open("r+b") as f:
        f.seek(pe_start + first_pe * MIB)
        f.write(plain_fs)
    key = tmp_path / "key"
    key.write_bytes(PASSPHRASE)
    subprocess.run(
        ["cryptsetup", "reencrypt", "--encrypt", "--batch-mode", "--type", "luks2",
         "--reduce-device-size", f"{8 * MIB}", "--pbkdf", "pbkdf2",
         "--pbkdf-force-iterations", "1000", "--key-file", str(key), str(pv)],
        check=True, capture_output=True,
    )  # fmt: skip
    layout = scan_volumes(FileSource(pv), limits=Limits(), secrets=[RIGHT])
    (lv,) = layout.volumes
    assert (lv.scheme, lv.name) == ("lvm", "vault/root")
    assert lv.source.read_at(0, FS_BYTES) == plain_fs
    report = inspect_image(pv, ImageOptions(secrets=(RIGHT,)))
    assert report.inventory is not None and report.inventory.os is not None
    assert report.inventory.os.hostname == "vault"


@pytest.mark.parametrize(
    ("spec", "key_bytes", "sector_size"),
    [("aes-xts-plain64", 64, 512), ("aes-xts-plain64", 32, 4096), ("aes-cbc-plain64", 32, 512),
     ("aes-cbc-plain", 16, 1024)],
)  # fmt: skip
def test_bulk_sector_decryption_matches_per_sector_reference(
    spec: str, key_bytes: int, sector_size: int
) -> None:
    """The one-call-per-read decryption against cryptography's own XTS/CBC, sector by sector
    (IVs in 512-byte units, from an offset past 2^32 to show 64-bit IVs)."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    key = hashlib.sha512(spec.encode()).digest()[:key_bytes]
    data = hashlib.shake_256(b"ciphertext").digest(sector_size * 7)
    first = (1 << 32) - 3
    step = sector_size // 512
    expected = b""
    for k in range(7):
        number = first + k * step
        iv = (number & 0xFFFFFFFF if spec.endswith("-plain") else number).to_bytes(16, "little")
        mode = modes.XTS(iv) if "xts" in spec else modes.CBC(iv)
        sector = data[k * sector_size : (k + 1) * sector_size]
        expected += Cipher(algorithms.AES(key), mode).decryptor().update(sector)
    assert SectorCipher(spec, key).decrypt(data, first, sector_size) == expected


def test_partition_table_inside_luks(volumes: dict[str, EncryptedFs], tmp_path: Path) -> None:
    """A whole partitioned disk encrypted as one LUKS volume: its GPT is read after unlock.

    cryptsetup refuses to encrypt in place a device that carries a partition table, so the
    volume is made by luksFormat, its volume key exported by luksDump, and the plaintext disk
    written through cryptography's own AES-XTS, sector by sector (not vmguard's code)."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    if shutil.which("sfdisk") is None:
        pytest.skip("needs sfdisk")
    disk = tmp_path / "disk.img"
    with disk.open("wb") as f:
        f.truncate(32 * MIB)
    subprocess.run(["sfdisk", "-q", str(disk)], input="label: gpt\nstart=2048, size=32768\n",
                   text=True, check=True)  # fmt: skip
    plain_fs = volumes["luks2-pbkdf2-xts"].plaintext.read_bytes()[:FS_BYTES]
    with disk.open("r+b") as f:
        f.seek(MIB)
        f.write(plain_fs)
    plain_disk = disk.read_bytes()
    luks = tmp_path / "luks.img"
    with luks.open("wb") as f:
        f.truncate(48 * MIB)
    key, volume_key = tmp_path / "key", tmp_path / "volume.key"
    key.write_bytes(PASSPHRASE)
    subprocess.run(["cryptsetup", "luksFormat", "--batch-mode", "--type", "luks2",
                    "--sector-size", "512", "--pbkdf", "pbkdf2", "--pbkdf-force-iterations",
                    "1000", "--key-file", str(key), str(luks)],
                   check=True, capture_output=True)  # fmt: skip
    subprocess.run(["cryptsetup", "luksDump", "--batch-mode", "--dump-volume-key",
                    "--volume-key-file", str(volume_key), "--key-file", str(key), str(luks)],
                   check=True, capture_output=True)  # fmt: skip
    vk = volume_key.read_bytes()
    with luks.open("r+b") as f:
        f.seek(16 * MIB)  # the data segment offset luksFormat chose (luksDump above)
        for n in range(len(plain_disk) // 512):
            encryptor = Cipher(algorithms.AES(vk), modes.XTS(n.to_bytes(16, "little"))).encryptor()
            f.write(encryptor.update(plain_disk[n * 512 : (n + 1) * 512]))
    layout = scan_volumes(FileSource(luks), limits=Limits(), secrets=[RIGHT])
    (part,) = layout.volumes
    assert (part.scheme, part.index, part.encryption, part.unlocked) == ("gpt", 1, "luks2", True)
    assert part.source.read_at(0, FS_BYTES) == plain_fs
    report = inspect_image(luks, ImageOptions(secrets=(RIGHT,)))
    assert report.inventory is not None and report.inventory.os is not None
    assert report.inventory.os.hostname == "vault"


def test_a_costly_slot_is_skipped_and_named(
    volumes: dict[str, EncryptedFs], tmp_path: Path
) -> None:
    """Slot 0 made hostile (4 GiB argon2), slot 1 added by luksAddKey: the right key opens
    slot 1; a wrong one is told that slot 0 was not tried, not merely "no key slot opens"."""
    vol = volumes["luks2-argon2i-xts"]
    added = tmp_path / "added.img"
    shutil.copyfile(vol.path, added)
    second = tmp_path / "second.key"
    second.write_bytes(b"second secret")
    subprocess.run(["cryptsetup", "luksAddKey", "--batch-mode", "--pbkdf", "pbkdf2",
                    "--pbkdf-force-iterations", "1000", "--key-file", str(vol.key_file),
                    str(added), str(second)], check=True, capture_output=True)  # fmt: skip
    img = tmp_path / "hostile-slot0.img"
    _rewrite_luks2_json(added, img, {"memory": 4 * 1024 * 1024})
    opened = unlock_luks(FileSource(img), [VolumeSecret(b"second secret")])
    assert opened is not None and opened.keyslot == "1"
    with pytest.raises(LimitExceeded, match="key slot 0"):
        unlock_luks(FileSource(img), [WRONG])
