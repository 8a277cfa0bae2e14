"""libvirt's configuration syntax (qemu.conf, libvirtd.conf, virtqemud.conf), parsed.

The syntax is libvirt's ``virconf``: ``name = value`` statements separated by newlines or
``;``, ``#`` comments, values that are integers, strings in double or single quotes (or
triple double quotes spanning lines) and ``[...]`` lists of those, which may span lines.
When a name is set twice the last setting wins, as in libvirt.

This module parses text it is given; it must never open a file, and stops at
``MAX_CONF_BYTES`` or ``MAX_LIST_ITEMS``.
"""

from __future__ import annotations

from dataclasses import dataclass

from vmguard.host.errors import HostError
from vmguard.text import is_decimal

MAX_CONF_BYTES = 1024 * 1024
MAX_LIST_ITEMS = 10_000

ConfScalar = str | int
ConfValue = ConfScalar | tuple[ConfScalar, ...]


class ConfParseError(HostError):
    """Text that libvirt itself would refuse to load."""


@dataclass(frozen=True, slots=True)
class ConfEntry:
    """One ``name = value`` setting."""

    name: str
    value: ConfValue
    line: int
    """1-based line of the name."""


@dataclass(frozen=True, slots=True)
class ConfFile:
    """A parsed configuration file."""

    path: str
    """Host path of the file."""
    entries: tuple[ConfEntry, ...]

    def get(self, name: str) -> ConfEntry | None:
        """The setting of ``name`` that libvirt uses (the last one), None when unset."""
        found = None
        for entry in self.entries:
            if entry.name == name:
                found = entry
        return found

    def text(self, name: str) -> str | None:
        """A string setting, None when unset or not a string."""
        entry = self.get(name)
        return entry.value if entry is not None and isinstance(entry.value, str) else None

    def number(self, name: str) -> int | None:
        """An integer setting, None when unset or not an integer."""
        entry = self.get(name)
        return entry.value if entry is not None and isinstance(entry.value, int) else None


class _Reader:
    """A cursor over the text that tracks the line number."""

    def __init__(self, text: str, path: str) -> None:
        self.text = text
        self.pos = 0
        self.line = 1
        self.path = path

    def error(self, message: str) -> ConfParseError:
        return ConfParseError(f"{self.path}:{self.line}: {message}")

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def advance(self, count: int = 1) -> str:
        chunk = self.text[self.pos : self.pos + count]
        self.line += chunk.count("\n")
        self.pos += count
        return chunk

    def skip_blanks(self, *, newlines: bool) -> None:
        """Skip spaces, comments and (with ``newlines``) line ends."""
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char in " \t\r" or (newlines and char == "\n"):
                self.advance()
            elif char == "#":
                end = self.text.find("\n", self.pos)
                self.advance((len(self.text) if end < 0 else end) - self.pos)
            else:
                return


def _name(reader: _Reader) -> str:
    start = reader.pos
    while reader.peek().isalnum() or reader.peek() in "_.":
        reader.advance()
    name = reader.text[start : reader.pos]
    if not name or not (name[0].isalpha() or name[0] == "_"):
        raise reader.error(f"expected a setting name, found {reader.peek()!r}")
    return name


def _string(reader: _Reader) -> str:
    if reader.text.startswith('"""', reader.pos):
        end = reader.text.find('"""', reader.pos + 3)
        if end < 0:
            raise reader.error("unterminated triple-quoted string")
        return reader.advance(end + 3 - reader.pos)[3:-3]
    quote = reader.advance()
    end = reader.text.find(quote, reader.pos)
    newline = reader.text.find("\n", reader.pos)
    if end < 0 or 0 <= newline < end:
        raise reader.error("unterminated string")
    value = reader.advance(end - reader.pos)
    reader.advance()
    return value


def _scalar(reader: _Reader) -> ConfScalar:
    char = reader.peek()
    if char in "\"'":
        return _string(reader)
    start = reader.pos
    if char in "+-":
        reader.advance()
    while is_decimal(reader.peek()):
        reader.advance()
    digits = reader.text[start : reader.pos]
    if not digits.lstrip("+-"):
        raise reader.error(f"expected a value, found {char!r}")
    return int(digits)


def _value(reader: _Reader) -> ConfValue:
    if reader.peek() != "[":
        return _scalar(reader)
    reader.advance()
    items: list[ConfScalar] = []
    while True:
        reader.skip_blanks(newlines=True)
        if reader.peek() == "]":
            reader.advance()
            return tuple(items)
        if len(items) >= MAX_LIST_ITEMS:
            raise reader.error(f"list longer than {MAX_LIST_ITEMS} items")
        items.append(_scalar(reader))
        reader.skip_blanks(newlines=True)
        if reader.peek() == ",":
            reader.advance()
        elif reader.peek() != "]":
            raise reader.error("expected ',' or ']' in a list")


def parse_conf(text: str, path: str) -> ConfFile:
    """Parse libvirt configuration text; ``ConfParseError`` names the line libvirt rejects."""
    if len(text) > MAX_CONF_BYTES:
        raise ConfParseError(f"{path}: larger than {MAX_CONF_BYTES} bytes")
    reader = _Reader(text, path)
    entries: list[ConfEntry] = []
    while True:
        reader.skip_blanks(newlines=True)
        if reader.peek() == ";":
            reader.advance()
            continue
        if not reader.peek():
            return ConfFile(path, tuple(entries))
        line = reader.line
        name = _name(reader)
        reader.skip_blanks(newlines=False)
        if reader.peek() != "=":
            raise reader.error(f"expected '=' after {name}")
        reader.advance()
        reader.skip_blanks(newlines=False)
        entries.append(ConfEntry(name, _value(reader), line))
        reader.skip_blanks(newlines=False)
        if reader.peek() not in ("\n", ";", ""):
            raise reader.error(f"unexpected {reader.peek()!r} after the value of {name}")
