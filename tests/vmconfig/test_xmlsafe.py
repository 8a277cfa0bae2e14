"""Hostile XML: entity expansion, external entities, depth and size are refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from vmguard.vmconfig.loader import load_config
from vmguard.vmconfig.model import ConfigParseError
from vmguard.vmconfig.xmlsafe import MAX_DEPTH, parse_xml, read_bounded

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<domain><name>&lol2;</name></domain>"""

EXTERNAL = b"""<?xml version="1.0"?>
<!DOCTYPE domain [<!ENTITY xxe SYSTEM "file:///etc/shadow">]>
<domain><name>&xxe;</name></domain>"""


@pytest.mark.parametrize("data", [BILLION_LAUGHS, EXTERNAL])
def test_entities_and_dtds_are_refused(data: bytes) -> None:
    with pytest.raises(ConfigParseError, match="refused"):
        parse_xml(data, "hostile.xml")


def test_deep_nesting_is_refused() -> None:
    data = b"<domain>" + b"<a>" * (MAX_DEPTH + 5) + b"</a>" * (MAX_DEPTH + 5) + b"</domain>"
    with pytest.raises(ConfigParseError, match="nested deeper"):
        parse_xml(data, "deep.xml")


def test_namespaces_are_stripped() -> None:
    root = parse_xml(b'<e:Envelope xmlns:e="urn:x" e:id="1"><e:Item/></e:Envelope>', "ns")
    assert root.tag == "Envelope"
    assert root.get("id") == "1"
    assert root.find("Item") is not None


def test_oversized_files_are_refused_before_parsing(tmp_path: Path) -> None:
    big = tmp_path / "big.xml"
    big.write_bytes(b"<domain>" + b" " * 2048 + b"</domain>")
    with pytest.raises(ConfigParseError, match="larger than"):
        read_bounded(big, limit=1024)


def test_hostile_definition_files_are_refused_by_the_loader(tmp_path: Path) -> None:
    path = tmp_path / "evil.xml"
    path.write_bytes(EXTERNAL)
    with pytest.raises(ConfigParseError):
        load_config(path)
    assert path.read_bytes() == EXTERNAL


def test_a_non_definition_xml_is_refused_with_its_root(tmp_path: Path) -> None:
    path = tmp_path / "pool.xml"
    path.write_bytes(b"<pool type='dir'><name>default</name></pool>")
    with pytest.raises(ConfigParseError, match="<pool> is not a VM definition"):
        load_config(path)


@pytest.mark.parametrize(
    "data",
    [
        b'<?xml version="" encoding="F"?><domain/>',  # fuzzer find: LookupError
        b'<?xml version="1.0" encoding="x-no-such-codec"?><domain/>',
        b'<?xml version="1.0" encoding="utf-16"?><domain/>',  # declared, not used
    ],
)
def test_unknown_or_wrong_encodings_are_parse_errors(data: bytes) -> None:
    with pytest.raises(ConfigParseError, match="XML"):
        parse_xml(data, "enc.xml")
