"""A signed sample VM for CLI tests: keys made by ``vmguard keygen``, signed by ``vmguard sign``."""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass
from pathlib import Path

from clirunner import vmguard
from vmguard.demo.sample import build_sample_vm


@dataclass(frozen=True)
class SignedBundle:
    """Paths of a signed bundle and the key that signed it."""

    disk: Path
    definition: Path
    key: Path
    pubkey: Path
    sig: Path

    @property
    def files(self) -> list[Path]:
        return [self.disk, self.definition]


def make_signed_bundle(directory: Path, template: Path | None = None) -> SignedBundle:
    """Build (or copy from ``template``) the sample VM, a key pair, and sign both files."""
    if template is None:
        build_sample_vm(directory)
    else:
        shutil.copytree(template, directory, dirs_exist_ok=True)
        xml = directory / "sample.xml"
        xml.write_text(xml.read_text().replace(str(template.resolve()), str(directory.resolve())))
    key = directory / "signer.pem"
    if not key.exists():
        made = vmguard("keygen", "-o", key)
        assert made.code == 0, made.stderr
    sig = directory / "bundle.dsse.json"
    sig.unlink(missing_ok=True)
    disk, definition = directory / "sample.qcow2", directory / "sample.xml"
    signed = vmguard("sign", disk, definition, "--key", key, "-o", sig)
    assert signed.code == 0, signed.stderr
    return SignedBundle(disk, definition, key, directory / "signer.pem.pub", sig)


def digests(paths: list[Path]) -> dict[Path, str]:
    """SHA-256 of each file, to show inputs are never modified."""
    return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}
