"""Fixtures of the report tests: the real CLI run once per output format on the planted image,
and what must never appear whole in any of those outputs."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from clirunner import Run, vmguard
from report.samples import FORMATS, HOSTILE_NAMES
from vmguard.findings import Report
from vmguard.scanning import ScanOptions, scan_image

_KEY_BODY = re.compile(r"^[A-Za-z0-9+/=]{24,}$")


@pytest.fixture(scope="session")
def planted_runs(planted_disk: Path) -> dict[str, Run]:
    """``vmguard scan --deleted --format F`` of the planted image, for every format."""
    return {
        fmt: vmguard("scan", "--deleted", "--format", fmt, planted_disk, timeout=120)
        for fmt in FORMATS
    }


@pytest.fixture(scope="session")
def planted_report(planted_disk: Path) -> Report:
    """The same scan in process, for what the outputs must (not) contain."""
    return scan_image(planted_disk, ScanOptions(deleted=True))


@pytest.fixture(scope="session")
def planted_secrets(planted_disk: Path) -> list[str]:
    """Every raw secret planted: the tokens and passwords, and each line of every private
    key's body (a whole key never fits in evidence, but one line would already leak)."""
    directory = planted_disk.parent
    secrets = list(json.loads((directory / "secrets.json").read_text()).values())
    for key in ("id_rsa", "id_ed25519", "old.pem", "ssh_host_ed25519_key", "ssh_host_rsa_key"):
        secrets += [
            line for line in (directory / key).read_text().splitlines() if _KEY_BODY.match(line)
        ]
    ppk = (directory / "putty.ppk").read_text().split("Private-Lines:", 1)[1].splitlines()[1:]
    secrets += [line for line in ppk if _KEY_BODY.match(line)]
    assert len(secrets) > 20
    return secrets


@pytest.fixture(scope="session")
def planted_fingerprints(planted_report: Report) -> list[str]:
    """The secret digests behind findings: never rendered (a digest of a password cracks)."""
    digests = [f.fingerprint for f in planted_report.findings if f.fingerprint]
    assert len(digests) > 10
    return digests


def keys_image(work: Path, names: Sequence[str], files: Mapping[str, bytes] = {}) -> Path:
    """An ext4 image (mkfs.ext4 -d) with a fresh private key in ``/srv/NAME`` for each of
    ``names`` and ``files`` (guest path -> content) besides."""
    tree = work / "tree"
    (tree / "etc").mkdir(parents=True)
    (tree / "etc/fstab").write_text("")
    (tree / "srv").mkdir()
    for name in names:
        key = subprocess.run(
            ["openssl", "genpkey", "-algorithm", "ed25519"], capture_output=True, check=True
        ).stdout
        (tree / "srv" / name).write_bytes(key)
    for path, data in files.items():
        (tree / path).parent.mkdir(parents=True, exist_ok=True)
        (tree / path).write_bytes(data)
    image = work / "keys.img"
    subprocess.run(["mkfs.ext4", "-q", "-d", str(tree), str(image), "16M"], check=True)
    return image


@pytest.fixture(scope="session")
def hostile_image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An ext4 image whose key files carry ``HOSTILE_NAMES``."""
    return keys_image(tmp_path_factory.mktemp("hostile"), HOSTILE_NAMES)
