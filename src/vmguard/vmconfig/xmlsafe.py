"""Bounded, entity-free XML and file reading for VM definitions.

XML goes through defusedxml with DTDs, entity declarations and external references
forbidden; the element count and nesting depth are checked while parsing, so a hostile
document stops early. Namespaces are stripped from tags and attributes so rules can use
local names. This module must never resolve a URL or open a path named inside a document.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from vmguard.vmconfig.model import ConfigParseError

MAX_FILE_BYTES = 16 * 1024 * 1024
MAX_ELEMENTS = 200_000
MAX_DEPTH = 64


def read_bounded(path: Path, limit: int = MAX_FILE_BYTES) -> bytes:
    """Read a regular file whole, refusing anything larger than ``limit`` bytes."""
    try:
        with open(path, "rb") as handle:
            info = os.fstat(handle.fileno())
            if not _is_regular(info.st_mode):
                raise ConfigParseError(f"{path}: not a regular file")
            data = handle.read(limit + 1)
    except OSError as err:
        raise ConfigParseError(f"{path}: cannot read ({err.strerror or err})") from err
    if len(data) > limit:
        raise ConfigParseError(f"{path}: larger than {limit} bytes; refused")
    return data


def _is_regular(mode: int) -> bool:
    import stat

    return stat.S_ISREG(mode)


def local_name(name: str) -> str:
    """``{namespace}local`` or ``prefix:local`` reduced to ``local``."""
    return name.rsplit("}", 1)[-1]


def _strip(element: Element) -> None:
    element.tag = local_name(element.tag)
    if any(k.startswith("{") for k in element.attrib):
        stripped: dict[str, str] = {}
        for key, value in element.attrib.items():
            short = local_name(key)
            # An un-namespaced attribute wins over a namespaced one with the same local name.
            if short not in stripped or not key.startswith("{"):
                stripped[short] = value
        element.attrib = stripped


def parse_xml(data: bytes, what: str) -> Element:
    """Parse ``data`` safely and return its root element, namespaces stripped."""
    depth = 0
    count = 0
    root: Element | None = None
    try:
        for event, element in SafeET.iterparse(
            io.BytesIO(data),
            events=("start", "end"),
            forbid_dtd=True,
            forbid_entities=True,
            forbid_external=True,
        ):
            if event == "start":
                depth += 1
                count += 1
                if root is None:
                    root = element
                if depth > MAX_DEPTH:
                    raise ConfigParseError(f"{what}: XML nested deeper than {MAX_DEPTH}")
                if count > MAX_ELEMENTS:
                    raise ConfigParseError(f"{what}: more than {MAX_ELEMENTS} XML elements")
            else:
                depth -= 1
                _strip(element)
    except DefusedXmlException as err:
        raise ConfigParseError(f"{what}: XML refused ({type(err).__name__})") from err
    except SafeET.ParseError as err:
        raise ConfigParseError(f"{what}: not well-formed XML ({err})") from err
    except (ValueError, UnicodeError, LookupError) as err:
        # LookupError: the XML declaration names an encoding Python does not know.
        raise ConfigParseError(f"{what}: unreadable XML ({err})") from err
    if root is None:
        raise ConfigParseError(f"{what}: empty XML document")
    return root


def text_of(element: Element | None, path: str) -> str | None:
    """Stripped text of the first match of ``path`` under ``element``."""
    if element is None:
        return None
    found = element.find(path)
    if found is None or found.text is None:
        return None
    return found.text.strip()
