"""Where the advisory index lives: ``--db``, else ``VMGUARD_DB``, else the user's data dir.

A location is a filesystem path or an SQLAlchemy-style ``sqlite:///relative`` /
``sqlite:////absolute`` URL. Other URL schemes (PostgreSQL...) are refused with a clear
message rather than guessed at. Never creates anything: creating the file is the index's job
and happens only on import.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from vmguard.vulns.errors import UnsupportedLocation

ENV_VAR = "VMGUARD_DB"
DEFAULT_NAME = "vulns.sqlite"
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


def default_location() -> Path:
    """``$XDG_DATA_HOME/vmguard/vulns.sqlite`` (``~/.local/share`` when XDG is unset)."""
    base = os.environ.get("XDG_DATA_HOME") or ""
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".local" / "share"
    return root / "vmguard" / DEFAULT_NAME


def resolve_location(value: str | Path | None = None) -> Path:
    """The index file for an explicit location, else VMGUARD_DB, else the default."""
    if value is None or str(value) == "":
        value = os.environ.get(ENV_VAR) or None
    if value is None:
        return default_location()
    if isinstance(value, Path):
        return value
    scheme = _SCHEME.match(value)
    if scheme is None:
        return Path(value)
    name = scheme.group(1).lower()
    if name == "sqlite":
        rest = value[len("sqlite://") :]
        if not rest.startswith("/") or rest == "/":
            raise UnsupportedLocation(
                f"{value}: give a file, as sqlite:///relative/path or sqlite:////absolute/path"
            )
        path = rest[1:].split("?", 1)[0]
        return Path(path)
    raise UnsupportedLocation(
        f"{value}: only SQLite advisory indexes are supported (a path or sqlite:/// URL)"
    )
