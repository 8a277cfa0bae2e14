"""VMware ``.vmx`` files into a ``VmSpec``.

A .vmx is ``key = "value"`` lines; keys are case-insensitive and the last occurrence wins,
as in VMware's own reader. Values use ``|XX`` hex escapes. Paths in values (disks, ISOs,
shared folders) are data and never opened.
"""

from __future__ import annotations

import re

from vmguard.text import is_decimal
from vmguard.vmconfig.model import ConfigFormat, ConfigParseError, Platform, Setting, VmSpec

MAX_LINES = 100_000
_LINE = re.compile(r'^\s*([^\s=#"]+)\s*=\s*(?:"([^"]*)"|([^"#\s]*))\s*(?:#.*)?$')
_ESCAPE = re.compile(r"\|([0-9A-Fa-f]{2})")
_ESXI_KEYS = ("sched.swap.derivedname", "migrate.hostlog", "migrate.encryptionmode")


def _unescape(value: str) -> str:
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), value)


def parse_vmx_settings(text: str, what: str) -> dict[str, Setting]:
    """The settings of a .vmx text, keyed by lower-cased key."""
    lines = text.splitlines()
    if len(lines) > MAX_LINES:
        raise ConfigParseError(f"{what}: more than {MAX_LINES} lines")
    settings: dict[str, Setting] = {}
    for number, line in enumerate(lines, 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        match = _LINE.match(line)
        if match is None:
            raise ConfigParseError(f"{what}: line {number} is not a 'key = \"value\"' line")
        key = match.group(1)
        raw = match.group(2) if match.group(2) is not None else match.group(3) or ""
        settings[key.lower()] = Setting(key, _unescape(raw))
    if not settings:
        raise ConfigParseError(f"{what}: no settings; not a .vmx file")
    return settings


def infer_vmware_platform(settings: dict[str, Setting]) -> tuple[Platform | None, str]:
    """The VMware product the settings reveal, and the key that revealed it."""
    compat = settings.get("virtualhw.productcompatibility")
    if compat is not None:
        value = compat.value.strip().lower()
        if value == "hosted":
            return Platform.WORKSTATION, f'{compat.key} = "{compat.value}" (hosted product)'
        if value == "esx":
            return Platform.ESXI, f'{compat.key} = "{compat.value}"'
    for key in _ESXI_KEYS:
        if key in settings:
            return Platform.ESXI, f"{settings[key].key} is an ESXi-only key"
    for setting in settings.values():
        if "/vmfs/volumes/" in setting.value:
            return Platform.ESXI, f"{setting.key} names a /vmfs/volumes datastore path"
    return None, ""


def hardware_version(value: str | None) -> int | None:
    """A virtual hardware version (``20``, ``vmx-20``) as a number, or None."""
    digits = (value or "").strip().lower().removeprefix("vmx-")
    return int(digits) if is_decimal(digits) and len(digits) <= 4 else None


def vmx_spec(data: bytes, what: str) -> VmSpec:
    """Parse a .vmx file's bytes (UTF-8, or the legacy 8-bit encodings VMware wrote)."""
    if b"\x00" in data:
        raise ConfigParseError(f"{what}: binary data; not a .vmx file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    settings = parse_vmx_settings(text.lstrip("\ufeff"), what)
    platform, why = infer_vmware_platform(settings)
    name = settings.get("displayname")
    version = settings.get("virtualhw.version")
    return VmSpec(
        name=name.value if name is not None and name.value else what.rsplit("/", 1)[-1],
        format=ConfigFormat.VMX,
        platform=platform,
        platform_source=why,
        settings=settings,
        hardware_version=hardware_version(version.value if version is not None else None),
    )
