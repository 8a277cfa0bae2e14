"""Inflate one compressed qcow2 cluster with its output capped at the cluster size.

A compressed cluster is attacker-controlled input to a decompressor: a few hundred KiB of
deflate or zstd can expand to gigabytes (CVE-2013-4463). Nothing here may ever produce
more than ``cluster_size + 1`` bytes, whatever the stream says about itself.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

from vmguard.disk.containers.qcow2_header import COMPRESSION_ZLIB, COMPRESSION_ZSTD
from vmguard.disk.errors import CorruptImage, UnsupportedFormat

Inflater = Callable[[bytes, int], bytes]
"""(compressed bytes, cluster size) -> exactly cluster-size bytes, or CorruptImage."""


def _check_length(produced: int, surplus: bool, cluster_size: int) -> None:
    if surplus:
        raise CorruptImage(f"compressed cluster inflates beyond the cluster size ({cluster_size})")
    if produced != cluster_size:
        raise CorruptImage(
            f"compressed cluster inflates to {produced} bytes, not the cluster size {cluster_size}"
        )


def inflate_zlib(data: bytes, cluster_size: int) -> bytes:
    """Raw deflate (qemu writes window bits -12; -15 reads every window size)."""
    try:
        inflater = zlib.decompressobj(-15)
        out = inflater.decompress(data, cluster_size)
        # Input left over after a full cluster is fine (sector padding, or the stream's end
        # marker not yet consumed); more *output* would be a bomb or a lie.
        surplus = bool(inflater.unconsumed_tail) and bool(
            inflater.decompress(inflater.unconsumed_tail, 1)
        )
    except zlib.error as err:
        raise CorruptImage(f"compressed cluster is not valid deflate data: {err}") from err
    _check_length(len(out), surplus, cluster_size)
    return out


_ZSTD_MAGIC = 0xFD2FB528
_ZSTD_DID_BYTES = (0, 1, 2, 4)
_ZSTD_FCS_BYTES = (0, 2, 4, 8)


def _zstd_frame_end(data: bytes) -> int:
    """Length of the zstd frame at the start of ``data``, from its block headers.

    qemu stores one frame per cluster, followed by whatever shares the final sector; the
    decompressor must see the frame alone, or it chokes on those bytes as a next frame.
    """
    if len(data) < 6 or int.from_bytes(data[:4], "little") != _ZSTD_MAGIC:
        raise CorruptImage("compressed cluster is not a zstd frame")
    descriptor = data[4]
    single_segment = descriptor >> 5 & 1
    fcs = _ZSTD_FCS_BYTES[descriptor >> 6] or single_segment
    pos = 5 + (not single_segment) + _ZSTD_DID_BYTES[descriptor & 3] + fcs
    while True:
        if pos + 3 > len(data):
            raise CorruptImage("zstd frame in a compressed cluster is truncated")
        block = int.from_bytes(data[pos : pos + 3], "little")
        kind, size = block >> 1 & 3, block >> 3
        if kind == 3:
            raise CorruptImage("zstd frame in a compressed cluster has a reserved block type")
        pos += 3 + (1 if kind == 1 else size)
        if block & 1:
            break
    pos += 4 if descriptor & 4 else 0  # content checksum
    if pos > len(data):
        raise CorruptImage("zstd frame in a compressed cluster is truncated")
    return pos


def inflate_zstd(data: bytes, cluster_size: int) -> bytes:
    """zstd through a bounded stream reader: a frame's declared content size is ignored."""
    try:
        import zstandard  # optional dependency, only for zstd images
    except ImportError as err:
        raise UnsupportedFormat(
            "zstd-compressed qcow2 needs the 'zstandard' package, which is not installed"
        ) from err
    try:
        with zstandard.ZstdDecompressor().stream_reader(data[: _zstd_frame_end(data)]) as reader:
            parts: list[bytes] = []
            produced = 0
            while produced < cluster_size:
                chunk = reader.read(cluster_size - produced)
                if not chunk:
                    break
                parts.append(chunk)
                produced += len(chunk)
            surplus = produced == cluster_size and bool(reader.read(1))
    except zstandard.ZstdError as err:
        raise CorruptImage(f"compressed cluster is not valid zstd data: {err}") from err
    _check_length(produced, surplus, cluster_size)
    return b"".join(parts)


def inflater_for(compression_type: int) -> Inflater:
    """The decompressor for a header's compression type (validated by the header parser)."""
    if compression_type == COMPRESSION_ZLIB:
        return inflate_zlib
    if compression_type == COMPRESSION_ZSTD:
        try:
            import zstandard  # noqa: F401
        except ImportError as err:
            raise UnsupportedFormat(
                "zstd-compressed qcow2 needs the 'zstandard' package, which is not installed"
            ) from err
        return inflate_zstd
    raise UnsupportedFormat(f"Unknown qcow2 compression type {compression_type}")
