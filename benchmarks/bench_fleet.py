"""Fleet scan on 40 images: scaling with workers, incremental re-scan, local vs Dask.

The catalogue (built once, cached; see tests/fleetimages.py): 14 distinct Debian builds
(raw ext4 disks, each with its own host name and build id; families of two or three share
host keys, authorized keys, root password hash and AWS keys), 13 qcow2 conversions of
them, and 13 linked clones (qcow2 overlays whose raw backing files live outside the
catalogue, scanned with --allow-dir). Targets: two local workers at least 1.7x as fast as
one; a re-scan with nothing changed at least 20x faster than the first scan (two workers);
results identical between the local engine and Dask (a real ``dask scheduler`` and
``dask worker`` on loopback). Run alone: ``.venv/bin/python benchmarks/bench_fleet.py``.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import fleetimages
from guestimages import cached
from vmguard.fleet import DaskEngine, LocalEngine, collect_catalogue, load_posture, open_database
from vmguard.fleet.catalogue_scan import scan_catalogue
from vmguard.fleet.engine import ScanEngine
from vmguard.inspection import ImageOptions
from vmguard.report.fleet_json import posture_json
from vmguard.scanning import ScanOptions

TARGET_SCALING = 1.7
TARGET_RESCAN = 20.0
BUILDS = 14
CONVERSIONS = 13
CLONES = 13


def build_bench_fleet(work: Path) -> None:
    """The 40-image catalogue under work/catalogue, backing files under work/bases."""
    catalogue, bases, keys = work / "catalogue", work / "bases", work / "keys"
    for d in (catalogue, bases, keys):
        d.mkdir()
    base = fleetimages.base_filesystem(work)
    families = [fleetimages.make_identity(f"fam{i}", keys) for i in range(BUILDS // 2)]
    builds = []
    for i in range(BUILDS):
        out = catalogue / f"build-{i:02}.raw"
        fleetimages.member(base, out, f"build-{i:02}", families[i % len(families)], work)
        builds.append(out)
    for i in range(CONVERSIONS):
        fleetimages.convert(builds[i], catalogue / f"build-{i:02}-converted.qcow2")
    for i in range(CLONES):
        backing = bases / f"template-{i:02}.raw"
        fleetimages.member(base, backing, f"template-{i:02}", families[i % len(families)], work)
        fleetimages.linked_clone(backing, catalogue / f"clone-{i:02}.qcow2")
    base.unlink()


def bench_fleet() -> Path:
    """The cached benchmark catalogue."""
    return cached(
        "bench-fleet", build_bench_fleet, sources=(Path(fleetimages.__file__), Path(__file__))
    )


def run(fleet: Path, db_url: str, engine: ScanEngine) -> tuple[float, dict[str, object]]:
    """Seconds for one fleet scan, and the comparable part of the resulting posture."""
    options = ScanOptions(image=ImageOptions(allowed_dirs=(fleet / "bases",)))
    db = open_database(db_url)
    try:
        started = time.perf_counter()
        summary = scan_catalogue(collect_catalogue([str(fleet / "catalogue")]), db, engine, options)
        elapsed = time.perf_counter() - started
        if summary.errors:
            raise RuntimeError(f"images failed: {summary.errors[:3]}")
        doc = posture_json(load_posture(db))
    finally:
        db.close()
    keep = ("path", "format", "os", "hostname", "worst", "summary", "findings", "errors")
    images = [{k: v for k, v in i.items() if k in keep} for i in doc["images"]]
    return elapsed, {"images": images, "shared": doc["shared_secrets"]}


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def with_dask(fleet: Path, db_url: str) -> tuple[float, dict[str, object]]:
    """One scan on a real local Dask cluster (scheduler + 2 single-threaded workers)."""
    from distributed import Client

    dask = Path(sys.executable).with_name("dask")
    port = _port()
    address = f"tcp://127.0.0.1:{port}"
    procs = [
        subprocess.Popen(
            [
                str(dask),
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--no-dashboard",
                "--no-show",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    ]
    try:
        time.sleep(2)
        procs.append(
            subprocess.Popen(
                [
                    str(dask),
                    "worker",
                    address,
                    "--nworkers",
                    "2",
                    "--nthreads",
                    "1",
                    "--no-dashboard",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        )
        with Client(address, timeout=60) as client:
            client.wait_for_workers(2, timeout=120)
        return run(fleet, db_url, DaskEngine(address))
    finally:
        for p in reversed(procs):
            os.killpg(p.pid, signal.SIGTERM)
            p.wait()


def _burn(_: int) -> float:
    started = time.perf_counter()
    total = 0
    for i in range(10_000_000):
        total += i
    return time.perf_counter() - started


def machine_scaling() -> float:
    """How much faster two pure-CPU processes finish two jobs than one process: the ceiling
    for any 2-worker ratio on this machine right now (other load on the host lowers it)."""
    from multiprocessing import get_context

    started = time.perf_counter()
    _burn(0)
    _burn(1)
    serial = time.perf_counter() - started
    with get_context("fork").Pool(2) as pool:
        started = time.perf_counter()
        pool.map(_burn, [0, 1])
        parallel = time.perf_counter() - started
    return serial / parallel


def main() -> int:
    """Measure, print, and return 1 when a target is missed."""
    fleet = bench_fleet()
    ceiling = machine_scaling()
    count = len(collect_catalogue([str(fleet / "catalogue")]).images)
    with tempfile.TemporaryDirectory() as tmp:
        t1, one = run(fleet, f"{tmp}/one.sqlite", LocalEngine(1))
        t2, two = run(fleet, f"{tmp}/two.sqlite", LocalEngine(2))
        t3, again = run(fleet, f"{tmp}/two.sqlite", LocalEngine(2))
        td, dask = with_dask(fleet, f"{tmp}/dask.sqlite")
    scaling, rescan = t1 / t2, t2 / t3
    same = one == two == again == dask
    print(
        f"fleet of {count} images ({BUILDS} builds, {CONVERSIONS} conversions, "
        f"{CLONES} linked clones)"
    )
    print(f"  local, 1 worker : {t1:7.2f} s")
    print(f"  local, 2 workers: {t2:7.2f} s   scaling {scaling:.2f}x (target {TARGET_SCALING}x)")
    print(
        f"  re-scan, nothing changed: {t3:7.3f} s   {rescan:.0f}x faster "
        f"(target {TARGET_RESCAN:.0f}x)"
    )
    print(f"  dask, 2 workers : {td:7.2f} s   results identical to local: {same}")
    print(f"  machine ceiling : two CPU-bound processes {ceiling:.2f}x one (load on the host)")
    ok = scaling >= TARGET_SCALING and rescan >= TARGET_RESCAN and same and count == 40
    print("OK" if ok else "MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
