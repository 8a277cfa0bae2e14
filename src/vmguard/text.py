"""Untrusted text made safe to print: the one place that decides what reaches a terminal,
a log line, an error message or a report.

Text from images, definitions, guest files, databases and user arguments is hostile: an
escape sequence can drive a terminal, a line break can fake a line of a report, a bidi
override (U+202E) can disguise a file name, a NUL or an unpaired surrogate can break an XML
parser, and a megabyte of it can flood a screen.

Public API:
- ``printable(value, limit)``: one line for display. A tab becomes a space; every other
  character ``str.isprintable`` rejects (line breaks, C0/C1 controls such as ESC and NUL,
  format characters such as bidi overrides and zero-width marks, surrogates, unassigned code
  points) is shown escaped (``\\n``, ``\\r``, ``\\x1b``, ``\\u202e``), so a name with a line
  break is not mistaken for one with a space; bytes that are not UTF-8 are shown as
  ``\\xff``; the text is cut at ``limit`` characters with ``... (cut at N characters)``.
  The result is valid XML 1.0 character data and never holds a character a terminal acts on.
- ``shown_name(name)``: ``printable`` bounded for a name inside a message.
- ``one_line(text, limit)``: the same for a message, with whitespace runs collapsed.
- ``kept_text(raw, max_chars)``: for facts that are stored and compared rather than shown
  (guest inventory fields): decoded, every character ``printable`` would escape dropped.

Markup escaping (HTML, rich console markup) stays with each writer; it applies on top of
``printable``. This module must never return a character that ``str.isprintable`` rejects,
and never an unbounded string from ``printable``.
"""

from __future__ import annotations

MAX_SHOWN = 1000
"""Characters shown of one untrusted string by default; the rest is cut."""

MAX_SHOWN_NAME = 200
"""Characters shown of a name (a file, an archive member, a key) inside a message."""

_SHORT_ESCAPES = {"\t": " ", "\n": "\\n", "\r": "\\r"}
"""A tab is only a space wide; the line breaks most text holds keep their short escapes."""


def _decoded(value: object, limit: int) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes | bytearray | memoryview):
        # 4 bytes a character at most: enough to know whether the text is longer than limit.
        return bytes(value[: limit * 4 + 4]).decode("utf-8", "backslashreplace")
    return value if isinstance(value, str) else str(value)


def _escaped(ch: str) -> str:
    short = _SHORT_ESCAPES.get(ch)
    if short is not None:
        return short
    code = ord(ch)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8, kept by surrogateescape
        return f"\\x{code - 0xDC00:02x}"
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def _cut(shown: str, limit: int) -> str:
    return f"{shown[:limit]}... (cut at {limit} characters)"


def printable(value: object, limit: int = MAX_SHOWN) -> str:
    """``value`` (text, bytes or anything ``str()`` takes) as one printable line of at most
    ``limit`` characters plus a cut marker, as described in the module docstring."""
    text = _decoded(value, limit)
    head = text[: limit + 1]
    if head.isprintable():  # the common case, at C speed
        return _cut(head, limit) if len(head) > limit else head
    parts: list[str] = []
    size = 0
    for ch in head:
        part = ch if ch.isprintable() else _escaped(ch)
        parts.append(part)
        size += len(part)
        if size > limit:
            return _cut("".join(parts), limit)
    return "".join(parts)


def shown_name(name: object) -> str:
    """A name for a one-line message: ``printable`` cut at ``MAX_SHOWN_NAME``."""
    return printable(name, MAX_SHOWN_NAME)


def one_line(text: str, limit: int = MAX_SHOWN) -> str:
    """A message as one printable line: whitespace runs collapsed to one space, the rest as
    ``printable`` (the ``vmguard: error:`` line, a report's errors)."""
    return printable(" ".join(text.split()), limit)


def kept_text(raw: bytes | str, max_chars: int) -> str:
    """A hostile string made safe to keep and compare: decoded (invalid UTF-8 becomes
    U+FFFD), every character ``printable`` would escape removed, at most ``max_chars`` kept,
    surrounding spaces stripped."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    head = text[: max_chars * 2]
    if not head.isprintable():
        head = "".join(ch for ch in head if ch.isprintable())
    return head[:max_chars].strip()


def is_decimal(text: str) -> bool:
    """Whether ``text`` is a plain decimal number in ASCII digits, as ``int()`` takes it.

    ``str.isdigit`` alone is not that test: it is also true of superscripts and circled
    digits ("²", "①"), which ``int()`` refuses with ValueError (fuzzing found "²0" as a
    .vmx hardware version); and other scripts' digits are not what any format here means.
    """
    return text.isascii() and text.isdigit()
