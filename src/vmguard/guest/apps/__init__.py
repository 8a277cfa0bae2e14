"""Application packages inside a guest: Python, Node, Java, Ruby, PHP, .NET, Go and Rust.

Analyzers look only at what their path filter picks during a walk, and read only the
metadata files and binary sections they need, each bounded. They never execute or
evaluate anything they read (gemspecs are Ruby, setup files are Python: neither is run)
and never open a host path.
"""

from vmguard.guest.apps.finder import AppPackageFinder, default_analyzers, find_app_packages
from vmguard.guest.apps.interface import DEFAULT_APP_LIMITS, AppLimits, AppParseError

__all__ = [
    "DEFAULT_APP_LIMITS",
    "AppLimits",
    "AppPackageFinder",
    "AppParseError",
    "default_analyzers",
    "find_app_packages",
]
