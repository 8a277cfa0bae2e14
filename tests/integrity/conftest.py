"""Fixtures for the integrity tests: real keys, a real sample VM, real tampering tools."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from vmguard.demo.sample import build_sample_vm
from vmguard.inspection import ImageOptions, open_guest
from vmguard.integrity.keys import (
    KeyType,
    SigningKey,
    generate_key,
    load_signing_key,
    write_key_pair,
)


@dataclass(frozen=True)
class KeyPair:
    """A key written to disk by vmguard's own writer."""

    kind: KeyType
    private: Path
    public: Path

    def signing(self) -> SigningKey:
        return load_signing_key(self.private)


@pytest.fixture(scope="session")
def key_pairs(tmp_path_factory: pytest.TempPathFactory) -> dict[KeyType, KeyPair]:
    """One key pair per type keygen makes (RSA 4096 left to the keygen test)."""
    out = tmp_path_factory.mktemp("keys")
    pairs = {}
    for kind in (KeyType.ED25519, KeyType.ECDSA_P256, KeyType.ECDSA_P384, KeyType.RSA_PSS_3072):
        private, public = out / f"{kind.value}.pem", out / f"{kind.value}.pub"
        write_key_pair(generate_key(kind), private, public, None)
        pairs[kind] = KeyPair(kind, private, public)
    return pairs


@pytest.fixture(scope="session")
def sample_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo sample VM (sample.qcow2 + sample.xml), built once per session."""
    directory = tmp_path_factory.mktemp("sample")
    build_sample_vm(directory)
    return directory


@pytest.fixture
def sample(sample_dir: Path, tmp_path: Path) -> Path:
    """A private copy of the sample VM directory (tests may tamper with it)."""
    target = tmp_path / "vm"
    shutil.copytree(sample_dir, target)
    xml = target / "sample.xml"
    xml.write_text(xml.read_text().replace(str(sample_dir.resolve()), str(target.resolve())))
    return target


def guest_file_offset(image: Path, guest_path: str) -> int:
    """Byte offset on the virtual disk of a guest file's first block (via the disk layer)."""
    guest = open_guest(image, ImageOptions())
    assert guest.layout.guestfs is not None
    found = guest.layout.guestfs.resolve(guest_path)
    assert found is not None, guest_path
    _, mount, node = found
    placed = next(p for p in guest.layout.volumes if p.filesystem is mount.fs)
    return int(placed.volume.start + node.get_extent(0)[0])


def qemu_write(image: Path, fmt: str, offset: int, data: bytes) -> None:
    """Write bytes into a guest-visible disk with qemu-io (the attacker's real tool)."""
    pattern = data[0]
    assert data == bytes([pattern]) * len(data)
    subprocess.run(
        ["qemu-io", "-f", fmt, "-c", f"write -P {pattern} {offset} {len(data)}", str(image)],
        check=True,
        capture_output=True,
    )


@pytest.fixture
def tamper() -> Callable[[Path, str, str], int]:
    """Overwrite the first 512 bytes of a guest file in place; returns the disk offset."""

    def overwrite(image: Path, fmt: str, guest_path: str) -> int:
        offset = guest_file_offset(image, guest_path)
        qemu_write(image, fmt, offset, b"\x41" * 512)
        return offset

    return overwrite
