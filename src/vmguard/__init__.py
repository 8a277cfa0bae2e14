"""vmguard: secure virtual machine images and the environments that run them, offline."""

__version__ = "0.1.0"

from vmguard.native import prefer_sources

prefer_sources()
