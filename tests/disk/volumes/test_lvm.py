"""LVM2 on a real volume group: made by pvcreate/vgcreate/lvcreate on loop devices.

Device-mapper is not needed: ``--driverloaded n`` lets the LVM tools write metadata without
activating anything, and LV contents are written with ``dd`` at the extents ``lvs`` and
``pvs`` report; our reading is compared with those bytes read back by ``dd``. (libvslvm
20240301 was tried as a second oracle and cannot read this VG: it fails on a two-stripe
"stripes" list, and without it on the three-PV mapping, "invalid physical volume value
already set".) Hostile cases patch the real metadata (with recomputed CRCs).
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from vmguard.disk.limits import Limits
from vmguard.disk.source import FileSource
from vmguard.disk.volumes.interface import VolumeLayout
from vmguard.disk.volumes.lvm import MDA_MAGIC, lvm_crc, parse_metadata
from vmguard.disk.volumes.scan import scan_volumes

MIB = 1 << 20
PART_A, PART_B, PART_SIZE = 1 * MIB, 33 * MIB, 32 * MIB
ENV = {**os.environ, "LVM_SUPPRESS_FD_WARNINGS": "1"}


def _can_use_lvm() -> str | None:
    if os.geteuid() != 0:
        return "needs root for loop devices"
    for tool in ("losetup", "pvcreate", "sfdisk", "mkfs.ext4", "dd"):
        if shutil.which(tool) is None:
            return f"needs {tool}"
    return None


pytestmark = pytest.mark.skipif(_can_use_lvm() is not None, reason=str(_can_use_lvm()))


@dataclass
class LvmDisk:
    """A GPT disk with two PV partitions (a, b) of one VG; a third PV is on another disk."""

    path: Path
    vg: str
    lvs: dict[str, dict[str, str]]
    segments: dict[str, list[tuple[int, int, str, int]]]
    """LV -> (first LE, extent count, "a"/"b"/"c", first PE) from lvs."""
    extent: int
    pe_start: dict[str, int]
    content: dict[str, bytes]


def _run(*cmd: str) -> str:
    done = subprocess.run(cmd, capture_output=True, text=True, env=ENV)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: {done.stderr.strip()}")
    return done.stdout


def _lvm(devices: list[str], *cmd: str) -> str:
    options = ["--driverloaded", "n", "--devices", ",".join(devices),
               "--config", "backup { backup = 0 archive = 0 }"]  # fmt: skip
    return _run(cmd[0], *options, *cmd[1:])


@pytest.fixture(scope="module")
def lvm_disk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LvmDisk]:
    tmp = tmp_path_factory.mktemp("lvm")
    disk, far = tmp / "disk.img", tmp / "far.img"
    with disk.open("wb") as f:
        f.truncate(80 * MIB)
    with far.open("wb") as f:
        f.truncate(16 * MIB)
    lvm_type = "type=E6D6D379-F507-44C2-A23C-238F2A3DF928"
    subprocess.run(
        ["sfdisk", "-q", str(disk)],
        input=f"label: gpt\nstart=2048, size=65536, {lvm_type}\nsize=65536, {lvm_type}\n"
        f"size=8192, {lvm_type}, name=nolabel\n",
        text=True,
        check=True,
    )
    loops: dict[str, str] = {}
    try:
        for key, args in (
            ("a", ["-o", str(PART_A), "--sizelimit", str(PART_SIZE), str(disk)]),
            ("b", ["-o", str(PART_B), "--sizelimit", str(PART_SIZE), str(disk)]),
            ("c", [str(far)]),
        ):
            try:
                loops[key] = _run("losetup", "-f", "--show", *args).strip()
            except RuntimeError as err:
                pytest.skip(f"loop devices unavailable: {err}")
        yield _build_vg(disk, loops)
    finally:
        for loop in loops.values():
            subprocess.run(["losetup", "-d", loop], check=False)


def _build_vg(disk: Path, loops: dict[str, str]) -> LvmDisk:
    devs = list(loops.values())
    a, b, c = loops["a"], loops["b"], loops["c"]
    vg = f"vmg{uuid.uuid4().hex[:8]}"
    _lvm(devs, "pvcreate", "-q", a, b, c)
    _lvm(devs, "vgcreate", "-q", "-s", "1M", vg, a, b, c)
    for args in (
        ["-L", "8M", "-n", "root", vg, a],
        ["-L", "4M", "-n", "swap", vg, a],
        ["-L", "4M", "-i", "2", "-I", "64k", "-n", "striped", vg, a, b],
        ["-L", "4M", "-n", "crypt", vg, b],
        ["-L", "2M", "-n", "far", vg, c],
    ):
        _lvm(devs, "lvcreate", "-q", "-an", "-Zn", *args)
    _lvm(devs, "lvextend", "-q", "-L", "12M", f"{vg}/root", a)  # second segment on a
    _lvm(devs, "lvextend", "-q", "-L", "16M", f"{vg}/root", b)  # third, on PV b
    report = json.loads(_lvm(devs, "lvs", "--reportformat", "json", "--units", "b",
                             "-o", "lv_name,lv_uuid,lv_size,seg_start_pe,seg_size_pe,"
                             "seg_pe_ranges,segtype", vg))  # fmt: skip
    pvs = json.loads(_lvm(devs, "pvs", "--reportformat", "json", "--units", "b", "--nosuffix",
                          "-o", "pv_name,pe_start,vg_extent_size", *devs))  # fmt: skip
    key_of = {dev: key for key, dev in loops.items()}
    pe_start = {key_of[p["pv_name"]]: int(p["pe_start"]) for p in pvs["report"][0]["pv"]}
    extent = int(pvs["report"][0]["pv"][0]["vg_extent_size"])
    lvs: dict[str, dict[str, str]] = {}
    segments: dict[str, list[tuple[int, int, str, int]]] = {}
    for row in report["report"][0]["lv"]:
        lvs[row["lv_name"]] = row
        dev, pe_range = row["seg_pe_ranges"].split()[0].rsplit(":", 1)
        segments.setdefault(row["lv_name"], []).append(
            (int(row["seg_start_pe"]), int(row["seg_size_pe"]), key_of[dev],
             int(pe_range.split("-")[0]))
        )  # fmt: skip
    made = LvmDisk(disk, vg, lvs, segments, extent, pe_start, {})
    fs = disk.parent / "root.fs"
    with fs.open("wb") as f:
        f.truncate(16 * MIB)
    _run("mkfs.ext4", "-q", "-F", "-L", "lvroot", str(fs))
    made.content["root"] = fs.read_bytes()
    made.content["swap"] = os.urandom(4 * MIB)
    luks = disk.parent / "crypt.img"
    luks.write_bytes(b"\0" * 4 * MIB)
    key = disk.parent / "key"
    key.write_bytes(b"pw")
    if shutil.which("cryptsetup"):
        _run("cryptsetup", "luksFormat", "--batch-mode", "--type", "luks2", "--pbkdf", "pbkdf2",
             "--pbkdf-force-iterations", "1000", "--key-file", str(key), str(luks))  # fmt: skip
    made.content["crypt"] = luks.read_bytes()
    for name in ("root", "swap", "crypt"):
        _dd_write(made, name, made.content[name])
    return made


def _extent_offset(disk: LvmDisk, pv: str, pe: int) -> int:
    """Byte offset on the disk image of physical extent ``pe`` of PV ``pv``."""
    return {"a": PART_A, "b": PART_B}[pv] + disk.pe_start[pv] + pe * disk.extent


def _dd_write(disk: LvmDisk, lv: str, data: bytes) -> None:
    for first_le, count, pv, first_pe in disk.segments[lv]:
        chunk = data[first_le * disk.extent : (first_le + count) * disk.extent]
        subprocess.run(
            ["dd", f"of={disk.path}", "bs=64K", "conv=notrunc", "oflag=seek_bytes",
             f"seek={_extent_offset(disk, pv, first_pe)}", "status=none"],
            input=chunk, check=True,
        )  # fmt: skip


def _dd_read(disk: LvmDisk, lv: str) -> bytes:
    """The LV's bytes as dd reads them at the extents lvs reports."""
    parts = []
    for _le, count, pv, first_pe in sorted(disk.segments[lv]):
        parts.append(subprocess.run(
            ["dd", f"if={disk.path}", "bs=64K", "iflag=skip_bytes,count_bytes",
             f"skip={_extent_offset(disk, pv, first_pe)}", f"count={count * disk.extent}",
             "status=none"], capture_output=True, check=True).stdout)  # fmt: skip
    return b"".join(parts)


def scan(path: Path) -> VolumeLayout:
    return scan_volumes(FileSource(path), limits=Limits())


def messages(layout: VolumeLayout) -> list[str]:
    return [f"{p.where}: {p.reason}" for p in layout.problems]


def test_logical_volumes_match_lvs(lvm_disk: LvmDisk) -> None:
    layout = scan(lvm_disk.path)
    assert layout.scheme == "gpt"
    vg = lvm_disk.vg
    by_name = {v.name: v for v in layout.volumes if v.scheme == "lvm"}
    assert sorted(by_name) == [f"{vg}/crypt", f"{vg}/root", f"{vg}/swap"]
    assert [v.index for v in layout.volumes if v.scheme == "lvm"] == [1, 2, 3]
    for name, vol in by_name.items():
        row = lvm_disk.lvs[name.split("/")[1]]
        assert vol.size == vol.source.size == int(row["lv_size"].removesuffix("B"))
        if vol.encryption is None:  # an encrypted volume's uuid is its LUKS UUID
            assert vol.uuid == row["lv_uuid"]
        _le, _n, pv, pe = min(lvm_disk.segments[name.split("/")[1]])
        assert vol.start == _extent_offset(lvm_disk, pv, pe)
    assert by_name[f"{vg}/crypt"].encryption == "luks2"
    # The third partition has the LVM type but no label; partitions a and b are gone.
    assert [v.index for v in layout.volumes if v.scheme == "gpt"] == [3]


def test_lv_bytes_match_dd_of_extents(lvm_disk: LvmDisk) -> None:
    """root has three segments (two on PV a, out of order with swap, one on PV b)."""
    assert len(lvm_disk.segments["root"]) == 3
    assert {pv for _le, _n, pv, _pe in lvm_disk.segments["root"]} == {"a", "b"}
    by_name = {v.name: v for v in scan(lvm_disk.path).volumes}
    for lv in ("root", "swap"):
        vol = by_name[f"{lvm_disk.vg}/{lv}"]
        expected = _dd_read(lvm_disk, lv)
        assert expected == lvm_disk.content[lv]
        assert vol.source.read_at(0, vol.size) == expected
        # Reads that straddle segment boundaries, and past the end.
        for offset in (0, 8 * MIB - 3, 11 * MIB + 12345, vol.size - 5):
            assert vol.source.read_at(offset, 4099) == expected[offset : offset + 4099]
    assert by_name[f"{lvm_disk.vg}/root"].source.read_at(1024 + 0x38, 2) == b"\x53\xef"


def test_unsupported_and_foreign_lvs_are_problems(lvm_disk: LvmDisk) -> None:
    found = messages(scan(lvm_disk.path))
    vg = lvm_disk.vg
    assert f"lvm {vg}/striped: unsupported LV layout: striped across 2 stripes" in found
    assert f"lvm {vg}/far: segment on physical volume 'pv2', which is not on this disk" in found
    assert "gpt partition 3: partition type is Linux LVM but it has no LVM2 label" in found


# --- hostile variants of the real PV (on a copy of the disk) ---------------------------------


def _copy(lvm_disk: LvmDisk, tmp_path: Path) -> Path:
    img = tmp_path / "disk.img"
    subprocess.run(["cp", "--sparse=always", str(lvm_disk.path), str(img)], check=True)
    return img


def _drop_lv(text: bytes, name: str) -> bytes:
    """The metadata text without LV ``name``'s section (braces matched)."""
    start = text.index(b"\n" + name.encode() + b" {") + 1
    depth, end = 0, start
    while True:
        end += 1
        depth += {ord("{"): 1, ord("}"): -1}.get(text[end], 0)
        if depth == 0 and text[end] == ord("}"):
            return text[:start] + text[end + 1 :]


def _patch(path: Path, offset: int, data: bytes) -> None:
    with path.open("r+b") as f:
        f.seek(offset)
        f.write(data)


def _metadata_area(path: Path, pv_offset: int) -> tuple[int, bytes]:
    """The absolute offset and 512-byte header of the PV's first metadata area."""
    with path.open("rb") as f:
        f.seek(pv_offset + 4096)
        header = f.read(512)
    assert header[4:20] == MDA_MAGIC
    return pv_offset + 4096, header


def _rewrite_metadata(path: Path, pv_offset: int, text: bytes, at: int | None = None) -> None:
    """Put ``text`` in the PV's metadata area (at ``at``, wrapping if needed), fix the CRCs."""
    area, header = _metadata_area(path, pv_offset)
    size = struct.unpack_from("<Q", header, 32)[0]
    at = at if at is not None else 512
    first = min(len(text), size - at)
    _patch(path, area + at, text[:first])
    _patch(path, area + 512, text[first:])
    raw = bytearray(header)
    struct.pack_into("<QQI", raw, 40, at, len(text), lvm_crc(text))
    struct.pack_into("<I", raw, 0, lvm_crc(bytes(raw[4:])))
    _patch(path, area, bytes(raw))


def _current_text(path: Path, pv_offset: int) -> bytes:
    area, header = _metadata_area(path, pv_offset)
    at, size = struct.unpack_from("<QQ", header, 40)
    return path.read_bytes()[area + at : area + at + size]


def test_label_crc_mismatch(lvm_disk: LvmDisk, tmp_path: Path) -> None:
    img = _copy(lvm_disk, tmp_path)
    _patch(img, PART_A + 512 + 100, b"X")  # inside the PV header, covered by the label CRC
    found = messages(scan(img))
    assert "gpt partition 1: LVM label CRC mismatch" in found


def test_metadata_text_crc_mismatch(lvm_disk: LvmDisk, tmp_path: Path) -> None:
    img = _copy(lvm_disk, tmp_path)
    area, header = _metadata_area(img, PART_A)
    _patch(img, area + struct.unpack_from("<Q", header, 40)[0] + 10, b"#")
    found = messages(scan(img))
    assert "gpt partition 1: no valid LVM metadata: metadata text CRC mismatch in the area " \
        "at 4096" in found  # fmt: skip


def test_oversized_metadata_refused(lvm_disk: LvmDisk, tmp_path: Path) -> None:
    img = _copy(lvm_disk, tmp_path)
    area, header = _metadata_area(img, PART_A)
    raw = bytearray(header)
    struct.pack_into("<Q", raw, 48, 64 * MIB)
    struct.pack_into("<I", raw, 0, lvm_crc(bytes(raw[4:])))
    _patch(img, area, bytes(raw))
    found = messages(scan(img))
    assert (
        "gpt partition 1: no valid LVM metadata: LVM metadata of 67108864 bytes exceeds 1048576"
        in found
    )


def test_wrapped_metadata_is_read(lvm_disk: LvmDisk, tmp_path: Path) -> None:
    """The metadata area is a ring buffer: text may continue right after the header."""
    img = _copy(lvm_disk, tmp_path)
    text = _current_text(img, PART_A)
    size = struct.unpack_from("<Q", _metadata_area(img, PART_A)[1], 32)[0]
    _rewrite_metadata(img, PART_A, text, at=size - 100)
    names = {v.name for v in scan(img).volumes}
    assert f"{lvm_disk.vg}/root" in names


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (lambda t: t.replace(b'type = "striped"', b'type = "thin"', 1),
         "/root: unsupported LV layout: thin"),
        (lambda t: t.replace(b"extent_count = 8", b"extent_count = 800000", 1),
         "/root: segment at extent 0: slice"),
        (lambda t: t.replace(b"start_extent = 8", b"start_extent = 9", 1),
         "/root: segments not contiguous at extent 8"),
        (lambda t: t.replace(b"extent_size = 2048", b"extent_size = 0", 1),
         ": extent size 0 is not positive"),
    ],
    ids=["thin", "beyond-pv", "gap", "zero-extent"],
)  # fmt: skip
def test_edited_metadata(lvm_disk: LvmDisk, tmp_path: Path, edit: object, problem: str) -> None:
    """Real metadata with one edit, on both PVs (the VG's metadata lives on each)."""
    img = _copy(lvm_disk, tmp_path)
    assert callable(edit)
    for pv in (PART_A, PART_B):
        text = _current_text(img, pv)
        edited = edit(text)
        assert edited != text
        _rewrite_metadata(img, pv, edited)
    found = "\n".join(messages(scan(img)))
    assert f"lvm {lvm_disk.vg}{problem}" in found


@pytest.mark.parametrize(
    ("text", "error"),
    [
        (b"vg {" * 100, "LVM metadata nested too deeply"),
        (b"vg { a = [1, 2", "LVM metadata ends inside a list"),
        (b"vg { a = }", "LVM metadata: unexpected '}'"),
        (b"vg { a = 1 ", "LVM metadata ends inside a section"),
        (b"vg { a = 1 } \x01", "LVM metadata: unexpected character at offset 13"),
        (b"a = 1", "LVM metadata holds 0 volume groups, expected 1"),
    ],
)
def test_malformed_metadata_text(
    lvm_disk: LvmDisk, tmp_path: Path, text: bytes, error: str
) -> None:
    img = _copy(lvm_disk, tmp_path)
    _rewrite_metadata(img, PART_A, text)
    found = "\n".join(messages(scan(img)))
    assert f"gpt partition 1: no valid LVM metadata: {error}" in found


def test_parser_reads_vgcfgbackup_syntax() -> None:
    parsed = parse_metadata('vg0 {\n id = "x\\"y"  # c\n seqno = -3\n s = ["A", 2]\n}\n')
    assert parsed == {"vg0": {"id": 'x"y', "seqno": -3, "s": ["A", 2]}}


def test_guest_on_a_logical_volume_is_inspected_end_to_end(
    lvm_disk: LvmDisk, tmp_path: Path
) -> None:
    """A root filesystem on vg/root, mounted by its /dev/mapper name, read through qcow2."""
    from vmguard.inspection import ImageOptions, inspect_image

    copy = _copy(lvm_disk, tmp_path)
    tree = tmp_path / "tree"
    (tree / "etc").mkdir(parents=True)
    mapper = f"/dev/mapper/{lvm_disk.vg}-root"
    (tree / "etc/fstab").write_text(f"{mapper} / ext4 defaults 0 1\n")
    (tree / "etc/os-release").write_text('ID=debian\nVERSION_ID="12"\nPRETTY_NAME="Debian 12"\n')
    (tree / "etc/hostname").write_text("on-lvm\n")
    fs = tmp_path / "root.fs"
    _run("mkfs.ext4", "-q", "-d", str(tree), str(fs), "16M")
    on_copy = LvmDisk(copy, lvm_disk.vg, lvm_disk.lvs, lvm_disk.segments, lvm_disk.extent,
                      lvm_disk.pe_start, {})  # fmt: skip
    _dd_write(on_copy, "root", fs.read_bytes())
    qcow2 = tmp_path / "lvm.qcow2"
    _run("qemu-img", "convert", "-O", "qcow2", str(copy), str(qcow2))
    report = inspect_image(qcow2, ImageOptions())
    inv = report.inventory
    assert inv is not None and inv.os is not None
    assert (inv.os.distro, inv.os.hostname) == ("debian", "on-lvm")
    root = [p for p in inv.partitions if p.mountpoint == "/"]
    assert [(p.scheme, p.lvm_name, p.filesystem) for p in root] == [
        ("lvm", f"{lvm_disk.vg}/root", "ext4")
    ]
    encrypted = [p for p in inv.partitions if p.encryption]
    assert [(p.lvm_name, p.encryption) for p in encrypted] == [(f"{lvm_disk.vg}/crypt", "luks2")]
