"""Volumes of libvirt storage pools, listed through a read-only libvirt connection.

``URI`` lists every active pool of the connection, ``URI#POOL`` one pool. Only volumes whose
path is a regular file on this host are returned (block devices and network volumes are
listed as skipped, with the reason). This module must never open a read-write connection,
start, refresh or change a pool, or read a volume itself.
"""

from __future__ import annotations

import os
import stat
from typing import Any

from vmguard.fleet.errors import SourceError
from vmguard.problems import Problem, Stage


def _libvirt() -> Any:
    try:
        import libvirt  # type: ignore[import-untyped, import-not-found, unused-ignore]
    except ImportError as err:
        raise SourceError(
            "libvirt storage pools need the libvirt-python package (pip install vmguard[libvirt])"
        ) from err
    return libvirt


def pool_volumes(source: str, skipped: list[Problem]) -> list[str]:
    """Host paths of the file volumes of the pools ``source`` names (``URI[#POOL]``)."""
    libvirt = _libvirt()
    uri, _, wanted = source.partition("#")
    libvirt.registerErrorHandler(lambda _ctx, _err: None, None)  # no stderr chatter
    try:
        conn = libvirt.openReadOnly(uri)
    except libvirt.libvirtError as err:
        raise SourceError(f"{uri}: cannot connect to libvirt: {err.get_error_message()}") from err
    try:
        try:
            pools = conn.listAllStoragePools()
        except libvirt.libvirtError as err:
            raise SourceError(f"{uri}: cannot list storage pools: {err}") from err
        if wanted and wanted not in {p.name() for p in pools}:
            raise SourceError(f"{uri}: no storage pool named {wanted!r}")
        paths: list[str] = []
        for pool in sorted(pools, key=lambda p: p.name()):
            if wanted and pool.name() != wanted:
                continue
            if not pool.isActive():
                skipped.append(
                    Problem(Stage.SOURCES, f"{uri}#{pool.name()}", "storage pool is not active")
                )
                continue
            try:
                volumes = pool.listAllVolumes()
            except libvirt.libvirtError as err:
                skipped.append(
                    Problem(Stage.SOURCES, f"{uri}#{pool.name()}", f"cannot list volumes: {err}")
                )
                continue
            for volume in sorted(volumes, key=lambda v: v.name()):
                path = volume.path()
                try:
                    mode = os.stat(path).st_mode
                except OSError as err:
                    skipped.append(
                        Problem(Stage.SOURCES, path, f"volume file cannot be read: {err.strerror}")
                    )
                    continue
                if stat.S_ISREG(mode):
                    paths.append(path)
                else:
                    skipped.append(Problem(Stage.SOURCES, path, "volume is not a regular file"))
        return paths
    finally:
        conn.close()
