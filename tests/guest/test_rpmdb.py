"""rpm databases built by rpm itself (SQLite) and by Berkeley DB's db_load (BDB hash).

rpm -qa is the oracle throughout. Debian's rpm 4.18 writes only SQLite (its BDB backend
is the read-only ``bdb_ro``, which also serves as oracle for the BDB file; it has no NDB).
So: the BDB ``Packages`` is made by db5.3_load from the header blobs rpm stored in the
SQLite database (a real libdb hash file); the NDB ``Packages.db`` is written below
following rpm's backend/ndb/rpmpkg.c layout, since no tool here can produce one.
"""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from vmguard.guest.errors import GuestFactsError
from vmguard.guest.facts import InstalledPackage
from vmguard.guest.rpmdb import bdb_values, read_rpm_packages
from vmguard.guest.rpmheader import package_from_header

from .dirview import DirView

SPECS = [
    # (name, epoch, version, release)
    ("vmg-hello", None, "1.0", "1"),
    ("vmg-epoch", 3, "2.5", "7.el9"),
    ("vmg-tilde", None, "1.0~rc1^git2", "3"),
] + [(f"vmg-filler{n}", None, f"0.{n}", "1") for n in range(6)]

QF = "%{NAME} %{EPOCH} %{VERSION} %{RELEASE} %{ARCH}\\n"


def _run(*args: str) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def _rpm_qa(dbpath: Path, *backend: str) -> list[str]:
    out = _run("rpm", "--dbpath", str(dbpath), *backend, "-qa", "--qf", QF)
    return sorted(out.splitlines())


def _as_qa(packages: tuple[InstalledPackage, ...]) -> list[str]:
    """Our packages in the oracle's format (EPOCH prints "(none)" when absent)."""
    lines = []
    for p in packages:
        epoch, _, rest = p.version.rpartition(":")
        version, _, release = rest.rpartition("-")
        lines.append(f"{p.name} {epoch or '(none)'} {version} {release} {p.arch}")
    return sorted(lines)


@pytest.fixture(scope="module")
def rpm_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Real noarch rpms built by rpmbuild and installed (--justdb) into a SQLite rpmdb."""
    for tool in ("rpm", "rpmbuild"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} not installed (Debian package: rpm)")
    work = tmp_path_factory.mktemp("rpm")
    for name, epoch, version, release in SPECS:
        spec = work / f"{name}.spec"
        spec.write_text(
            f"Name: {name}\nVersion: {version}\nRelease: {release}\n"
            + (f"Epoch: {epoch}\n" if epoch is not None else "")
            + "Summary: vmguard test package\nLicense: Apache-2.0\nBuildArch: noarch\n"
            + "%description\nA package for vmguard's rpmdb tests.\n%files\n"
        )
        _run(
            "rpmbuild", "-bb", "--quiet",
            "--define", f"_topdir {work / 'top'}", "--define", f"_rpmdir {work / 'out'}",
            str(spec),
        )  # fmt: skip
    db = work / "root/var/lib/rpm"
    db.mkdir(parents=True)
    sqlite_def = ("--define", "_db_backend sqlite")
    _run("rpm", "--dbpath", str(db), *sqlite_def, "--initdb")
    rpms = sorted(str(p) for p in (work / "out/noarch").glob("*.rpm"))
    _run("rpm", "--dbpath", str(db), *sqlite_def, "-i", "--justdb", "--nodeps", *rpms)
    return work


def _blobs(sqlite_db: Path) -> list[tuple[int, bytes]]:
    # closing(): sqlite3's own context manager only commits; a connection left for the
    # garbage collector removes -wal/-shm files later, under a concurrent copytree.
    with contextlib.closing(sqlite3.connect(sqlite_db)) as conn:
        return list(conn.execute("SELECT hnum, blob FROM Packages ORDER BY hnum"))


def _copy_root(rpm_build: Path, dest: Path) -> Path:
    shutil.copytree(rpm_build / "root", dest / "root")
    return dest / "root"


def test_sqlite_matches_rpm(rpm_build: Path, tmp_path: Path) -> None:
    root = _copy_root(rpm_build, tmp_path)
    gathered = read_rpm_packages(DirView(root))
    assert gathered.problems == ()
    oracle = _rpm_qa(root / "var/lib/rpm")
    assert _as_qa(gathered.value) == oracle
    assert len(oracle) == len(SPECS)
    by_name = {p.name: p for p in gathered.value}
    assert by_name["vmg-epoch"].version == "3:2.5-7.el9"
    assert by_name["vmg-tilde"].version == "1.0~rc1^git2-3"
    assert by_name["vmg-hello"].source_name == "vmg-hello"
    assert by_name["vmg-hello"].source_version == "1.0-1"


def test_sqlite_write_ahead_log_is_applied(rpm_build: Path, tmp_path: Path) -> None:
    """A live system's rpmdb may hold its latest changes only in rpmdb.sqlite-wal."""
    root = _copy_root(rpm_build, tmp_path)
    db = root / "var/lib/rpm/rpmdb.sqlite"
    snapshot = tmp_path / "snapshot"
    snapshot.mkdir()
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA wal_autocheckpoint=0")
    hnum = conn.execute("SELECT hnum FROM Packages ORDER BY hnum LIMIT 1").fetchone()[0]
    conn.execute("DELETE FROM Packages WHERE hnum=?", (hnum,))
    conn.commit()
    for name in ("rpmdb.sqlite", "rpmdb.sqlite-wal"):  # copied while the writer is open
        shutil.copyfile(db.parent / name, snapshot / name)
    conn.close()
    assert (snapshot / "rpmdb.sqlite-wal").stat().st_size > 0
    for name in ("rpmdb.sqlite", "rpmdb.sqlite-wal"):
        shutil.copyfile(snapshot / name, db.parent / name)
    gathered = read_rpm_packages(DirView(root))
    assert len(gathered.value) == len(SPECS) - 1


def test_corrupt_header_in_sqlite_is_one_problem(rpm_build: Path, tmp_path: Path) -> None:
    root = _copy_root(rpm_build, tmp_path)
    db = root / "var/lib/rpm/rpmdb.sqlite"
    hnum, blob = _blobs(db)[0]
    hostile = struct.pack(">I", 0x7FFFFFFF) + blob[4:]
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE Packages SET blob=? WHERE hnum=?", (hostile, hnum))
    gathered = read_rpm_packages(DirView(root))
    assert len(gathered.value) == len(SPECS) - 1
    assert len(gathered.problems) == 1
    assert "index count 2147483647 out of bounds" in gathered.problems[0].reason
    with pytest.raises(GuestFactsError):
        package_from_header(hostile)


def _bdb_root(rpm_build: Path, tmp_path: Path) -> Path:
    """/var/lib/rpm/Packages made by db5.3_load from rpm's own header blobs."""
    loader = shutil.which("db5.3_load") or shutil.which("db_load")
    if loader is None:
        pytest.skip("db_load not installed (Debian package: db5.3-util)")
    blobs = _blobs(rpm_build / "root/var/lib/rpm/rpmdb.sqlite")
    lines = []
    for hnum, blob in [*blobs, (0, struct.pack("<I", max(h for h, _ in blobs)))]:
        lines.append("".join(f"\\{b:02x}" for b in struct.pack("<I", hnum)))
        lines.append("".join(f"\\{b:02x}" for b in blob))
    text = tmp_path / "load.txt"
    text.write_text("\n".join(lines) + "\n")
    dbdir = tmp_path / "root/var/lib/rpm"
    dbdir.mkdir(parents=True)
    # 512-byte pages: every header spills into overflow pages, buckets split.
    _run(
        loader,
        "-T",
        "-t",
        "hash",
        "-c",
        "db_pagesize=512",
        "-f",
        str(text),
        str(dbdir / "Packages"),
    )
    return tmp_path / "root"


def test_bdb_matches_rpm_bdb_ro(rpm_build: Path, tmp_path: Path) -> None:
    root = _bdb_root(rpm_build, tmp_path)
    gathered = read_rpm_packages(DirView(root))
    assert gathered.problems == ()
    oracle = _rpm_qa(root / "var/lib/rpm", "--define", "_db_backend bdb_ro")
    assert _as_qa(gathered.value) == oracle
    assert len(oracle) == len(SPECS)


def test_bdb_overflow_loop_is_bounded(rpm_build: Path, tmp_path: Path) -> None:
    root = _bdb_root(rpm_build, tmp_path)
    path = root / "var/lib/rpm/Packages"
    data = bytearray(path.read_bytes())
    pagesize = struct.unpack_from("<I", data, 20)[0]
    for pgno in range(1, len(data) // pagesize):
        base = pgno * pagesize
        prev_pgno = struct.unpack_from("<I", data, base + 12)[0]
        if data[base + 25] == 7 and prev_pgno == 0:  # first page of an overflow chain
            struct.pack_into("<I", data, base + 16, pgno)  # next page: itself
            break
    else:
        raise AssertionError("no overflow page in the fixture")
    path.write_bytes(bytes(data))
    gathered = read_rpm_packages(DirView(root))
    assert len(gathered.value) == len(SPECS) - 1  # the other headers are still read
    assert len(gathered.problems) == 1
    assert "looping" in gathered.problems[0].reason
    errors = [v for v in bdb_values(bytes(data), "/x") if isinstance(v, GuestFactsError)]
    assert len(errors) == 1


def _write_ndb(path: Path, blobs: list[bytes]) -> None:
    """An NDB Packages.db as rpm's rpmpkg.c lays it out: one slot page, then blobs."""
    page = bytearray(4096)
    for offset in range(0, 4096, 16):
        page[offset : offset + 4] = b"Slot"
    struct.pack_into("<4sIIII", page, 0, b"RpmP", 0, 1, 1, len(blobs) + 1)
    body = bytearray()
    blkoff = 4096 // 16
    for pkgidx, blob in enumerate(blobs, start=1):
        blkcnt = (16 + len(blob) + 12 + 15) // 16
        struct.pack_into("<4sIII", page, 16 * (pkgidx + 1), b"Slot", pkgidx, blkoff, blkcnt)
        head = struct.pack("<4sIII", b"BlbS", pkgidx, 1, len(blob))
        padded = head + blob + bytes(blkcnt * 16 - 12 - 16 - len(blob))
        body += padded + struct.pack("<II4s", zlib.adler32(padded), len(blob), b"BlbE")
        blkoff += blkcnt
    path.write_bytes(bytes(page) + bytes(body))


def test_ndb(rpm_build: Path, tmp_path: Path) -> None:
    blobs = [blob for _, blob in _blobs(rpm_build / "root/var/lib/rpm/rpmdb.sqlite")]
    dbdir = tmp_path / "usr/lib/sysimage/rpm"
    dbdir.mkdir(parents=True)
    _write_ndb(dbdir / "Packages.db", blobs)
    gathered = read_rpm_packages(DirView(tmp_path))
    assert gathered.problems == ()
    assert _as_qa(gathered.value) == _rpm_qa(rpm_build / "root/var/lib/rpm")
    data = bytearray((dbdir / "Packages.db").read_bytes())
    data[4096 + 40] ^= 0xFF  # inside the first blob: adler32 no longer matches
    (dbdir / "Packages.db").write_bytes(bytes(data))
    gathered = read_rpm_packages(DirView(tmp_path))
    assert len(gathered.value) == len(blobs) - 1
    assert [p.reason for p in gathered.problems] == ["NDB package 1: checksum mismatch"]


def test_no_database(tmp_path: Path) -> None:
    assert read_rpm_packages(DirView(tmp_path)).value == ()
    (tmp_path / "var/lib/rpm").mkdir(parents=True)
    (tmp_path / "var/lib/rpm/rpmdb.sqlite").write_bytes(b"not a database" * 100)
    gathered = read_rpm_packages(DirView(tmp_path))
    assert gathered.value == ()
    assert gathered.problems[0].where == "/var/lib/rpm/rpmdb.sqlite"


def test_rpm_guest_through_a_real_disk_image(rpm_build: Path, tmp_path: Path) -> None:
    """End to end: a Rocky-like root (os-release + rpmdb.sqlite) on ext4 in a VMDK."""
    from vmguard.inspection import ImageOptions, inspect_image

    root = _copy_root(rpm_build, tmp_path)
    (root / "etc").mkdir()
    (root / "etc/os-release").write_text(
        'NAME="Rocky Linux"\nVERSION="9.4 (Blue Onyx)"\nID="rocky"\nID_LIKE="rhel centos fedora"\n'
        'VERSION_ID="9.4"\nPRETTY_NAME="Rocky Linux 9.4 (Blue Onyx)"\n'
    )
    (root / "etc/hostname").write_text("rocky-guest\n")
    image = tmp_path / "rocky.img"
    _run("mkfs.ext4", "-q", "-d", str(root), str(image), "32M")
    vmdk = tmp_path / "rocky.vmdk"
    _run("qemu-img", "convert", "-O", "vmdk", str(image), str(vmdk))
    report = inspect_image(vmdk, ImageOptions())
    assert report.inventory is not None and report.inventory.os is not None
    assert (report.inventory.os.distro, report.inventory.os.version) == ("rocky", "9.4")
    assert _as_qa(report.inventory.packages) == _rpm_qa(root / "var/lib/rpm")
    assert {p.manager for p in report.inventory.packages} == {"rpm"}
