"""Registry hives of a Windows guest, read through libregf (pyregf) from memory.

A hive file is read whole under ``HIVE_MAX`` and handed to libregf as a file object:
libregf never sees a path, host or guest. ``Hive`` and ``RegKey`` hide pyregf's API and
turn each of its failures into ``GuestFactsError`` naming the hive; listings are bounded
(``MAX_SUBKEYS``, ``MAX_VALUES``) and so is a value's data (``MAX_VALUE_BYTES``), since a
hostile hive can claim any count or size.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pyregf

from vmguard.errors import VmguardError
from vmguard.guest.errors import GuestFactsError, read_guest_file
from vmguard.guest.facts import guest_text
from vmguard.guest.view import GuestView
from vmguard.text import is_decimal

HIVE_MAX = 256 * 1024 * 1024
"""Cap on one registry hive file."""
MAX_SUBKEYS = 20_000
"""Sub-keys listed per key; the rest are left out."""
MAX_VALUES = 4_096
"""Values listed per key."""
MAX_VALUE_BYTES = 1024 * 1024
"""Data read per value."""

REG_SZ, REG_EXPAND_SZ, REG_BINARY, REG_DWORD, REG_MULTI_SZ, REG_QWORD = 1, 2, 3, 4, 7, 11
_LIBREGF_ERRORS = (OSError, ValueError, TypeError, OverflowError, MemoryError)


def child_named(view: GuestView, directory: str, wanted: tuple[str, ...]) -> str | None:
    """Path of the entry of ``directory`` whose name matches one of ``wanted`` (casefolded)."""
    try:
        names = view.list_dir(directory) or []
    except VmguardError as err:
        raise GuestFactsError(directory, err.diagnostics()) from err
    for name in sorted(names):
        if name.casefold() in wanted:
            return f"{directory.rstrip('/')}/{name}"
    return None


def find_path(view: GuestView, *components: str) -> str | None:
    """Guest path of ``/c1/c2/...`` matched case-insensitively, None if absent."""
    path: str | None = "/"
    for component in components:
        if path is None:
            return None
        path = child_named(view, path, (component.casefold(),))
    return path


class RegKey:
    """One key of a hive."""

    def __init__(self, key: Any, hive_path: str, key_path: str) -> None:
        self._key = key
        self.hive_path = hive_path
        """Guest path of the hive file."""
        self.path = key_path
        """Key path inside the hive (backslash-separated)."""

    def _fail(self, what: str, err: BaseException) -> GuestFactsError:
        return GuestFactsError(self.hive_path, f"registry key {self.path}: {what}: {err}")

    @property
    def name(self) -> str:
        """The key's own name."""
        try:
            return guest_text(self._key.name or "")
        except _LIBREGF_ERRORS as err:
            raise self._fail("name", err) from err

    def subkey(self, name: str) -> RegKey | None:
        """The sub-key called ``name`` (case-insensitive), None if absent."""
        try:
            found = self._key.get_sub_key_by_name(name)
        except _LIBREGF_ERRORS as err:
            raise self._fail(f"sub-key {name}", err) from err
        return None if found is None else RegKey(found, self.hive_path, f"{self.path}\\{name}")

    def subkeys(self) -> Iterator[RegKey]:
        """Sub-keys, at most ``MAX_SUBKEYS``."""
        try:
            count = min(int(self._key.get_number_of_sub_keys()), MAX_SUBKEYS)
            for index in range(count):
                sub = self._key.get_sub_key(index)
                name = guest_text(sub.name or "")
                yield RegKey(sub, self.hive_path, f"{self.path}\\{name}")
        except _LIBREGF_ERRORS as err:
            raise self._fail("sub-keys", err) from err

    def _raw_value(self, name: str) -> Any:
        try:
            return self._key.get_value_by_name(name)
        except _LIBREGF_ERRORS as err:
            raise self._fail(f"value {name or '(default)'}", err) from err

    def value(self, name: str) -> str | int | bytes | None:
        """A value by name: strings cleaned, DWORD/QWORD as int, anything else as bytes."""
        raw = self._raw_value(name)
        return None if raw is None else self._decode(raw, name)

    def value_type(self, name: str) -> int | None:
        """The stored type of a value (for SAM, the type field carries data)."""
        raw = self._raw_value(name)
        try:
            return None if raw is None else int(raw.type)
        except _LIBREGF_ERRORS as err:
            raise self._fail(f"value {name or '(default)'}", err) from err

    def text(self, name: str) -> str:
        """A string value, or "" when absent or not a string."""
        found = self.value(name)
        return found if isinstance(found, str) else ""

    def number(self, name: str) -> int | None:
        """A DWORD/QWORD value (or a decimal string), None when absent or not a number."""
        found = self.value(name)
        if isinstance(found, int):
            return found
        if isinstance(found, str) and is_decimal(found.strip()):
            return int(found.strip()[:20])
        return None

    def binary(self, name: str) -> bytes | None:
        """A value's raw data whatever its type (bounded), None when absent."""
        raw = self._raw_value(name)
        if raw is None:
            return None
        return self._data(raw, name)

    def _data(self, raw: Any, name: str) -> bytes:
        try:
            if int(raw.get_data_size()) > MAX_VALUE_BYTES:
                raise GuestFactsError(
                    self.hive_path, f"registry value {self.path}\\{name} is too large"
                )
            data = raw.data
        except _LIBREGF_ERRORS as err:
            raise self._fail(f"value {name or '(default)'}", err) from err
        return bytes(data or b"")

    def _decode(self, raw: Any, name: str) -> str | int | bytes | None:
        try:
            kind = int(raw.type)
            if kind in (REG_SZ, REG_EXPAND_SZ):
                if int(raw.get_data_size()) > MAX_VALUE_BYTES:
                    return None
                text = raw.get_data_as_string()
                return guest_text(text) if isinstance(text, str) else None
            if kind in (REG_DWORD, REG_QWORD):
                number = raw.get_data_as_integer()
                return number if isinstance(number, int) else None
        except _LIBREGF_ERRORS:
            # A string that is not valid UTF-16, a DWORD of the wrong size: not a value
            # the guest could use either; treated as absent.
            return None
        return self._data(raw, name)

    def value_names(self) -> list[str]:
        """Names of the key's values, at most ``MAX_VALUES``."""
        try:
            count = min(int(self._key.get_number_of_values()), MAX_VALUES)
            return [guest_text(self._key.get_value(i).name or "") for i in range(count)]
        except _LIBREGF_ERRORS as err:
            raise self._fail("values", err) from err


class Hive:
    """An opened registry hive."""

    def __init__(self, view: GuestView, path: str) -> None:
        data = read_guest_file(view, path, HIVE_MAX)
        if data is None:
            raise GuestFactsError(path, "hive is not a regular file")
        self.path = path
        self._hive = pyregf.file()
        try:
            self._hive.open_file_object(io.BytesIO(data))
        except _LIBREGF_ERRORS as err:
            raise GuestFactsError(path, f"unreadable registry hive: {err}") from err

    def key(self, key_path: str) -> RegKey | None:
        """The key at ``key_path`` (backslash-separated, below the root), None if absent."""
        try:
            found = self._hive.get_key_by_path(key_path)
        except _LIBREGF_ERRORS as err:
            raise GuestFactsError(self.path, f"registry key {key_path}: {err}") from err
        return None if found is None else RegKey(found, self.path, key_path)

    def current_control_set(self) -> str:
        """``ControlSetNNN`` named by ``Select\\Current`` (a SYSTEM hive's live settings)."""
        select = self.key("Select")
        current = select.number("Current") if select is not None else None
        if current is None or not 0 < current <= MAX_CONTROL_SET:
            raise GuestFactsError(self.path, "no valid Select\\Current control set number")
        return f"ControlSet{current:03d}"


MAX_CONTROL_SET = 999
