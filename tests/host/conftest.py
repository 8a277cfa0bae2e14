"""Host roots shared by the host tests (built once per module from the cached packages)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from .hostroots import apparmor_variant, hardened_root, weak_root


def _needs_tools() -> None:
    for tool in ("apt-get", "dpkg-deb", "qemu-img"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} not installed")


@pytest.fixture(scope="module")
def hardened(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A hardened host root (do not modify)."""
    _needs_tools()
    return hardened_root(tmp_path_factory.mktemp("hardened"))


@pytest.fixture(scope="module")
def weak(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A host root with every weakness (do not modify)."""
    _needs_tools()
    return weak_root(tmp_path_factory.mktemp("weak"))


@pytest.fixture(scope="module")
def weak_apparmor(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The weak root with AppArmor complaining instead of SELinux (do not modify)."""
    _needs_tools()
    return apparmor_variant(weak_root(tmp_path_factory.mktemp("weak-apparmor")))
