"""Shared fixtures: real guest images built by real tools (see guestimages.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from guestimages import cached, convert, debian_disk_dir, debian_rootfs


@pytest.fixture(scope="session")
def debian_disk() -> Path:
    """A raw GPT disk: ESP on FAT32, root on ext4, /home on XFS, placed by fstab."""
    return debian_disk_dir() / "debian.raw"


@pytest.fixture(scope="session")
def debian_variants(debian_disk: Path, tmp_path_factory: pytest.TempPathFactory) -> DebianVariants:
    """The same disk converted by qemu-img into every container format (built lazily)."""
    return DebianVariants(debian_disk, tmp_path_factory.mktemp("variants"))


class DebianVariants:
    """Lazily converted variants of the Debian disk."""

    def __init__(self, raw: Path, outdir: Path) -> None:
        self.raw = raw
        self.outdir = outdir

    def get(self, variant: str) -> Path:
        """Path of the image in that variant (raw for "raw")."""
        return self.raw if variant == "raw" else convert(self.raw, variant, self.outdir)


@pytest.fixture(scope="session")
def planted_disk() -> Path:
    """A debootstrapped Debian with every leak and weakness scan must find (plantedimage.py)."""
    import plantedimage

    directory = cached(
        "planted-disk",
        lambda work: plantedimage.build_planted_disk(work, debian_rootfs()),
        sources=(Path(plantedimage.__file__),),
    )
    return directory / "planted.raw"
