"""``vmguard gate``: install keeps the existing hook, uninstall restores it, check reads stdin."""

from __future__ import annotations

import shutil
from pathlib import Path

from clirunner import vmguard
from signedbundle import make_signed_bundle


def test_install_uninstall_round_trip(tmp_path: Path) -> None:
    hook = tmp_path / "hooks" / "qemu"
    hook.parent.mkdir()
    hook.write_text("#!/bin/sh\nexit 0\n")
    hook.chmod(0o755)
    trust = tmp_path / "trust"
    trust.mkdir()
    assert vmguard("keygen", "-o", tmp_path / "k.pem").code == 0
    shutil.copy(tmp_path / "k.pem.pub", trust / "k.pub")
    empty = tmp_path / "empty"
    empty.mkdir()
    refused = vmguard("gate", "install", "--trust", empty, "--hook", hook)
    assert refused.code == 2 and "no trusted" in refused.stderr
    run = vmguard("gate", "install", "--trust", trust, "--hook", hook, "--signatures", tmp_path)
    assert run.code == 0, run.stderr
    assert "previous hook is kept" in run.stdout
    assert "vmguard launch gate" in hook.read_text()
    again = vmguard("gate", "install", "--trust", trust, "--hook", hook, "--signatures", tmp_path)
    assert again.code == 0  # updating our own hook keeps the chained one
    assert (hook.parent / "qemu.vmguard-chained").read_text() == "#!/bin/sh\nexit 0\n"
    assert vmguard("gate", "uninstall", "--hook", hook).code == 0
    assert hook.read_text() == "#!/bin/sh\nexit 0\n"
    foreign = vmguard("gate", "uninstall", "--hook", hook)
    assert foreign.code == 2 and "not vmguard's" in foreign.stderr


def test_check_reads_the_domain_on_stdin(tmp_path: Path) -> None:
    import subprocess
    import sys

    bundle = make_signed_bundle(tmp_path / "vm")
    trust = tmp_path / "trust"
    trust.mkdir()
    shutil.copy(bundle.pubkey, trust / "k.pub")
    signatures = tmp_path / "sigs"
    signatures.mkdir()
    shutil.copy(bundle.sig, signatures / "vmguard-sample.dsse.json")
    cmd = [sys.executable, "-m", "vmguard", "gate", "check", "--trust", str(trust),
           "--signatures", str(signatures), "--domain-name", "vmguard-sample"]  # fmt: skip
    ok = subprocess.run(cmd, input=bundle.definition.read_bytes(), capture_output=True, check=False)
    assert ok.returncode == 0, ok.stderr
    junk = subprocess.run(cmd, input=b"<domain", capture_output=True, check=False)
    assert junk.returncode == 2 and junk.stderr.startswith(b"vmguard: error:")
