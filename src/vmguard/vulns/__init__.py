"""Vulnerable software: OSV advisories (imported from files, or fetched when asked), version
ordering per ecosystem, matching against an image's packages, and SBOMs.

The public surface: ``open_default_index`` and ``match_inventory`` (what ``scan --vulns``
calls), ``find_vulnerabilities`` for the structured result, ``import_advisories`` and
``open_index`` for the database. Only ``update`` (``vmguard db update``, run when the user
asks) reaches the network, to fetch OSV's archives; matching and scanning never do.
"""

from vmguard.vulns.database import ImportSummary, import_advisories, open_default_index
from vmguard.vulns.errors import AdvisoryImportError, AdvisoryIndexError, IndexMissing, VulnsError
from vmguard.vulns.findings import RULE_ID, match_inventory
from vmguard.vulns.index import AdvisoryIndex, open_index
from vmguard.vulns.location import resolve_location
from vmguard.vulns.matching import PackageVulnerabilities, VulnMatch, VulnScan, find_vulnerabilities

__all__ = [
    "RULE_ID",
    "AdvisoryImportError",
    "AdvisoryIndex",
    "AdvisoryIndexError",
    "ImportSummary",
    "IndexMissing",
    "PackageVulnerabilities",
    "VulnMatch",
    "VulnScan",
    "VulnsError",
    "find_vulnerabilities",
    "import_advisories",
    "match_inventory",
    "open_default_index",
    "open_index",
    "resolve_location",
]
