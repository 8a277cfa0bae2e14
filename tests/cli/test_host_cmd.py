"""``vmguard host``, ``host baseline`` and ``host verify`` through the real command, on
host roots built from real packages and on the machine the tests run on."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from fnmatch import fnmatchcase
from pathlib import Path

import pytest

from clirunner import vmguard
from host.hostroots import hardened_root, weak_root
from vmguard.host.catalogue import host_rules
from vmguard.host.packages import HYPERVISOR_PACKAGES


@pytest.fixture(scope="module")
def roots(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if shutil.which("qemu-img") is None or shutil.which("apt-get") is None:
        pytest.skip("qemu-img and apt-get are needed to build host roots")
    base = tmp_path_factory.mktemp("hosts")
    return hardened_root(base / "hardened"), weak_root(base / "weak")


def test_weak_host_json_report(roots: tuple[Path, Path]) -> None:
    _, weak = roots
    run = vmguard("host", "--root", weak, "--format", "json")
    assert run.code == 1, run.stderr
    report = json.loads(run.stdout)
    assert report["target"] == {"kind": "host", "path": str(weak)}
    known = {r.rule_id for r in host_rules()}
    fired = {f["rule_id"] for f in report["findings"]}
    assert fired <= known
    assert known - fired == {  # each needs a host state exclusive with the weak root's
        "libvirtd.tcp-listen", "host.mac-off", "host.vmm-profile-disabled",
        "host.package-unverifiable",
    }  # fmt: skip
    assert report["summary"]["critical"] >= 3
    assert "hunter2" not in run.stdout


def test_hardened_host_exits_zero(roots: tuple[Path, Path]) -> None:
    hardened, _ = roots
    run = vmguard("host", "--root", hardened, "--format", "json")
    assert run.code == 0, run.stdout + run.stderr
    report = json.loads(run.stdout)
    assert report["findings"] == [] and report["errors"] == []


def test_unusable_root_is_one_error_line(tmp_path: Path) -> None:
    run = vmguard("host", "--root", tmp_path / "missing")
    assert run.code == 2
    assert run.stderr.startswith("vmguard: error:") and run.stderr.count("\n") == 1


def test_policy_disables_rules(roots: tuple[Path, Path], tmp_path: Path) -> None:
    _, weak = roots
    (tmp_path / "vmguard.toml").write_text(
        '[rules]\ndisable = ["qemuconf.*", "libvirtd.*", "host.*"]\n'
    )
    run = vmguard("host", "--root", weak, "--format", "json", cwd=tmp_path)
    assert run.code == 0, run.stderr
    assert json.loads(run.stdout)["findings"] == []


def test_baseline_then_verify_names_changes(roots: tuple[Path, Path], tmp_path: Path) -> None:
    hardened, _ = roots
    root = tmp_path / "root"
    shutil.copytree(hardened, root, symlinks=True)
    assert vmguard("keygen", "-o", tmp_path / "key").code == 0
    assert vmguard("keygen", "-o", tmp_path / "other").code == 0
    run = vmguard("host", "baseline", "--root", root, "-k", tmp_path / "key", "-o", tmp_path / "b")
    assert run.code == 0, run.stderr
    verify = ("host", "verify", "--root", root, "--sig", tmp_path / "b", "--format", "json")
    assert vmguard(*verify, "--pubkey", tmp_path / "key.pub").code == 0
    with open(root / "etc/libvirt/qemu.conf", "a") as conf:
        conf.write('user = "root"\n')
    run = vmguard(*verify, "--pubkey", tmp_path / "key.pub")
    assert run.code == 1
    [finding] = json.loads(run.stdout)["findings"]
    assert finding["rule_id"] == "host.baseline-modified"
    assert finding["location"]["path"] == "/etc/libvirt/qemu.conf"
    run = vmguard(*verify, "--pubkey", tmp_path / "other.pub")
    assert run.code == 1
    assert json.loads(run.stdout)["findings"][0]["rule_id"] == "host.baseline-signature-invalid"


def _hypervisor_dpkg_changes() -> set[str]:
    """What dpkg --verify says changed in this machine's hypervisor packages."""
    names = subprocess.run(
        ["dpkg-query", "-W", "-f", "${Package}\\n"], capture_output=True, text=True, check=True
    ).stdout.split()
    changed: set[str] = set()
    for selector in HYPERVISOR_PACKAGES:
        packages = [n for n in names if fnmatchcase(n, selector.name)]
        if not packages:
            continue
        out = subprocess.run(
            ["dpkg", "--verify", *packages], capture_output=True, text=True, check=False
        ).stdout
        for path in re.findall(r"^\S+\s+(?:c\s+)?(/\S+)$", out, re.M):
            if not selector.paths or any(fnmatchcase(path, p) for p in selector.paths):
                changed.add(path)
    return changed


def test_real_run_on_this_machine() -> None:
    run = vmguard("host", "--format", "json")
    assert run.code in (0, 1), run.stderr
    report = json.loads(run.stdout)
    assert report["target"] == {"kind": "host", "path": "/"}
    vulns = Path("/sys/devices/system/cpu/vulnerabilities")
    expected = {
        str(p) for p in (vulns.iterdir() if vulns.is_dir() else [])
        if p.read_text().lower().startswith(("vulnerable", "unknown"))
    }  # fmt: skip
    found = {
        f["location"]["path"] for f in report["findings"] if f["rule_id"] == "host.cpu-vulnerable"
    }
    assert found == expected
    package_rules = {"host.package-file-modified", "host.package-file-missing",
                     "host.package-config-changed"}  # fmt: skip
    ours = {f["location"]["path"] for f in report["findings"] if f["rule_id"] in package_rules}
    if shutil.which("dpkg"):
        assert ours == _hypervisor_dpkg_changes()
