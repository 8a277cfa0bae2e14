"""Read every domain, network and nwfilter definition from a live libvirt connection.

Uses libvirt-python (the optional ``libvirt`` extra). Only reads definitions: it never
starts, changes or undefines anything, and the XML it gets is parsed with the same bounded,
entity-free parser as files. libvirt's own error printing is silenced; its errors become
ConfigParseError or notes.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from typing import Any

from vmguard.vmconfig.libvirt_network import filter_spec, network_spec
from vmguard.vmconfig.libvirt_xml import MAX_DOMAINS_PER_FILE, domain_spec
from vmguard.vmconfig.model import (
    ConfigDocument,
    ConfigParseError,
    FilterSpec,
    NetworkSpec,
    VmSpec,
)
from vmguard.vmconfig.xmlsafe import parse_xml


def _import_libvirt() -> Any:
    try:
        import libvirt  # type: ignore[import-untyped, import-not-found, unused-ignore]
    except ImportError as err:
        raise ConfigParseError(
            "--connect needs libvirt-python: pip install 'vmguard[libvirt]'"
        ) from err
    libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
    return libvirt


@contextlib.contextmanager
def _c_library_stderr_silenced() -> Iterator[None]:
    """libxml2 inside libvirt writes warnings straight to fd 2; the error we raise says it."""
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _each(
    objects: list[Any], describe: Callable[[Any], str], what: str, notes: list[str]
) -> list[tuple[str, bytes]]:
    if len(objects) > MAX_DOMAINS_PER_FILE:
        raise ConfigParseError(f"{what}: more than {MAX_DOMAINS_PER_FILE} definitions")
    found: list[tuple[str, bytes]] = []
    for obj in objects:
        try:
            found.append((obj.name(), describe(obj).encode("utf-8")))
        except Exception as err:  # libvirt.libvirtError: the object vanished, or no access
            notes.append(f"{what} {obj.name()!r} not read: {err}")
    return found


def read_connection(uri: str) -> ConfigDocument:
    """Every domain (inactive ones included), network and nwfilter of ``uri``."""
    libvirt = _import_libvirt()
    try:
        with _c_library_stderr_silenced():
            conn = libvirt.open(uri)
    except libvirt.libvirtError as err:
        raise ConfigParseError(f"{uri}: cannot connect: {err.get_error_message()}") from err
    notes: list[str] = []
    try:
        secure = libvirt.VIR_DOMAIN_XML_SECURE | libvirt.VIR_DOMAIN_XML_INACTIVE

        def domain_xml(dom: Any) -> str:
            try:
                return str(dom.XMLDesc(secure))
            except libvirt.libvirtError:
                notes.append(f"domain {dom.name()!r}: secure XML refused; passwords not visible")
                return str(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))

        vms: list[VmSpec] = [
            domain_spec(parse_xml(xml, f"{uri} domain {name}"), uri)
            for name, xml in _each(conn.listAllDomains(), domain_xml, "domain", notes)
        ]
        networks: list[NetworkSpec] = [
            network_spec(parse_xml(xml, f"{uri} network {name}"), uri)
            for name, xml in _each(
                conn.listAllNetworks(), lambda n: str(n.XMLDesc(0)), "network", notes
            )
        ]
        filters: list[FilterSpec] = []
        try:
            all_filters = conn.listAllNWFilters()
        except libvirt.libvirtError as err:
            notes.append(f"network filters not listed: {err.get_error_message()}")
            all_filters = []
        for name, xml in _each(all_filters, lambda f: str(f.XMLDesc(0)), "nwfilter", notes):
            filters.append(filter_spec(parse_xml(xml, f"{uri} nwfilter {name}"), uri))
    except libvirt.libvirtError as err:
        raise ConfigParseError(f"{uri}: {err.get_error_message()}") from err
    finally:
        conn.close()
    return ConfigDocument(uri, tuple(vms), tuple(networks), tuple(filters), tuple(notes))
