"""The JSON Schema of the JSON report, shipped in the package (``vmguard/data``).

It describes one report object (the DESIGN.md contract) and the wrapper that several
reports share (``report.multi``). The schema is data for consumers and tests; vmguard does
not validate its own output at run time (that would make ``jsonschema`` a run-time
dependency for a check the tests already make on every command).
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

SCHEMA_RESOURCE = "report.schema.json"


def report_schema_text() -> str:
    """The schema document as shipped."""
    return resources.files("vmguard.data").joinpath(SCHEMA_RESOURCE).read_text(encoding="utf-8")


def report_schema() -> dict[str, Any]:
    """The schema, parsed."""
    document: dict[str, Any] = json.loads(report_schema_text())
    return document
