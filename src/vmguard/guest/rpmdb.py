"""Installed rpm packages from the three rpm database formats, parsed without librpm.

* SQLite ``rpmdb.sqlite`` (rpm >= 4.16): table ``Packages``, one header blob per row.
  The database (and its write-ahead log) is copied into a private temporary directory
  and opened there with the standard library's sqlite3, read only in effect.
* Berkeley DB hash ``Packages`` (rpm < 4.16): pages are scanned in file order, so no
  bucket chain is followed; overflow chains are followed with a visited set.
* NDB ``Packages.db`` (SUSE): slot pages then blobs, each with head, tail and adler32.

Every header blob goes to ``rpmheader.package_from_header``. One bad blob is a problem,
the rest of the database is still read.
"""

from __future__ import annotations

import sqlite3
import struct
import tempfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

from vmguard.guest.errors import GuestFactsError, read_guest_file
from vmguard.guest.facts import Gathered, InstalledPackage
from vmguard.guest.rpmheader import package_from_header
from vmguard.guest.view import GuestView
from vmguard.problems import Problem, Stage

RPMDB_MAX = 256 * 1024 * 1024
"""Cap on one rpm database file: headers carry file lists, so a full RHEL 7 install's
BDB ``Packages`` runs past 64 MiB."""
MAX_PACKAGES = 100_000
"""Header blobs read from one database at most."""
RPMDB_DIRS = ("/usr/lib/sysimage/rpm", "/var/lib/rpm")
_SQLITE_STEPS = 50_000_000
"""SQLite VM steps allowed for the query (a hostile schema cannot make it run forever)."""

# Berkeley DB hash format (db 4.x/5.x): meta page, page header and item types.
_BDB_HASH_MAGIC = 0x061561
_P_HASH_UNSORTED, _P_OVERFLOW, _P_HASH = 2, 7, 13
_H_KEYDATA, _H_OFFPAGE = 1, 3
_PAGE_HEADER = 26

# rpm NDB format (rpm's backend/ndb/rpmpkg.c).
_NDB_MAGIC, _SLOT_MAGIC = b"RpmP", b"Slot"
_BLOB_HEAD_MAGIC, _BLOB_TAIL_MAGIC = b"BlbS", b"BlbE"
_NDB_PAGE, _NDB_BLK, _NDB_SLOT = 4096, 16, 16


def sqlite_blobs(main: bytes, wal: bytes | None, path: str) -> list[bytes]:
    """Header blobs of an rpmdb.sqlite file (with its -wal log, if any), in hnum order."""
    with tempfile.TemporaryDirectory(prefix="vmguard-rpmdb-") as tmp:
        db_path = Path(tmp) / "rpmdb.sqlite"
        try:
            db_path.write_bytes(main)
            if wal:
                (Path(tmp) / "rpmdb.sqlite-wal").write_bytes(wal)
            conn = sqlite3.connect(db_path, isolation_level=None)
        except (OSError, sqlite3.Error) as err:
            raise GuestFactsError(path, f"cannot stage SQLite rpm database: {err}") from err
        try:
            conn.set_progress_handler(_step_budget(), 1000)
            # Text the file holds stays bytes: sqlite3 would decode it as UTF-8 and a corrupt
            # schema row raised UnicodeDecodeError (found by fuzzing).
            conn.text_factory = bytes
            conn.execute("PRAGMA trusted_schema=OFF")
            kind = conn.execute("SELECT type FROM sqlite_master WHERE name='Packages'").fetchone()
            if kind is None or kind[0] != b"table":
                raise GuestFactsError(path, "no Packages table")
            rows = conn.execute(
                "SELECT blob FROM Packages ORDER BY hnum LIMIT ?", (MAX_PACKAGES,)
            ).fetchall()
        except (sqlite3.Error, ValueError) as err:
            raise GuestFactsError(path, f"unreadable SQLite rpm database: {err}") from err
        finally:
            conn.close()
    return [row[0] for row in rows if isinstance(row[0], bytes)]


def _step_budget() -> Callable[[], int]:
    """A progress handler that aborts the statement after ``_SQLITE_STEPS`` VM steps."""
    calls = [0]

    def handler() -> int:
        calls[0] += 1
        return 1 if calls[0] * 1000 > _SQLITE_STEPS else 0

    return handler


def _bdb_overflow(data: bytes, fmt: str, pagesize: int, pgno: int, total: int) -> bytes:
    """The ``total`` bytes of an overflow chain starting at page ``pgno``."""
    npages = len(data) // pagesize
    parts: list[bytes] = []
    have, seen = 0, set()
    while have < total:
        if pgno == 0 or pgno >= npages or pgno in seen:
            raise GuestFactsError("", f"BDB overflow chain broken or looping at page {pgno}")
        seen.add(pgno)
        base = pgno * pagesize
        (next_pgno,) = struct.unpack_from(fmt + "I", data, base + 16)
        (length,) = struct.unpack_from(fmt + "H", data, base + 22)
        if data[base + 25] != _P_OVERFLOW or length > pagesize - _PAGE_HEADER:
            raise GuestFactsError("", f"BDB page {pgno} is not a valid overflow page")
        parts.append(data[base + _PAGE_HEADER : base + _PAGE_HEADER + length])
        have += length
        pgno = next_pgno
    return b"".join(parts)[:total]


def bdb_values(data: bytes, path: str) -> Iterator[bytes | GuestFactsError]:
    """The data items of a Berkeley DB hash database, in page order (keys dropped).

    rpm's record 0 (which stores the next instance number) is skipped. An item whose
    overflow chain is broken is yielded as a ``GuestFactsError`` and the scan goes on;
    a file that is not a readable BDB hash database raises ``GuestFactsError``.
    """
    if len(data) < 512:
        raise GuestFactsError(path, "too short for a Berkeley DB file")
    for fmt in ("<", ">"):
        if struct.unpack_from(fmt + "I", data, 12)[0] == _BDB_HASH_MAGIC:
            break
    else:
        raise GuestFactsError(path, "not a Berkeley DB hash database")
    (pagesize,) = struct.unpack_from(fmt + "I", data, 20)
    if pagesize < 512 or pagesize > 65536 or pagesize & (pagesize - 1):
        raise GuestFactsError(path, f"bad Berkeley DB page size {pagesize}")
    if data[24] != 0 or data[26] & 1:
        raise GuestFactsError(path, "encrypted or checksummed Berkeley DB is not supported")
    (last_pgno,) = struct.unpack_from(fmt + "I", data, 32)
    npages = min(len(data) // pagesize, last_pgno + 1)
    for pgno in range(1, npages):
        page = data[pgno * pagesize : (pgno + 1) * pagesize]
        if page[25] not in (_P_HASH, _P_HASH_UNSORTED):
            continue
        (entries,) = struct.unpack_from(fmt + "H", page, 20)
        offsets = (
            struct.unpack_from(f"{fmt}{entries}H", page, _PAGE_HEADER)
            if (_PAGE_HEADER + 2 * entries <= pagesize)
            else ()
        )
        for i in range(0, len(offsets) - 1, 2):
            key_off, val_off = offsets[i], offsets[i + 1]
            key_end = pagesize if i == 0 else offsets[i - 1]
            if not (_PAGE_HEADER < val_off < key_off < key_end <= pagesize):
                yield GuestFactsError(path, f"BDB page {pgno}: item offsets out of order")
                break
            if page[key_off] == _H_KEYDATA and page[key_off + 1 : key_end] == b"\0\0\0\0":
                continue
            kind = page[val_off]
            if kind == _H_KEYDATA:
                yield page[val_off + 1 : key_off]
            elif kind == _H_OFFPAGE and val_off + 12 <= key_off:
                first, total = struct.unpack_from(fmt + "II", page, val_off + 4)
                if total > RPMDB_MAX:
                    raise GuestFactsError(path, f"BDB item of {total} bytes")
                try:
                    yield _bdb_overflow(data, fmt, pagesize, first, total)
                except GuestFactsError as err:
                    yield GuestFactsError(path, f"BDB page {pgno}: {err.reason}")
            else:
                yield GuestFactsError(path, f"BDB page {pgno}: unsupported item type {kind}")


def ndb_blobs(data: bytes, path: str) -> Iterator[bytes | GuestFactsError]:
    """Header blobs of an rpm NDB ``Packages.db``, in slot order.

    A damaged blob is yielded as a ``GuestFactsError`` (slots are independent); a
    damaged file header or slot page raises it.
    """
    if len(data) < _NDB_PAGE or data[:4] != _NDB_MAGIC:
        raise GuestFactsError(path, "not an rpm NDB package database")
    version, _generation, slot_pages = struct.unpack_from("<III", data, 4)
    if version != 0 or slot_pages == 0 or slot_pages * _NDB_PAGE > len(data):
        raise GuestFactsError(path, f"bad NDB header (version {version}, {slot_pages} pages)")
    for offset in range(32, min(slot_pages * _NDB_PAGE, MAX_PACKAGES * _NDB_SLOT), _NDB_SLOT):
        magic, pkgidx, blkoff, blkcnt = struct.unpack_from("<4sIII", data, offset)
        if magic != _SLOT_MAGIC:
            raise GuestFactsError(path, f"bad NDB slot at offset {offset}")
        if blkoff == 0:
            continue
        start, end = blkoff * _NDB_BLK, (blkoff + blkcnt) * _NDB_BLK
        if blkoff < slot_pages * _NDB_PAGE // _NDB_BLK or end > len(data) or blkcnt < 2:
            yield GuestFactsError(path, f"NDB package {pkgidx}: blob out of bounds")
            continue
        head, idx, _gen, length = struct.unpack_from("<4sIII", data, start)
        tail_adler, tail_length, tail = struct.unpack_from("<II4s", data, end - 12)
        if (
            head != _BLOB_HEAD_MAGIC
            or tail != _BLOB_TAIL_MAGIC
            or idx != pkgidx
            or length != tail_length
            or blkcnt != (16 + length + 12 + _NDB_BLK - 1) // _NDB_BLK
        ):
            yield GuestFactsError(path, f"NDB package {pkgidx}: damaged blob")
        elif zlib.adler32(data[start : end - 12]) != tail_adler:
            yield GuestFactsError(path, f"NDB package {pkgidx}: checksum mismatch")
        else:
            yield data[start + 16 : start + 16 + length]


def _packages(
    blobs: Iterator[bytes | GuestFactsError] | list[bytes], path: str
) -> Gathered[tuple[InstalledPackage, ...]]:
    """Packages of header blobs; a bad blob or a broken database becomes a problem."""
    packages: list[InstalledPackage] = []
    problems: list[Problem] = []
    try:
        for number, blob in enumerate(blobs):
            if number >= MAX_PACKAGES:
                problems.append(
                    Problem(Stage.FACTS, path, f"only the first {MAX_PACKAGES} headers read")
                )
                break
            if isinstance(blob, GuestFactsError):
                problems.append(Problem(Stage.FACTS, path, blob.reason))
                continue
            try:
                packages.append(package_from_header(blob))
            except GuestFactsError as err:
                problems.append(Problem(Stage.FACTS, path, f"header {number}: {err.reason}"))
    except GuestFactsError as err:
        problems.append(Problem(Stage.FACTS, path, err.reason))
    return Gathered(tuple(packages), tuple(problems))


def read_rpm_packages(view: GuestView) -> Gathered[tuple[InstalledPackage, ...]]:
    """Installed rpm packages from the first rpm database found.

    /usr/lib/sysimage/rpm is tried before /var/lib/rpm, and in each directory SQLite,
    then NDB, then BDB: the order in which rpm moved between them.
    """
    for directory in RPMDB_DIRS:
        path = ""
        try:
            path = f"{directory}/rpmdb.sqlite"
            main = read_guest_file(view, path, RPMDB_MAX)
            if main is not None:
                wal = read_guest_file(view, path + "-wal", RPMDB_MAX)
                return _packages(sqlite_blobs(main, wal, path), path)
            path = f"{directory}/Packages.db"
            data = read_guest_file(view, path, RPMDB_MAX)
            if data is not None:
                return _packages(ndb_blobs(data, path), path)
            path = f"{directory}/Packages"
            data = read_guest_file(view, path, RPMDB_MAX)
            if data is not None:
                return _packages(bdb_values(data, path), path)
        except GuestFactsError as err:
            return Gathered((), (Problem(Stage.FACTS, err.path or path, err.reason),))
    return Gathered(())
