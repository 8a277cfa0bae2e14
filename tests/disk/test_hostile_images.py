"""Hostile images through the real command: refused or partially read, never a host file.

Each case is built with real tools (qemu-img, mkfs, tar) plus byte patching, then
``vmguard inspect`` runs in a fresh process under strace with a 1 GiB address-space cap.
The canary is a host file outside the image directory standing in for /etc/shadow: no run
may open it, and its content may never appear in any output.
"""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import tarfile
from pathlib import Path

import pytest

from clirunner import Run, vmguard

CANARY_TEXT = "CANARY-7f3a-host-secret"


@pytest.fixture(scope="module")
def canary(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("outside") / "canary"
    path.write_text(CANARY_TEXT + "\n")
    return path


@pytest.fixture
def imgdir(tmp_path: Path) -> Path:
    d = tmp_path / "images"
    d.mkdir()
    return d


def qemu_img(*args: str | Path, cwd: Path | None = None) -> None:
    # qemu-img resolves relative data-file names against its working directory.
    subprocess.run(["qemu-img", *map(str, args)], check=True, capture_output=True, cwd=cwd)


def assert_refused(run: Run, canary: Path, message: str) -> None:
    assert run.code == 2, (run.code, run.stdout[-500:], run.stderr[-500:])
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("vmguard: error: "), run.stderr[-800:]
    assert message in lines[0], lines[0]
    assert_canary_untouched(run, canary)


def assert_canary_untouched(run: Run, canary: Path) -> None:
    assert str(canary) not in run.opened
    assert not any(p.endswith("/canary") for p in run.opened), run.opened
    assert CANARY_TEXT not in run.stdout + run.stderr
    assert "Traceback" not in run.stderr


def qcow2_set_header_extension(path: Path, ext_type: int, payload: bytes) -> None:
    """Replace (or add) one qcow2 header extension, keeping the others (like qemu does)."""
    data = bytearray(path.read_bytes())
    version = struct.unpack_from(">I", data, 4)[0]
    header_length = struct.unpack_from(">I", data, 100)[0] if version >= 3 else 72
    backing_offset = struct.unpack_from(">Q", data, 8)[0]
    pos, exts = header_length, []
    while True:
        etype, elen = struct.unpack_from(">II", data, pos)
        if etype == 0:
            break
        if etype != ext_type:
            exts.append((etype, bytes(data[pos + 8 : pos + 8 + elen])))
        pos += 8 + (elen + 7) // 8 * 8
    exts.append((ext_type, payload))
    blob = (
        b"".join(
            struct.pack(">II", t, len(p)) + p + b"\0" * ((8 - len(p) % 8) % 8) for t, p in exts
        )
        + b"\0" * 8
    )
    limit = backing_offset or 65536
    assert header_length + len(blob) <= limit
    data[header_length : header_length + len(blob)] = blob
    path.write_bytes(bytes(data))


def vmdk_descriptor_replace(data: bytes, line_start: bytes, line: bytes) -> bytes:
    """Replace one descriptor line of a sparse VMDK, keeping every grain at its offset."""
    start = data.index(line_start)
    end = data.index(b"\n", start)
    pad_at = data.index(b"\0", end)
    text = data[:start] + line + data[end:pad_at]
    grow = len(text) - pad_at
    assert data[pad_at : pad_at + max(grow, 0)].strip(b"\0") == b""
    return text + data[pad_at + grow :] if grow >= 0 else text + b"\0" * -grow + data[pad_at:]


# -- external references ------------------------------------------------------------------


def test_backing_file_outside_the_image_directory(imgdir: Path, canary: Path) -> None:
    img = imgdir / "01.qcow2"
    qemu_img("create", "-f", "qcow2", "-u", "-F", "raw", "-b", canary, img, "10M")
    assert_refused(vmguard("inspect", img, trace=True), canary, str(canary))


def test_backing_file_climbing_out_with_dotdot(imgdir: Path, canary: Path) -> None:
    img = imgdir / "01b.qcow2"
    rel = os.path.relpath(canary, imgdir)
    qemu_img("create", "-f", "qcow2", "-u", "-F", "raw", "-b", rel, img, "10M")
    assert_refused(vmguard("inspect", img, trace=True), canary, "outside the image directory")


@pytest.mark.parametrize(
    "name",
    [
        'json:{"driver":"file","filename":"CANARY"}',
        "nbd://127.0.0.1:10809/x",
        "file:CANARY",
    ],
)
def test_backing_pseudo_protocols(imgdir: Path, canary: Path, name: str) -> None:
    img = imgdir / "02.qcow2"
    qemu_img(
        "create",
        "-f",
        "qcow2",
        "-u",
        "-F",
        "raw",
        "-b",
        name.replace("CANARY", str(canary)),
        img,
        "10M",
    )
    assert_refused(vmguard("inspect", img, trace=True), canary, "protocol pseudo-filenames")


def test_backing_without_explicit_format(imgdir: Path, canary: Path) -> None:
    (imgdir / "base.raw").write_bytes(b"\0" * 1024 * 1024)
    img = imgdir / "nofmt.qcow2"
    qemu_img("create", "-f", "qcow2", "-F", "raw", "-b", "base.raw", img, "1M")
    # Drop the backing-format header extension: qemu would then probe the backing file.
    data = bytearray(img.read_bytes())
    pos = struct.unpack_from(">I", data, 100)[0]
    while struct.unpack_from(">I", data, pos)[0] not in (0, 0xE2792ACA):
        pos += 8 + (struct.unpack_from(">I", data, pos + 4)[0] + 7) // 8 * 8
    struct.pack_into(">I", data, pos, 0x0BADF00D)  # an unknown extension, ignored by readers
    img.write_bytes(bytes(data))
    assert_refused(vmguard("inspect", img, trace=True), canary, "has no declared format")


@pytest.mark.parametrize("absolute", [True, False])
def test_qcow2_external_data_file(imgdir: Path, canary: Path, absolute: bool) -> None:
    img = imgdir / "03.qcow2"
    qemu_img(
        "create", "-f", "qcow2", "-o", "data_file=d.raw,data_file_raw=on", img, "10M", cwd=imgdir
    )
    (imgdir / "d.raw").unlink(missing_ok=True)
    name = str(canary) if absolute else os.path.relpath(canary, imgdir)
    qcow2_set_header_extension(img, 0x44415441, name.encode())
    assert_refused(vmguard("inspect", img, trace=True), canary, "outside the image directory")


def test_qcow2_data_file_as_json_spec(imgdir: Path, canary: Path) -> None:
    img = imgdir / "04.qcow2"
    qemu_img(
        "create", "-f", "qcow2", "-o", "data_file=d.raw,data_file_raw=on", img, "10M", cwd=imgdir
    )
    spec = json.dumps({"driver": "raw", "file": {"driver": "file", "filename": str(canary)}})
    qcow2_set_header_extension(img, 0x44415441, b"json:" + spec.encode())
    assert_refused(vmguard("inspect", img, trace=True), canary, "protocol pseudo-filenames")


@pytest.mark.parametrize("suffix", [".vmdk", ".raw"])
def test_vmdk_flat_descriptor_naming_a_host_file(imgdir: Path, canary: Path, suffix: str) -> None:
    img = imgdir / "06.vmdk"
    qemu_img("create", "-f", "vmdk", "-o", "subformat=monolithicFlat", img, "10M")
    (imgdir / "06-flat.vmdk").unlink()
    img.write_text(img.read_text().replace('"06-flat.vmdk"', f'"{canary}"'))
    target = img.rename(img.with_suffix(suffix))
    assert_refused(vmguard("inspect", target, trace=True), canary, str(canary))


def test_sparse_vmdk_whose_descriptor_names_a_host_file(imgdir: Path, canary: Path) -> None:
    img = imgdir / "07.vmdk"
    qemu_img("create", "-f", "vmdk", img, "10M")
    img.write_bytes(
        vmdk_descriptor_replace(
            img.read_bytes(), b'RW 20480 SPARSE "07.vmdk"', f'RW 20480 SPARSE "{canary}"'.encode()
        )
    )
    run = vmguard("inspect", img, trace=True)
    assert_canary_untouched(run, canary)
    assert run.code in (0, 2), run.stderr


def test_vmdk_parent_hint_naming_a_host_file(imgdir: Path, canary: Path) -> None:
    base = imgdir / "base.vmdk"
    img = imgdir / "08.vmdk"
    qemu_img("create", "-f", "vmdk", base, "10M")
    qemu_img("create", "-f", "vmdk", "-b", base, "-F", "vmdk", img)
    base.unlink()
    img.write_bytes(
        vmdk_descriptor_replace(
            img.read_bytes(), b"parentFileNameHint=", f'parentFileNameHint="{canary}"'.encode()
        )
    )
    assert_refused(vmguard("inspect", img, trace=True), canary, str(canary))


NEIGHBOUR_TEXT = "NEIGHBOUR-upload-9c41 password=hunter2"


@pytest.mark.parametrize(
    "shape",
    ["vmdk-parent", "qcow2-backing-as-vmdk", "qcow2-backing-as-qcow2", "vmdk-extent", "chain"],
)
def test_a_referenced_file_is_never_quoted(imgdir: Path, shape: str) -> None:
    """A file the image names in its own directory (a neighbour's upload) may be opened, but
    no byte of it may come back in the error: not its text, names or sizes."""
    neighbour = imgdir / "neighbour.vmdk"
    neighbour.write_text(NEIGHBOUR_TEXT + "\n" + "x" * 300 + "\n")
    if shape == "vmdk-parent":
        img = imgdir / "top.vmdk"
        qemu_img("create", "-f", "vmdk", imgdir / "base.vmdk", "10M")
        qemu_img("create", "-f", "vmdk", "-b", imgdir / "base.vmdk", "-F", "vmdk", img)
        img.write_bytes(
            vmdk_descriptor_replace(
                img.read_bytes(), b"parentFileNameHint=", b'parentFileNameHint="neighbour.vmdk"'
            )
        )
    elif shape == "vmdk-extent":
        img = imgdir / "top.vmdk"
        qemu_img("create", "-f", "vmdk", "-o", "subformat=monolithicFlat", img, "10M")
        img.write_text(img.read_text().replace('"top-flat.vmdk"', '"neighbour.vmdk"'))
        img.write_text(img.read_text().replace("FLAT", "SPARSE").replace(" 0\n", "\n"))
    elif shape == "chain":
        # top -> mid (allowed, valid) -> neighbour: the mid image's words are withheld too.
        mid, img = imgdir / "mid.qcow2", imgdir / "top.qcow2"
        qemu_img("create", "-f", "qcow2", "-u", "-F", "vmdk", "-b", "neighbour.vmdk", mid, "10M")
        qemu_img("create", "-f", "qcow2", "-u", "-F", "qcow2", "-b", "mid.qcow2", img, "10M")
    else:
        img = imgdir / "top.qcow2"
        fmt = shape.rsplit("-", 1)[1]
        qemu_img("create", "-f", "qcow2", "-u", "-F", fmt, "-b", "neighbour.vmdk", img, "10M")
    for report in ("console", "json"):
        run = vmguard("inspect", "--format", report, img)
        assert run.code == 2, (shape, run.stdout[-300:], run.stderr[-300:])
        output = run.stdout + run.stderr
        lines = run.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("vmguard: error: "), run.stderr
        assert "NEIGHBOUR" not in output and "hunter2" not in output, output
        assert "xxxx" not in output and "315" not in output, output
        assert "not quoted" in lines[0], lines[0]


def test_allowed_backing_chain_is_followed_and_reported(imgdir: Path, tmp_path: Path) -> None:
    other = tmp_path / "library"
    other.mkdir()
    base = other / "base.qcow2"
    qemu_img("create", "-f", "qcow2", base, "16M")
    mid = imgdir / "mid.qcow2"
    top = imgdir / "top.qcow2"
    qemu_img("create", "-f", "qcow2", "-F", "qcow2", "-b", base, mid)
    qemu_img("create", "-f", "qcow2", "-F", "qcow2", "-b", "mid.qcow2", top)
    refused = vmguard("inspect", top)
    assert refused.code == 2 and "--allow-dir" in refused.stderr
    ok = vmguard("inspect", "--format", "json", "--allow-dir", other, top)
    assert ok.code == 0, ok.stderr
    chain = json.loads(ok.stdout)["inventory"]["backing_chain"]
    assert [(c["name"], c["format"]) for c in chain] == [
        ("mid.qcow2", "qcow2"),
        (str(base), "qcow2"),
    ]


def test_symlinked_image_uses_the_backing_file_beside_the_link(tmp_path: Path) -> None:
    """qemu resolves a relative backing name against the directory of the path it was
    given; so does vmguard, for every link of the chain (not against a symlink's target)."""
    from vmguard.disk.image import open_image

    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    for directory, pattern in ((a, "0x41"), (b, "0x42")):
        qemu_img("create", "-q", "-f", "qcow2", directory / "base.qcow2", "4M")
        subprocess.run(
            ["qemu-io", "-f", "qcow2", "-c", f"write -P {pattern} 0 1M", directory / "base.qcow2"],
            check=True,
            capture_output=True,
        )
    qemu_img("create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", "base.qcow2", a / "top.qcow2")
    (b / "link.qcow2").symlink_to("../a/top.qcow2")
    expected = tmp_path / "expected.raw"
    qemu_img("convert", "-O", "raw", b / "link.qcow2", expected)
    disk = open_image(b / "link.qcow2").disks[0].disk
    assert disk.read_at(0, 4096) == expected.read_bytes()[:4096] == b"B" * 4096


@pytest.mark.parametrize("shape", ["self", "pair"])
def test_backing_loops_end(imgdir: Path, canary: Path, shape: str) -> None:
    a, b = imgdir / "a.qcow2", imgdir / "b.qcow2"
    if shape == "self":
        qemu_img("create", "-f", "qcow2", "-u", "-F", "qcow2", "-b", "a.qcow2", a, "1G")
    else:
        qemu_img("create", "-f", "qcow2", "-u", "-F", "qcow2", "-b", "b.qcow2", a, "1G")
        qemu_img("create", "-f", "qcow2", "-u", "-F", "qcow2", "-b", "a.qcow2", b, "1G")
    assert_refused(vmguard("inspect", a), canary, "loop")


# -- archives -----------------------------------------------------------------------------


def _ova(path: Path, members: list[tarfile.TarInfo], payloads: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w", format=tarfile.USTAR_FORMAT) as tar:
        for info in members:
            data = payloads.get(info.name)
            if data is not None:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
            else:
                tar.addfile(info)
    return path


def _ovf(href: str, doctype: str = "") -> bytes:
    return (
        f'<?xml version="1.0"?>{doctype}<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" '
        'xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1">'
        f'<References><File ovf:href="{href}" ovf:id="f1"/></References>'
        '<DiskSection><Disk ovf:diskId="d1" ovf:fileRef="f1"/></DiskSection></Envelope>'
    ).encode()


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("dotdot", "escapes the package"),
        ("absolute", "escapes the package"),
        ("symlink", "is a symlink"),
        ("hardlink", "is a hardlink"),
        ("duplicate", "appears twice"),
        ("href-escape", "not a member of this package"),
        ("href-url", "not a member of this package"),
        ("xxe", "OVF descriptor is not valid XML"),
        ("unknown-encoding", "OVF descriptor is not valid XML"),
    ],
)
def test_hostile_ova(imgdir: Path, canary: Path, case: str, message: str) -> None:
    disk = b"\0" * 4096
    members = [tarfile.TarInfo("vm.ovf")]
    payloads = {"vm.ovf": _ovf("disk.img"), "disk.img": disk}
    if case == "dotdot":
        members.append(tarfile.TarInfo("../../PWNED-dotdot"))
        payloads["../../PWNED-dotdot"] = b"x"
    elif case == "absolute":
        members.append(tarfile.TarInfo("/tmp/PWNED-abs"))
        payloads["/tmp/PWNED-abs"] = b"x"
    elif case in ("symlink", "hardlink"):
        link = tarfile.TarInfo("disk.img")
        link.type = tarfile.SYMTYPE if case == "symlink" else tarfile.LNKTYPE
        link.linkname = str(canary)
        members.append(link)
        payloads.pop("disk.img")
    elif case == "duplicate":
        members += [tarfile.TarInfo("disk.img"), tarfile.TarInfo("disk.img")]
    elif case == "href-escape":
        payloads["vm.ovf"] = _ovf("../../../../etc/shadow")
    elif case == "href-url":
        payloads["vm.ovf"] = _ovf("http://169.254.169.254/latest/meta-data")
    elif case == "xxe":
        payloads["vm.ovf"] = _ovf(
            "&x;", f'<!DOCTYPE Envelope [<!ENTITY x SYSTEM "file://{canary}">]>'
        )
    elif case == "unknown-encoding":  # a fuzzer's find in the VM-definition parser
        payloads["vm.ovf"] = _ovf("disk.img").replace(b'"1.0"?>', b'"" encoding="F"?>', 1)
    if case not in ("symlink", "hardlink", "duplicate"):
        members.append(tarfile.TarInfo("disk.img"))
    ova = _ova(imgdir / f"{case}.ova", members, payloads)
    assert_refused(vmguard("inspect", ova, trace=True), canary, message)
    assert not Path("/tmp/PWNED-abs").exists()


def _header(
    name: str, size: int, flag: bytes = b"0", gnu: bool = False, tail: bytes = b""
) -> bytes:
    """One tar header block, written field by field (and its checksum) like tar does."""
    block = bytearray(512)
    block[0 : len(name)] = name.encode()
    block[100:108] = b"0000644\0"
    block[108:124] = b"0000000\0" * 2
    block[124:136] = f"{size:011o}\0".encode()
    block[136:148] = b"00000000000\0"
    block[156:157] = flag
    block[257:265] = b"ustar  \0" if gnu else b"ustar\x0000"
    block[345 : 345 + len(tail)] = tail
    return _with_checksum(block)


def _with_checksum(block: bytearray) -> bytes:
    """The header with its checksum field recomputed, as tar writes it."""
    block[148:156] = b" " * 8
    block[148:156] = f"{sum(block):06o}\0 ".encode()
    return bytes(block)


def _member(name: str, data: bytes, flag: bytes = b"0", **kw: object) -> bytes:
    padding = b"\0" * (-len(data) % 512)
    return _header(name, len(data), flag, **kw) + data + padding  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("case", "message"),
    [
        # Each archive reads one way here and another in tarfile, GNU tar or VirtualBox; the
        # disk the importer would use ("evil") is never the one vmguard silently reads.
        ("case-duplicate", "appears twice"),
        ("dotslash-duplicate", "appears twice"),
        ("directory-with-data", "directory entry at offset 1024 claims"),
        ("gnu-long-link", "has type b'K'"),
        ("gnu-sparse", "has type b'S'"),
        ("pax-global", "has type b'g'"),
        ("pax-sparse-name", "GNU.sparse.name"),
        ("long-name-and-pax-path", "a GNU long name and a PAX path"),
        ("gnu-prefix-is-atime", "appears twice"),
        ("two-descriptors", "several OVF descriptors"),
        ("duplicate-file-id", "file id 'f1' twice"),
        ("base-256-negative", "base-256"),
        ("python-octal", "invalid size field"),
        ("pax-superscript-size", "PAX size at offset 2048 is invalid"),
    ],
)
def test_hostile_tar_readings(imgdir: Path, canary: Path, case: str, message: str) -> None:
    good, evil = b"good" * 1024, b"evil" * 1024
    ovf = _member("vm.ovf", _ovf("disk.img"))
    if case == "case-duplicate":
        body = ovf + _member("DISK.IMG", evil) + _member("disk.img", good)
    elif case == "dotslash-duplicate":
        body = ovf + _member("disk.img", good) + _member("./disk.img", evil)
    elif case == "directory-with-data":
        hidden = _member("disk.img", evil)
        body = ovf + _header("d/", len(hidden), b"5") + hidden + _member("disk.img", good)
    elif case == "gnu-long-link":
        body = _member("././@LongLink", b"vm.ovf\0", b"K") + ovf + _member("disk.img", good)
    elif case == "gnu-sparse":
        body = ovf + _member("disk.img", good, b"S", gnu=True)
    elif case == "pax-global":
        body = _member("pax_global_header", b"17 path=disk.img\n", b"g") + ovf
        body += _member("zzz", evil)
    elif case == "pax-sparse-name":
        body = ovf + _member("PaxHeader/zzz", b"28 GNU.sparse.name=disk.img\n", b"x")
        body += _member("zzz", evil) + _member("disk.img", good)
    elif case == "long-name-and-pax-path":
        body = ovf + _member("././@LongLink", b"zzz\0", b"L")
        body += _member("PaxHeader/x", b"17 path=disk.img\n", b"x") + _member("x", evil)
    elif case == "gnu-prefix-is-atime":  # GNU keeps atime where POSIX has the prefix
        body = ovf + _member("disk.img", evil, gnu=True, tail=b"14712345670\0")
        body += _member("disk.img", good)
    elif case == "two-descriptors":
        body = ovf + _member("other.ovf", _ovf("disk.img")) + _member("disk.img", good)
    elif case == "duplicate-file-id":
        twice = _ovf("disk.img").replace(
            b"<References>", b'<References><File ovf:href="evil.img" ovf:id="f1"/>'
        )
        body = _member("vm.ovf", twice) + _member("evil.img", evil) + _member("disk.img", good)
    elif case == "base-256-negative":
        block = bytearray(_header("disk.img", 0))
        block[124:136] = b"\x81" + b"\0" * 10 + b"\x10"
        body = ovf + _with_checksum(block) + b"\0" * 4096
    elif case == "pax-superscript-size":  # "²".isdigit() is true, int("²") fails (fuzzing)
        pax = _member("PaxHeader/disk.img", "11 size=\u00b2\n".encode(), b"x")
        body = ovf + pax + _member("disk.img", good)
    else:  # python-octal: int(text, 8) takes "0o..." and "1_0"; tar readers do not
        block = bytearray(_header("disk.img", 0))
        block[124:136] = b"0o000010000\0"
        body = ovf + _with_checksum(block) + good
    ova = imgdir / f"{case}.ova"
    ova.write_bytes(body + b"\0" * 1024)
    assert_refused(vmguard("inspect", ova, trace=True), canary, message)


def test_text_qemu_probes_as_vmdk_is_not_read_as_raw(imgdir: Path, canary: Path) -> None:
    """qemu's vmdk_probe wants only a first line "version=1"; its parser then skips two
    characters after "createType" unchecked. Read as raw here, qemu would open the host file
    the extent names: vmguard takes it for a descriptor, and refuses the broken line."""
    sneaky = imgdir / "sneaky.img"
    sneaky.write_bytes(
        b"# made by hand\n  \nversion=1\nCID=fffffffe\nparentCID=ffffffff\n"
        b'createType!!monolithicFlat"\nRW 1 FLAT "' + str(canary).encode() + b'" 0\n'
    )
    info = subprocess.run(["qemu-img", "info", sneaky], capture_output=True, text=True)
    assert "file format: vmdk" in info.stdout
    assert_refused(vmguard("inspect", sneaky, trace=True), canary, "invalid VMDK descriptor")


def test_v7_tar_is_not_read_as_raw(imgdir: Path, canary: Path) -> None:
    """A pre-POSIX tar has no magic: VirtualBox, tarfile and GNU tar still read it as an
    archive, so reading the package itself as a raw disk would scan the wrong bytes."""
    block = bytearray(_header("vm.ovf", 0))
    block[257:265] = bytes(8)  # no ustar magic
    ova = imgdir / "old.ova"
    ova.write_bytes(_with_checksum(block) + b"\0" * 1024)
    assert_refused(vmguard("inspect", ova, trace=True), canary, "v7")


def test_member_names_match_hrefs_as_importers_do(imgdir: Path) -> None:
    """VirtualBox finds an href's member ignoring case; "./" prefixes are the same name."""
    disk = imgdir / "tiny.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", disk, "1M"], check=True)
    body = _member("vm.ovf", _ovf("disk.qcow2")) + _member("./DISK.QCOW2", disk.read_bytes())
    ova = imgdir / "case.ova"
    ova.write_bytes(body + b"\0" * 1024)
    run = vmguard("inspect", "--format", "json", ova)
    assert run.code == 0, run.stderr
    assert json.loads(run.stdout)["inventory"]["disks"][0]["format"] == "qcow2"


# -- guest contents -----------------------------------------------------------------------


def test_guest_symlinks_to_host_paths_resolve_inside_the_guest(
    tmp_path: Path, canary: Path
) -> None:
    tree = tmp_path / "tree"
    (tree / "etc").mkdir(parents=True)
    (tree / "usr/lib").mkdir(parents=True)
    (tree / "etc/fstab").write_text("")
    os.symlink(str(canary), tree / "etc/os-release")
    os.symlink("../../../../../.." + str(canary), tree / "etc/hostname")
    os.symlink("/proc/self/environ", tree / "usr/lib/os-release")
    (tree / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    img = tmp_path / "guest.img"
    subprocess.run(["mkfs.ext4", "-q", "-d", str(tree), str(img), "8M"], check=True)
    run = vmguard("inspect", "--format", "json", img, trace=True)
    assert run.code == 0, run.stderr
    assert_canary_untouched(run, canary)
    assert "/proc/self/environ" not in run.opened
    inv = json.loads(run.stdout)["inventory"]
    assert inv["os"]["hostname"] == ""
    assert [u["name"] for u in inv["users"]] == ["root"]


def test_hostile_names_never_reach_the_terminal_raw(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "etc").mkdir(parents=True)
    (tree / "etc/fstab").write_text("")
    (tree / "etc/hostname").write_text("\x1b]0;pwned\x07\x1b[2Jevil\n")
    (tree / "etc/os-release").write_text('ID=debian\nPRETTY_NAME="\x1b[31mred\x1b[0m"\n')
    img = tmp_path / "guest.img"
    subprocess.run(["mkfs.ext4", "-q", "-d", str(tree), str(img), "8M"], check=True)
    run = vmguard("inspect", img)
    assert run.code == 0, run.stderr
    assert "\x1b" not in run.stdout and "\x07" not in run.stdout


# -- malformed and absurd images ----------------------------------------------------------


def _empty(path: Path) -> Path:
    path.write_bytes(b"")
    return path


def _random(path: Path, size: int) -> Path:
    path.write_bytes(os.urandom(size))
    return path


@pytest.mark.parametrize(
    "make",
    [
        lambda d: _empty(d / "empty.img"),
        lambda d: _random(d / "random.img", 1024 * 1024),
        lambda d: _random(d / "random.qcow2", 4096),
    ],
    ids=["empty", "random", "random-named-qcow2"],
)
def test_garbage_is_described_not_crashed_on(imgdir: Path, make) -> None:
    img = make(imgdir)
    run = vmguard("inspect", "--format", "json", img, timeout=30)
    assert run.code == 0, run.stderr
    inv = json.loads(run.stdout)["inventory"]
    assert inv["format"] == "raw" and inv["os"] is None


def test_qcow2_with_petabyte_virtual_size(imgdir: Path) -> None:
    img = imgdir / "16.qcow2"
    qemu_img("create", "-f", "qcow2", img, "1P")
    run = vmguard("inspect", "--format", "json", img, timeout=30)
    assert run.code == 0, run.stderr
    assert json.loads(run.stdout)["inventory"]["virtual_size"] == 1 << 50


@pytest.mark.parametrize("cut", [0, 72, 200, 4096, 196608 + 100])
def test_truncated_qcow2(imgdir: Path, debian_variants, cut: int) -> None:
    img = imgdir / "t.qcow2"
    with open(debian_variants.get("qcow2"), "rb") as f:
        img.write_bytes(f.read(cut))
    run = vmguard("inspect", img, timeout=30)
    assert run.code in (0, 2), run.stderr
    assert "Traceback" not in run.stderr
    if run.code == 2:
        assert run.stderr.startswith("vmguard: error: ") and run.stderr.count("\n") == 1


def test_truncated_guest_is_partially_described(imgdir: Path, debian_disk: Path) -> None:
    img = imgdir / "half.raw"
    with open(debian_disk, "rb") as src, open(img, "wb") as dst:
        dst.write(src.read(400 * 1024 * 1024))
    run = vmguard("inspect", "--format", "json", img, timeout=60)
    assert run.code == 0, run.stderr
    report = json.loads(run.stdout)
    assert report["errors"], "a truncated disk must say what it could not read"


def test_polyglot_iso_with_qcow2_header(imgdir: Path, canary: Path) -> None:
    img = imgdir / "20.iso"
    qemu_img("create", "-f", "qcow2", "-u", "-F", "raw", "-b", canary, img, "10M")
    with open(img, "r+b") as f:
        f.truncate(64 * 1024)
        f.seek(0x8001)
        f.write(b"CD001")
    assert_refused(vmguard("inspect", img, trace=True), canary, "polyglot")


def test_qed_is_refused(imgdir: Path, canary: Path) -> None:
    img = imgdir / "19.qed"
    qemu_img("create", "-f", "qed", img, "10M")
    assert_refused(vmguard("inspect", img), canary, "QED")


def test_unsupported_and_corrupt_filesystems_are_listed_by_partition(tmp_path: Path) -> None:
    (tmp_path / "cramfs-tree").mkdir()
    (tmp_path / "cramfs-tree/file").write_text("read-only\n")
    unread = tmp_path / "cramfs.img"  # vmguard reads btrfs now; cramfs it only names
    subprocess.run(["mkfs.cramfs", str(tmp_path / "cramfs-tree"), str(unread)], check=True)
    ext4 = tmp_path / "ext4.img"
    subprocess.run(["mkfs.ext4", "-q", str(ext4), "16M"], check=True)
    with open(ext4, "r+b") as f:  # keep the magic, wreck the geometry
        f.seek(1024 + 4)
        f.write(b"\xff" * 24)
        f.seek(1024 + 32)
        f.write(b"\0" * 8)
    disk = tmp_path / "disk.raw"
    with open(disk, "wb") as f:
        f.truncate(1024 * 1024 + 128 * 1024 * 1024 + 16 * 1024 * 1024 + 1024 * 1024)
    subprocess.run(["sfdisk", "-q", str(disk)], input=b"label: gpt\n,128M\n,16M\n", check=True)
    for image, start in ((unread, 1), (ext4, 129)):
        subprocess.run(
            [
                "dd",
                f"if={image}",
                f"of={disk}",
                "bs=1M",
                f"seek={start}",
                "conv=notrunc",
                "status=none",
            ],
            check=True,
        )
    run = vmguard("inspect", "--format", "json", disk, timeout=30)
    assert run.code == 0, run.stderr
    report = json.loads(run.stdout)
    messages = {e["path"]: e["message"] for e in report["errors"]}
    assert messages.get("disk.raw partition 1") == "unsupported filesystem cramfs"
    assert "disk.raw partition 2" in messages
    assert [p["filesystem"] for p in report["inventory"]["partitions"]] == ["cramfs", "ext4"]
