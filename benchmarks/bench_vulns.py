"""Benchmark: OSV import throughput and matching 5,000 installed packages against 200,000
advisories, plus Debian version comparison throughput beside its peers.

Run alone: ``.venv/bin/python benchmarks/bench_vulns.py`` (about a minute on 2 cores).
Advisories are generated in Debian's OSV shape (source package names, ``introduced: 0`` /
``fixed`` ranges, some CVSS vectors) and packed as an all.zip; the installed packages are
binaries mapped to those sources through ``Source:`` as a dpkg status would give them.

Peers for version comparison: python-apt's ``apt_pkg.version_compare`` (APT's C++
implementation of the same ordering, measured in the system python, which has it) and
``dpkg --compare-versions`` (one process per comparison, as shell scripts use it).
Target: matching under 1 s after import.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from vmguard.guest.facts import InstalledPackage, OsFacts
from vmguard.inventory import Inventory
from vmguard.vulns import find_vulnerabilities, import_advisories, open_index
from vmguard.vulns.findings import package_findings
from vmguard.vulns.versions.dpkg import compare_dpkg, dpkg_key

ADVISORIES = 200_000
SOURCES = 20_000
INSTALLED = 5_000
INSTALLED_SOURCES = 2_500
CVSS = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"


def _version(rng: random.Random) -> str:
    return (
        f"{rng.randrange(1, 30)}.{rng.randrange(0, 20)}.{rng.randrange(0, 9)}-{rng.randrange(1, 9)}"
    )


def make_archive(path: Path, rng: random.Random) -> dict[str, str]:
    """An all.zip of ADVISORIES records; returns each source's installed version."""
    installed = {f"src{n}": _version(rng) for n in range(SOURCES)}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for n in range(ADVISORIES):
            source = f"src{rng.randrange(SOURCES)}"
            fixed = installed[source] + rng.choice(["+deb12u1", "~deb12u1", "", "+1"])
            record = {
                "schema_version": "1.6.0",
                "id": f"DEBIAN-CVE-2024-{n:06d}",
                "modified": "2024-05-01T10:00:00Z",
                "aliases": [f"CVE-2024-{n:06d}"],
                "affected": [
                    {
                        "package": {"ecosystem": "Debian:12", "name": source},
                        "ranges": [
                            {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}
                        ],
                    }
                ],
            }
            if n % 3 == 0:
                record["severity"] = [{"type": "CVSS_V3", "score": CVSS}]
            archive.writestr(f"{record['id']}.json", json.dumps(record))
    return installed


def make_inventory(installed: dict[str, str], rng: random.Random) -> Inventory:
    sources = rng.sample(sorted(installed), INSTALLED_SOURCES)
    packages = []
    for n in range(INSTALLED):
        source = sources[n % INSTALLED_SOURCES]
        packages.append(
            InstalledPackage(
                name=f"bin{n}",
                version=installed[source],
                arch="amd64",
                manager="dpkg",
                source_name=source,
            )
        )
    os = OsFacts(family="linux", distro="debian", version="12.7", arch="x86_64")
    return Inventory("raw", "raw", 0, (), (), (), os, (), tuple(packages))


def bench_versions(rng: random.Random) -> None:
    pairs = [
        (_version(rng) + rng.choice(["", "~rc1", "+b1"]), _version(rng)) for _ in range(200_000)
    ]
    dpkg_key.cache_clear()
    start = time.perf_counter()
    for a, b in pairs:
        compare_dpkg(a, b)
    ours = len(pairs) / (time.perf_counter() - start)
    print(f"version compare, vmguard dpkg_key (cold cache): {ours:,.0f} pairs/s")
    code = (
        "import json, sys, time, apt_pkg\n"
        "apt_pkg.init_system()\n"
        "pairs = json.load(sys.stdin)\n"
        "t = time.perf_counter()\n"
        "for a, b in pairs: apt_pkg.version_compare(a, b)\n"
        "print(len(pairs) / (time.perf_counter() - t))\n"
    )
    try:
        out = subprocess.run(
            ["/usr/bin/python3", "-c", code],
            input=json.dumps(pairs),
            capture_output=True,
            text=True,
            check=True,
        )
        print(
            f"version compare, python-apt apt_pkg.version_compare: {float(out.stdout):,.0f} pairs/s"
        )
    except (OSError, subprocess.CalledProcessError):
        print("version compare, python-apt: not installed (apt-get install python3-apt)")
    if shutil.which("dpkg"):
        few = pairs[:300]
        start = time.perf_counter()
        for a, b in few:
            subprocess.run(["dpkg", "--compare-versions", a, "lt", b], check=False)
        rate = len(few) / (time.perf_counter() - start)
        print(f"version compare, dpkg --compare-versions (process each): {rate:,.0f} pairs/s")


def main() -> None:
    rng = random.Random(2024)
    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp) / "all.zip"
        start = time.perf_counter()
        installed = make_archive(archive, rng)
        print(f"generated {ADVISORIES:,} advisories in {time.perf_counter() - start:.1f} s")
        db = Path(tmp) / "vulns.sqlite"
        start = time.perf_counter()
        with open_index(db, writable=True) as index:
            summary = import_advisories(index, [archive])
        took = time.perf_counter() - start
        added = summary.total("added")
        size = db.stat().st_size >> 20
        print(
            f"import: {added:,} advisories in {took:.1f} s "
            f"({added / took:,.0f} advisories/s, index {size} MiB)"
        )
        start = time.perf_counter()
        with open_index(db, writable=True) as index:
            summary = import_advisories(index, [archive])
        took = time.perf_counter() - start
        print(f"re-import (all unchanged): {summary.total('unchanged'):,} in {took:.1f} s")
        inventory = make_inventory(installed, rng)
        times = []
        for _ in range(3):
            dpkg_key.cache_clear()
            start = time.perf_counter()
            with open_index(db) as index:
                scan = find_vulnerabilities(inventory, index)
            findings = package_findings(scan)
            times.append(time.perf_counter() - start)
        matches = sum(len(p.matches) for p in scan.packages)
        print(
            f"match: {INSTALLED:,} packages against {ADVISORIES:,} advisories: "
            f"best {min(times):.3f} s, first {times[0]:.3f} s "
            f"({len(findings):,} vulnerable packages, {matches:,} package-advisory matches); "
            f"target < 1 s: {'met' if min(times) < 1 else 'MISSED'}"
        )
    bench_versions(rng)


if __name__ == "__main__":
    sys.exit(main())
