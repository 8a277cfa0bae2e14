"""BitLocker unlocking with the user's recovery password or password (issue 14), on a volume
written from the format facts (``bitlockerimages``) over an NTFS volume made by mkntfs and
filled by ntfscp. The volume is first checked by two independent readers: cryptsetup (its
BITLK code accepts the right secrets and rejects a wrong one) and libbde's bdeinfo."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from bitlockerimages import BitLockerVolume, encrypt_volume
from clirunner import vmguard
from vmguard.disk.limits import Limits
from vmguard.disk.source import FileSource
from vmguard.disk.volumes.bitlocker_unlock import unlock_bitlocker
from vmguard.disk.volumes.luks_unlock import VolumeSecret
from vmguard.disk.volumes.scan import scan_volumes

pytest.importorskip("pybde")
pytestmark = pytest.mark.skipif(
    shutil.which("mkntfs") is None or shutil.which("ntfscp") is None, reason="needs ntfs-3g"
)
MIB = 1 << 20


def ntfs_with_a_key(directory: Path) -> bytes:
    """A 16 MiB NTFS volume (mkntfs) holding a private key (ntfscp), then 8 MiB of room."""
    plain = directory / "plain.img"
    with plain.open("wb") as f:
        f.truncate(16 * MIB)
    subprocess.run(["mkntfs", "-q", "-F", "-Q", "-L", "DATA", str(plain)], check=True,
                   capture_output=True)  # fmt: skip
    key = directory / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "", "-f", str(key)],
                   check=True, capture_output=True)  # fmt: skip
    subprocess.run(["ntfscp", str(plain), str(key), "id_ed25519"], check=True,
                   capture_output=True)  # fmt: skip
    with plain.open("r+b") as f:
        f.truncate(24 * MIB)
    return plain.read_bytes()


@pytest.fixture(scope="module")
def volume(tmp_path_factory: pytest.TempPathFactory) -> BitLockerVolume:
    work = tmp_path_factory.mktemp("bitlocker")
    return encrypt_volume(ntfs_with_a_key(work), work / "bde.img")


def _secret(text: str, origin: str = "passphrase file") -> VolumeSecret:
    return VolumeSecret(text.encode("utf-8"), origin)


def test_independent_readers_accept_the_volume(volume: BitLockerVolume, tmp_path: Path) -> None:
    if shutil.which("cryptsetup") is None or shutil.which("bdeinfo") is None:
        pytest.skip("needs cryptsetup and bdeinfo")
    dump = subprocess.run(["cryptsetup", "bitlkDump", str(volume.path)], capture_output=True,
                          text=True, check=True).stdout  # fmt: skip
    assert "recovery passphrase" in dump and "Cipher mode:  \txts-plain64" in dump
    for secret, ok in ((volume.recovery_password, True), (volume.password, True), ("no", False)):
        command = ["cryptsetup", "open", "--test-passphrase", "--type", "bitlk", str(volume.path)]
        tried = subprocess.run(command, input=secret, text=True, capture_output=True)
        assert (tried.returncode == 0) is ok, tried.stderr
    bek = tmp_path / "startup.BEK"
    bek.write_bytes(volume.startup_key)
    command = ["cryptsetup", "open", "--test-passphrase", "--type", "bitlk", "--key-file"]
    assert subprocess.run([*command, str(bek), str(volume.path)]).returncode == 0
    bek.write_bytes(volume.startup_key[:-32] + bytes(32))  # another key under the same id
    assert subprocess.run([*command, str(bek), str(volume.path)]).returncode != 0
    info = subprocess.run(["bdeinfo", str(volume.path)], capture_output=True, text=True).stdout
    assert "Recovery password" in info and "Startup key" in info
    assert str(volume.volume_id) in info


@pytest.mark.parametrize("which", ["recovery password", "password"])
def test_unlocked_plaintext_is_the_ntfs_volume(volume: BitLockerVolume, which: str) -> None:
    text = volume.recovery_password if which == "recovery password" else volume.password
    opened = unlock_bitlocker(FileSource(volume.path), [_secret("wrong one"), _secret(text)])
    assert opened is not None and opened.keyslot == which
    plain = opened.plaintext
    assert plain.size == 16 * MIB
    # The first 8 KiB come from the moved volume header area, the rest in place.
    for offset, length in ((0, 8192), (8000, 1000), (3 * MIB + 17, 70_000), (16 * MIB - 512, 512)):
        assert plain.read_at(offset, length) == volume.plaintext[offset : offset + length]
    assert plain.read_at(16 * MIB, 10) == b""


def test_recovery_key_file_as_windows_saves_it(volume: BitLockerVolume) -> None:
    text = ("BitLocker Drive Encryption recovery key\r\n\r\nRecovery Key:\r\n"
            f"{volume.recovery_password}\r\n")  # fmt: skip
    key_file = VolumeSecret(b"\xff\xfe" + text.encode("utf-16-le"), "key file")
    opened = unlock_bitlocker(FileSource(volume.path), [key_file])
    assert opened is not None and opened.keyslot == "recovery password"


def test_startup_key_file(volume: BitLockerVolume) -> None:
    opened = unlock_bitlocker(FileSource(volume.path), [VolumeSecret(volume.startup_key)])
    assert opened is not None and opened.keyslot == "startup key"
    assert opened.plaintext.read_at(0, 4096) == volume.plaintext[:4096]
    wrong = VolumeSecret(volume.startup_key[:-32] + bytes(32))
    assert unlock_bitlocker(FileSource(volume.path), [wrong]) is None


def test_wrong_secret_leaves_it_closed(volume: BitLockerVolume) -> None:
    layout = scan_volumes(FileSource(volume.path), limits=Limits(), secrets=[_secret("nope")])
    (vol,) = layout.volumes
    assert (vol.encryption, vol.unlocked) == ("bitlocker", False)
    assert [p.reason for p in layout.problems] == [
        "bitlocker: no key protector opens with the key given"
    ]


def test_too_many_key_protectors_are_not_tried(volume: BitLockerVolume, tmp_path: Path) -> None:
    """A volume whose metadata repeats one password protector 20 times would cost 20 key
    derivations for one password: refused before any."""
    hostile = encrypt_volume(volume.plaintext, tmp_path / "many.img", password_copies=20)
    layout = scan_volumes(FileSource(hostile.path), limits=Limits(),
                          secrets=[_secret(hostile.password)])  # fmt: skip
    (problem,) = layout.problems
    assert problem.reason.startswith("not unlocked: BitLocker: 20 key derivations")
    # The recovery password needs one derivation on its one protector: still opens.
    opened = unlock_bitlocker(FileSource(hostile.path), [_secret(hostile.recovery_password)])
    assert opened is not None


@pytest.mark.parametrize("option", ["--passphrase-file", "--key-file"])
def test_scan_finds_the_key_inside(volume: BitLockerVolume, tmp_path: Path, option: str) -> None:
    secret = tmp_path / "secret"
    if option == "--key-file":
        secret.write_bytes(volume.startup_key)
    else:
        secret.write_text(volume.recovery_password + "\n")
    run = vmguard("scan", "--format", "json", option, secret, volume.path)
    assert run.code == 1, run.stderr
    report = json.loads(run.stdout)
    (part,) = report["inventory"]["partitions"]
    assert (part["filesystem"], part["encryption"], part["label"]) == ("ntfs", "bitlocker", "DATA")
    assert ("secret.private-key", "/id_ed25519") in {
        (f["rule_id"], f["location"]["path"]) for f in report["findings"]
    }
    assert volume.recovery_password not in run.stdout + run.stderr


def test_bitlocker_partition_of_a_qcow2_disk(volume: BitLockerVolume, tmp_path: Path) -> None:
    """The common case: a Windows data partition (MBR type 0x07) on a disk converted to
    qcow2 by qemu-img, opened with the recovery key file Windows saved."""
    if shutil.which("sfdisk") is None or shutil.which("qemu-img") is None:
        pytest.skip("needs sfdisk and qemu-img")
    raw = tmp_path / "disk.raw"
    with raw.open("wb") as f:
        f.truncate(26 * MIB)
    subprocess.run(["sfdisk", "-q", str(raw)], input="label: dos\nstart=2048, type=07\n",
                   text=True, check=True)  # fmt: skip
    with raw.open("r+b") as f:
        f.seek(MIB)
        f.write(volume.path.read_bytes())
    disk = tmp_path / "disk.qcow2"
    subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", "qcow2", str(raw), str(disk)],
                   check=True)  # fmt: skip
    key_file = tmp_path / "BitLocker Recovery Key.TXT"
    key_file.write_bytes(
        b"\xff\xfe" + f"Recovery Key:\r\n{volume.recovery_password}\r\n".encode("utf-16-le")
    )
    run = vmguard("inspect", "--format", "json", "--key-file", key_file, disk)
    assert run.code == 0, run.stderr
    (part,) = json.loads(run.stdout)["inventory"]["partitions"]
    assert (part["scheme"], part["filesystem"], part["encryption"]) == ("mbr", "ntfs", "bitlocker")
    assert volume.recovery_password not in run.stdout + run.stderr
