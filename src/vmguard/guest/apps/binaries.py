"""Packages compiled into executables: Go build info and cargo-auditable's dependency list.

Only ELF files are looked into, and only through their section table: the ELF header, the
section headers, the section-name table, then the one section wanted — ``.go.buildinfo``
(Go 1.18 and later keep the toolchain version and the module list inline after the
``\\xff Go buildinf:`` magic) or ``.dep-v0`` (zlib-compressed JSON written by
cargo-auditable). Every read is bounded; decompression stops at ``max_section_bytes``.
Nothing is executed or loaded.
"""

from __future__ import annotations

import json
import re
import struct
import zlib
from dataclasses import dataclass

from vmguard.guest.apps.interface import AppLimits, AppParseError, Candidate, app_package
from vmguard.guest.facts import InstalledPackage
from vmguard.problems import Problem

GO_MAGIC = b"\xff Go buildinf:"
_MAX_SECTIONS = 4096
_MAX_NAMES = 1024 * 1024
_GO_VERSION = re.compile(r"^go([0-9]+(?:\.[0-9]+)*)")
_WANTED = (".go.buildinfo", ".dep-v0")


@dataclass(frozen=True, slots=True)
class Section:
    """Where one ELF section's bytes are in the file."""

    offset: int
    size: int


def elf_sections(file: Candidate) -> dict[str, Section]:
    """The wanted sections of an ELF file by name; empty for anything else."""
    head = file.read(0, 64)
    if len(head) < 52 or head[:4] != b"\x7fELF" or head[4] not in (1, 2) or head[5] not in (1, 2):
        return {}
    wide, order = head[4] == 2, "<" if head[5] == 1 else ">"
    if wide:
        if len(head) < 64:
            return {}
        (shoff,) = struct.unpack_from(order + "Q", head, 0x28)
        entsize, count, names_index = struct.unpack_from(order + "HHH", head, 0x3A)
        layout, minimum = order + "IIQQQQ", 48
    else:
        (shoff,) = struct.unpack_from(order + "I", head, 0x20)
        entsize, count, names_index = struct.unpack_from(order + "HHH", head, 0x2E)
        layout, minimum = order + "IIIIII", 24
    if not 0 < count <= _MAX_SECTIONS or entsize < minimum or names_index >= count:
        return {}
    table = file.read(shoff, count * entsize)
    if len(table) < count * entsize:
        raise AppParseError("section header table past the end of the file")
    entries = []
    for i in range(count):
        name, _type, _flags, _addr, offset, size = struct.unpack_from(layout, table, i * entsize)
        entries.append((name, offset, size))
    _, names_offset, names_size = entries[names_index]
    if names_size > _MAX_NAMES:
        raise AppParseError("section name table too large")
    names = file.read(names_offset, names_size)
    found: dict[str, Section] = {}
    for name_at, offset, size in entries:
        end = names.find(b"\0", name_at)
        name = names[name_at:end].decode("ascii", "replace") if end >= 0 else ""
        if name in _WANTED:
            found[name] = Section(offset, size)
    return found


def _uvarint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while pos < len(data) and shift < 64:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7
    raise AppParseError("truncated Go build info")


def _go_string(data: bytes, pos: int) -> tuple[str, int]:
    length, pos = _uvarint(data, pos)
    if pos + length > len(data):
        raise AppParseError("truncated Go build info")
    return data[pos : pos + length].decode("utf-8", "replace"), pos + length


def parse_go_buildinfo(data: bytes, path: str) -> list[InstalledPackage]:
    """The toolchain (as ``stdlib``) and the modules recorded in a Go build info blob."""
    start = data.find(GO_MAGIC)
    if start < 0 or len(data) < start + 32:
        raise AppParseError("no Go build info header")
    if not data[start + 15] & 0x2:
        raise AppParseError("built before Go 1.18 (build info by pointer): not read")
    version, pos = _go_string(data, start + 32)
    modinfo, _ = _go_string(data, pos)
    if len(modinfo) >= 33 and modinfo[-17] == "\n":
        modinfo = modinfo[16:-16]  # the runtime's sentinels around the module list
    found: list[InstalledPackage] = []
    toolchain = _GO_VERSION.match(version)
    if toolchain:
        stdlib = app_package("golang", "stdlib", toolchain.group(1), path)
        found += [stdlib] if stdlib else []
    added = False
    for line in modinfo.splitlines():
        fields = line.split("\t")
        if fields[0] in ("mod", "dep"):
            package = None
            if len(fields) >= 3 and fields[2] != "(devel)":
                package = app_package("golang", fields[1], fields[2], path)
            found += [package] if package else []
            added = package is not None
        elif fields[0] == "=>":
            if added:
                found.pop()  # replaced: what was built is the replacement, if a module
            package = (
                app_package("golang", fields[1], fields[2], path) if len(fields) >= 3 else None
            )
            found += [package] if package else []
            added = False
    return found


def parse_cargo_auditable(data: bytes, path: str, limit: int) -> list[InstalledPackage]:
    """The crates cargo-auditable recorded (build-time-only dependencies left out)."""
    inflater = zlib.decompressobj()
    try:
        text = inflater.decompress(data, limit)
    except zlib.error as err:
        raise AppParseError(f"dependency list not zlib data: {err}") from err
    if inflater.unconsumed_tail:
        raise AppParseError(f"dependency list expands past {limit} bytes")
    try:
        document = json.loads(text)
    except (ValueError, RecursionError) as err:
        raise AppParseError("dependency list is not JSON") from err
    packages = document.get("packages") if isinstance(document, dict) else None
    if not isinstance(packages, list):
        raise AppParseError("dependency list has no packages")
    found = []
    for entry in packages:
        if isinstance(entry, dict) and entry.get("kind") != "build":
            package = app_package("cargo", entry.get("name"), entry.get("version"), path)
            found += [package] if package else []
    return found


class BinaryAnalyzer:
    """Go modules and Rust crates compiled into ELF executables."""

    def wants(self, path: str, size: int, mode: int) -> bool:
        """An executable regular file of plausible size."""
        return bool(mode & 0o111) and size >= 1024

    def analyze(
        self, file: Candidate, limits: AppLimits, problems: list[Problem]
    ) -> list[InstalledPackage]:
        """The modules or crates the executable records; nothing for other files."""
        if file.size > limits.max_binary_bytes:
            return []
        sections = elf_sections(file)
        found: list[InstalledPackage] = []
        for name, section in sections.items():
            if section.size > limits.max_section_bytes or section.offset + section.size > file.size:
                raise AppParseError(f"{name} section out of bounds")
            data = file.read(section.offset, section.size)
            if name == ".go.buildinfo":
                found += parse_go_buildinfo(data, file.path)
            else:
                found += parse_cargo_auditable(data, file.path, limits.max_section_bytes)
        return found
