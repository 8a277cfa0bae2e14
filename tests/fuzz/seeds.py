"""Seed inputs for every harness, made by the real tools (qemu-img, sfdisk, cryptsetup, LVM,
mkfs, rpm, hivexsh, vmguard sign) and by the files vmguard's tests already hold; the
harnesses added later have theirs in diskseeds.py and guestseeds.py. Disk images are kept
packed (packed.py), which makes them kilobytes instead of megabytes.

Seeds are built once into ``<cache>/<harness>/`` (``.fuzz/seeds`` by default, git-ignored)
and reused; a seed whose tool is missing is left out, and a harness never has none (its
reproducers and a few bytes of the right magic are always there).
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import sqlite3
import struct
import subprocess
import zipfile
from collections.abc import Callable
from contextlib import closing, suppress
from pathlib import Path

from . import diskseeds, guestseeds

TESTS = Path(__file__).resolve().parents[1]
CORPUS = TESTS / "data" / "corpus"
MIB = 1 << 20


def _run(*cmd: str | Path, cwd: Path | None = None, stdin: str | None = None) -> str:
    done = subprocess.run(
        [str(c) for c in cmd], capture_output=True, text=True, cwd=cwd, input=stdin, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{cmd[0]}: {done.stderr.strip()[:300]}")
    return done.stdout


def _raw(path: Path, size: int) -> Path:
    with path.open("wb") as f:
        f.truncate(size)
    return path


def _content_raw(work: Path, size: int = 2 * MIB) -> Path:
    """A raw disk with an MBR and some non-zero data, so containers hold allocated clusters."""
    raw = _raw(work / "content.raw", size)
    _run("sfdisk", "-q", raw, stdin="label: dos\n,1M,L\n")
    with raw.open("r+b") as f:
        for n in range(8):
            f.seek(n * 200_000 + 4096)
            f.write(bytes([n + 1]) * 3000)
    return raw


def containers(work: Path, fmt: str) -> None:
    raw = _content_raw(work)
    variants = {
        "qcow2": [("-o", "compat=0.10"), ("-o", "compat=1.1"), ("-c",),
                  ("-o", "compat=1.1,extended_l2=on,cluster_size=64k"),
                  ("-o", "compression_type=zstd", "-c")],
        "vmdk": [("-o", "subformat=monolithicSparse"), ("-o", "subformat=streamOptimized")],
        "vpc": [("-o", "subformat=dynamic"), ("-o", "subformat=fixed")],
        "vhdx": [("-o", "subformat=dynamic"), ("-o", "subformat=fixed,block_size=1M")],
    }[fmt]  # fmt: skip
    for n, options in enumerate(variants):
        with suppress(RuntimeError):
            _run("qemu-img", "convert", "-O", fmt, *options, raw, work / f"seed{n}.{fmt}")
    if fmt == "vmdk":  # a descriptor whose extents are refused (the harness opens no file)
        _run("qemu-img", "create", "-f", "vmdk", "-o", "subformat=monolithicFlat",
             work / "flat.vmdk", "1M")  # fmt: skip
        (work / "flat-flat.vmdk").unlink()
    raw.unlink()


def ova(work: Path) -> None:
    raw = _content_raw(work)
    disk = work / "disk.vmdk"
    _run("qemu-img", "convert", "-O", "vmdk", "-o", "subformat=streamOptimized", raw, disk)
    ovf = (
        '<?xml version="1.0"?><Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" '
        'xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1"><References>'
        '<File ovf:href="disk.vmdk" ovf:id="f1"/></References><DiskSection>'
        '<Disk ovf:diskId="d1" ovf:fileRef="f1" ovf:capacity="2097152"/></DiskSection>'
        '<VirtualSystem ovf:id="vm"><Name>vm</Name></VirtualSystem></Envelope>'
    )
    (work / "vm.ovf").write_text(ovf)
    _run("tar", "--format=ustar", "-cf", work / "seed.ova", "vm.ovf", "disk.vmdk", cwd=work)
    for leftover in (raw, disk, work / "vm.ovf"):
        leftover.unlink()


def probe(work: Path) -> None:
    for fmt in ("qcow2", "vmdk", "vpc", "vhdx"):
        containers(work, fmt)
        for path in work.glob("seed*"):
            path.rename(work / f"{fmt}-{path.name}")
    _run("qemu-img", "create", "-f", "qed", work / "seed.qed", "1M")


def partitions(work: Path, label: str) -> None:
    disk = _raw(work / f"seed.{label}", 4 * MIB)
    script = "label: gpt\n,1M,L\n,1M,L\n" if label == "gpt" else "label: dos\n,1M,L\n,,E\n,512K,L\n"
    _run("sfdisk", "-q", disk, stdin=script)


def other_tables(work: Path) -> None:
    """APM, BSD, Sun, SGI, Amiga and Atari tables as parted writes them, each with one
    partition, and an MBR whose FreeBSD slice holds parted's BSD label."""
    for label in ("mac", "bsd", "sun", "dvh", "amiga", "atari"):
        disk = _raw(work / f"seed.{label}", 6 * MIB)
        _run("parted", "-s", disk, "mklabel", label)
        named = ["parted", "-s", str(disk), "mkpart", "primary", "ext4", "3MiB", "5MiB"]
        if subprocess.run(named, capture_output=True, check=False).returncode != 0:
            _run("parted", "-s", disk, "mkpart", "ext4", "3MiB", "5MiB")
    sliced = _raw(work / "seed.mbr-bsd", 7 * MIB)
    _run("sfdisk", "-q", sliced, stdin="label: dos\nstart=2048, type=a5\n")
    with sliced.open("r+b") as f:
        f.seek(MIB)
        f.write((work / "seed.bsd").read_bytes()[: 64 * 1024])


def lvm(work: Path) -> None:
    """A volume group with two LVs on a loop device (LVM needs a block device; root only)."""
    if os.geteuid() != 0 or shutil.which("losetup") is None:
        raise RuntimeError("LVM seeds need root and losetup")
    disk = _raw(work / "seed.lvm", 12 * MIB)
    dev = _run("losetup", "-f", "--show", disk).strip()
    try:
        options = ("--driverloaded", "n", "--devices", dev,
                   "--config", "backup { backup = 0 archive = 0 }")  # fmt: skip
        _run("pvcreate", "-q", *options, dev)
        _run("vgcreate", "-q", "-s", "1M", *options, "fuzzvg", dev)
        for name in ("root", "home"):
            _run("lvcreate", "-q", "-an", "-Zn", *options, "-L", "2M", "-n", name, "fuzzvg")
    finally:
        _run("losetup", "-d", dev)


def filesystems(work: Path, kind: str) -> None:
    tree = work / "tree"
    (tree / "etc").mkdir(parents=True)
    (tree / "etc/os-release").write_text('ID=debian\nVERSION_ID="12"\n')
    (tree / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/bash\n")
    (tree / "etc/link").symlink_to("os-release")
    image = _raw(work / f"seed.{kind}", 4 * MIB)
    if kind == "ext":
        for n, features in enumerate(("^has_journal", "metadata_csum,^has_journal")):
            target = _raw(work / f"seed{n}.ext4", 4 * MIB)
            _run("mkfs.ext4", "-q", "-F", "-O", features, "-d", tree, target)
        _run("mkfs.ext2", "-q", "-F", "-d", tree, image)
    elif kind == "fat":
        _run("mkfs.vfat", image)
        _run("mcopy", "-s", "-i", image, tree / "etc", "::/")
    elif kind == "ntfs":
        _run("mkntfs", "-q", "-F", "-f", image)
    shutil.rmtree(tree)


def _rpm_blobs(work: Path) -> list[bytes]:
    """Header blobs of two real packages: rpmbuild, then rpm -i --justdb into SQLite."""
    for name, version in (("alpha", "1.0"), ("beta", "2.3")):
        spec = work / f"{name}.spec"
        spec.write_text(
            f"Name: {name}\nVersion: {version}\nRelease: 1\nSummary: fuzz seed\n"
            "License: Apache-2.0\nBuildArch: noarch\n%description\nseed\n%files\n"
        )
        _run("rpmbuild", "-bb", "--quiet", "--define", f"_topdir {work / 'top'}",
             "--define", f"_rpmdir {work / 'out'}", spec)  # fmt: skip
    db = work / "db"
    db.mkdir()
    backend = ("--define", "_db_backend sqlite")
    _run("rpm", "--dbpath", db, *backend, "--initdb")
    rpms = sorted(str(p) for p in (work / "out/noarch").glob("*.rpm"))
    _run("rpm", "--dbpath", db, *backend, "-i", "--justdb", "--nodeps", *rpms)
    with closing(sqlite3.connect(db / "rpmdb.sqlite")) as conn:
        blobs = [bytes(b) for (b,) in conn.execute("SELECT blob FROM Packages ORDER BY hnum")]
    shutil.copy(db / "rpmdb.sqlite", work / "rpmdb.sqlite")
    for leftover in ("top", "out", "db"):
        shutil.rmtree(work / leftover)
    for spec in work.glob("*.spec"):
        spec.unlink()
    return blobs


def _packages_only(db: Path) -> None:
    """rpm's database with its index tables dropped (SQLite's VACUUM): the reader queries
    sqlite_master and Packages only, and 53 pages of indexes were 95% of every input."""
    with closing(sqlite3.connect(db)) as conn:
        names = [n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for name in names:
            if name not in ("Packages", "sqlite_sequence"):
                conn.execute(f'DROP TABLE "{name}"')
        conn.commit()
        conn.execute("VACUUM")


def rpm(work: Path, kind: str) -> None:
    blobs = _rpm_blobs(work)
    sqlite_seed = work / "rpmdb.sqlite"
    if kind == "rpm-sqlite":
        _packages_only(sqlite_seed)
        return
    sqlite_seed.unlink()
    if kind == "rpm-header":
        for n, blob in enumerate(blobs):
            (work / f"header{n}").write_bytes(blob)
    elif kind == "rpm-bdb":
        lines = []
        for hnum, blob in [*enumerate(blobs, 1), (0, struct.pack("<I", len(blobs)))]:
            lines.append("".join(f"\\{b:02x}" for b in struct.pack("<I", hnum)))
            lines.append("".join(f"\\{b:02x}" for b in blob))
        (work / "load.txt").write_text("\n".join(lines) + "\n")
        loader = shutil.which("db5.3_load") or "db_load"
        _run(loader, "-T", "-t", "hash", "-c", "db_pagesize=512", "-f", work / "load.txt",
             work / "Packages")  # fmt: skip
        (work / "load.txt").unlink()
    elif kind == "rpm-ndb":
        from guest.test_rpmdb import _write_ndb  # the layout rpm's rpmpkg.c writes

        _write_ndb(work / "Packages.db", blobs)


def registry(work: Path) -> None:
    from guest.test_windows import SOFTWARE_SCRIPT, SYSTEM_SCRIPT, _hivexsh
    from windowshives import empty_hive

    for name, script in (("software", SOFTWARE_SCRIPT), ("system", SYSTEM_SCRIPT)):
        empty_hive(work / name)
        _hivexsh(work / name, script)


def host_files(work: Path, paths: tuple[str, ...], limit: int = 64 * 1024) -> None:
    """Files of this machine, as a guest would hold them (bounded)."""
    for n, path in enumerate(paths):
        with suppress(OSError), open(path, "rb") as f:
            (work / f"host{n}").write_bytes(f.read(limit))


def dpkg(work: Path, size: int = 6 * 1024) -> None:
    """Three windows of this machine's dpkg status, each cut at a paragraph boundary: the
    same stanzas as the whole file, at a tenth of the parsing per execution."""
    status = Path("/var/lib/dpkg/status").read_bytes()
    for n, start in enumerate((0, len(status) // 3, 2 * len(status) // 3)):
        if start:
            start = status.find(b"\n\n", start) + 2
        window = status[start : start + size]
        (work / f"status{n}").write_bytes(window[: window.rfind(b"\n\n") + 2] or window)


def accounts(work: Path) -> None:
    passwd = Path("/etc/passwd").read_bytes()[:16384]
    shadow = b"root:$6$salt$" + b"x" * 86 + b":19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n"
    (work / "seed").write_bytes(passwd + b"\0" + shadow)


def apk(work: Path) -> None:
    from guest.test_apk import INSTALLED

    (work / "installed").write_text(INSTALLED)


def corpus(work: Path, suffixes: tuple[str, ...], limit: int = 40, largest: int = 8192) -> None:
    """Definitions of the corpus, spread over it; at most ``largest`` bytes each (the few
    larger files hold the same elements, and parsing them would cost the campaign's rate)."""
    files = sorted(
        p for p in CORPUS.rglob("*") if p.suffix in suffixes and p.stat().st_size <= largest
    )
    step = max(1, len(files) // limit)
    for path in files[::step][:limit]:
        shutil.copy(path, work / path.name)


def osv(work: Path, kind: str) -> None:
    from vulns.osvdata import debian_record, rocky_record

    cvss = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"
    records = [
        debian_record("DSA-1-1", "glibc", "2.36-1"),
        rocky_record("RLSA-1", {"bash": "5.1-1.el9"}, cvss),
    ]
    if kind == "osv-json":
        (work / "one.json").write_text(json.dumps(records[0]))
        (work / "list.json").write_text(json.dumps(records))
        return
    for compression in (zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED):
        with zipfile.ZipFile(work / f"all{compression}.zip", "w", compression) as archive:
            for record in records:
                archive.writestr(f"{record['id']}.json", json.dumps(record))


def envelope(work: Path, kind: str) -> None:
    """An envelope made by ``vmguard sign`` over a qemu-img disk and a corpus definition."""
    from clirunner import vmguard

    disk = work / "disk.qcow2"
    _run("qemu-img", "convert", "-O", "qcow2", _content_raw(work), disk)
    definition = work / "vm.vmx"
    shutil.copy(CORPUS / "vmx/libvirt/esx-in-the-wild-2.vmx", definition)
    key = work / "key.pem"
    for step in (("keygen", "-o", key), ("sign", disk, definition, "--key", key, "-o", work / "e")):
        run = vmguard(*step)
        if run.code != 0:
            raise RuntimeError(run.stderr)
    signed = work / "e"
    if kind == "statement":
        import base64

        payload = base64.b64decode(json.loads(signed.read_bytes())["payload"])
        (work / "statement.json").write_bytes(payload)
        signed.unlink()
    for leftover in ("disk.qcow2", "vm.vmx", "key.pem", "key.pem.pub", "content.raw"):
        (work / leftover).unlink(missing_ok=True)


BUILDERS: dict[str, Callable[[Path], None]] = {
    "qcow2": lambda w: containers(w, "qcow2"),
    "vmdk": lambda w: containers(w, "vmdk"),
    "vhd": lambda w: containers(w, "vpc"),
    "vhdx": lambda w: containers(w, "vhdx"),
    "ova": ova,
    "probe": probe,
    "gpt": lambda w: partitions(w, "gpt"),
    "mbr": lambda w: partitions(w, "mbr"),
    "lvm": lvm,
    "other-tables": other_tables,
    "luks": diskseeds.luks_headers,
    "ext": lambda w: filesystems(w, "ext"),
    "fat": lambda w: filesystems(w, "fat"),
    "ntfs": lambda w: filesystems(w, "ntfs"),
    "os-release": lambda w: host_files(w, ("/etc/os-release", "/usr/lib/os-release")),
    "accounts": accounts,
    "dpkg": dpkg,
    "rpm-header": lambda w: rpm(w, "rpm-header"),
    "rpm-sqlite": lambda w: rpm(w, "rpm-sqlite"),
    "rpm-bdb": lambda w: rpm(w, "rpm-bdb"),
    "rpm-ndb": lambda w: rpm(w, "rpm-ndb"),
    "apk": apk,
    "registry": registry,
    "libvirt-xml": lambda w: corpus(w, (".xml",)),
    "vmx": lambda w: corpus(w, (".vmx",)),
    "vbox": lambda w: corpus(w, (".vbox",)),
    "ovf": lambda w: corpus(w, (".ovf",)),
    "osv-json": lambda w: osv(w, "osv-json"),
    "osv-zip": lambda w: osv(w, "osv-zip"),
    "envelope": lambda w: envelope(w, "envelope"),
    "statement": lambda w: envelope(w, "statement"),
    "btrfs": diskseeds.btrfs,
    "luks-unlock": diskseeds.luks_unlock,
    "bitlocker": diskseeds.bitlocker,
    "windows-registry": guestseeds.windows_registry,
    "windows-files": guestseeds.windows_files,
    "secrets": guestseeds.secrets,
    "app-python": guestseeds.app_python,
    "app-node": guestseeds.app_node,
    "app-java": guestseeds.app_java,
    "app-manifests": guestseeds.app_manifests,
    "app-binary": guestseeds.app_binary,
}


def seed_dir(cache: Path, name: str) -> Path:
    """The seeds of harness ``name``, built on first use (``.complete`` marks a finished set)."""
    work = cache / name
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / f".{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # pytest workers may build the same set at once
        if (work / ".complete").exists():
            return work
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        try:
            BUILDERS[name](work)
        except Exception as err:  # a missing tool leaves the harness its reproducers only
            (work / ".unavailable").write_text(f"{type(err).__name__}: {err}\n")
        if name in diskseeds.PACKED_HARNESSES:
            diskseeds.pack_seeds(work)
        (work / ".complete").touch()
    return work


def seeds(cache: Path, name: str) -> list[bytes]:
    """Seed inputs of harness ``name`` (never empty)."""
    work = seed_dir(cache, name)
    found = [p.read_bytes() for p in sorted(work.iterdir()) if not p.name.startswith(".")]
    return found or [b"\0" * 512]
