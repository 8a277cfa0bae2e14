"""Fleet fixtures: a small real fleet, a real PostgreSQL server and a real Dask cluster.

PostgreSQL comes from the Debian ``postgresql`` package (``make system-packages``); the
server runs from a fresh ``initdb`` in a temporary directory as the unprivileged
``postgres`` user, on a free loopback port, and is stopped after the session. Dask runs as
real ``dask scheduler`` / ``dask worker`` processes on 127.0.0.1, stopped after the module.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import fleetimages
from guestimages import cached

_PG_BIN = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def fleet_dir() -> Path:
    """The cached small fleet (see ``fleetimages.build_small_fleet``); never modify it."""
    return cached(
        "small-fleet", fleetimages.build_small_fleet, sources=(Path(fleetimages.__file__),)
    )


@pytest.fixture
def fleet_copy(fleet_dir: Path, tmp_path: Path) -> Path:
    """A private copy of the small fleet (sparse) that a test may change."""
    target = tmp_path / "fleet"
    subprocess.run(
        ["cp", "-a", "--sparse=always", "--reflink=auto", str(fleet_dir), str(target)],
        check=True,
    )
    return target


def start_detached(*cmd: str, user: str | None = None) -> int:
    """Start ``cmd`` in its own session, detached from this process tree; returns its pid.

    Nobody in the pytest process tree waits for it, so its memory never counts in the
    RUSAGE_CHILDREN peak other tests in the same xdist worker use to measure vmguard.
    """
    script = 'setsid "$@" </dev/null >/dev/null 2>&1 & echo $!'
    out = subprocess.run(
        ["sh", "-c", script, "sh", *cmd], capture_output=True, check=True, user=user, group=user
    )
    return int(out.stdout.decode().strip())


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def stop_detached(pid: int, sig: int = signal.SIGTERM) -> None:
    """Signal the process group ``start_detached`` created, then wait for it to go."""
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        return
    for _ in range(600):
        if not _alive(pid):
            return
        time.sleep(0.1)
    os.killpg(pid, signal.SIGKILL)


def _wait_for_port(port: int, pid: int, what: str) -> None:
    for _ in range(600):
        if not _alive(pid):
            raise RuntimeError(f"{what} exited")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not listen on port {port}")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A real PostgreSQL server on loopback, started from a fresh cluster for this session."""
    if not _PG_BIN:
        pytest.skip("PostgreSQL server binaries missing: run `make system-packages` (postgresql)")
    bindir = _PG_BIN[-1].parent
    base = Path(tempfile.mkdtemp(prefix="vmguard-pg-"))
    data, sockets = base / "data", base / "sock"
    sockets.mkdir()
    port = free_port()
    user = None
    if os.geteuid() == 0:  # initdb refuses root: run the server as the package's user
        shutil.chown(base, "postgres")
        shutil.chown(sockets, "postgres")
        user = "postgres"
    subprocess.run(
        [
            str(bindir / "initdb"),
            "-D",
            str(data),
            "-U",
            "vmguard",
            "--auth=trust",
            "--no-sync",
            "-E",
            "UTF8",
        ],
        check=True,
        capture_output=True,
        user=user,
        group=user,
    )
    server = start_detached(
        str(bindir / "postgres"),
        "-D",
        str(data),
        "-p",
        str(port),
        "-c",
        "listen_addresses=127.0.0.1",
        "-c",
        f"unix_socket_directories={sockets}",
        "-c",
        "fsync=off",
        user=user,
    )
    try:
        _wait_for_port(port, server, "postgres")
        yield f"postgresql://vmguard@127.0.0.1:{port}/postgres"
    finally:
        stop_detached(server, signal.SIGINT)  # fast shutdown of the server we started
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def postgres_db(postgres_url: str) -> Iterator[str]:
    """A fresh, empty database on the session's server, dropped afterwards."""
    import psycopg

    name = f"fleet_{os.getpid()}_{time.monotonic_ns()}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield postgres_url.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def dask_scheduler() -> Iterator[str]:
    """A real ``dask scheduler`` and one ``dask worker`` process (2 workers) on loopback."""
    pytest.importorskip("distributed")
    dask = Path(sys.executable).with_name("dask")
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    scheduler = start_detached(
        str(dask),
        "scheduler",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-dashboard",
        "--no-show",
    )
    worker = None
    try:
        _wait_for_port(port, scheduler, "dask scheduler")
        worker = start_detached(
            str(dask),
            "worker",
            address,
            "--nworkers",
            "2",
            "--nthreads",
            "1",
            "--no-dashboard",
            "--host",
            "127.0.0.1",
            "--memory-limit",
            "4GiB",
        )
        from distributed import Client

        with Client(address, timeout=60) as client:
            client.wait_for_workers(2, timeout=120)
        yield address
    finally:
        for pid in (worker, scheduler):
            if pid is not None:
                stop_detached(pid)
