"""Bounds every disk parser respects. Hostile images are the normal case."""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Limits:
    """Upper bounds applied before any allocation or loop that the image controls."""

    max_chain_depth: int = 16
    """Backing files followed at most (images plus backing files)."""
    max_table_bytes: int = 32 * 1024 * 1024
    """Largest metadata table (qcow2 L1, VMDK grain directory, VHD BAT, VHDX BAT) read."""
    max_descriptor_bytes: int = 1024 * 1024
    """Largest VMDK text descriptor read."""
    max_extents: int = 1024
    """Extents of a VMDK descriptor."""
    max_gpt_entries: int = 1024
    """GPT partition entries considered (the array is also capped at 4 MiB)."""
    max_logical_partitions: int = 128
    """Logical partitions followed through an MBR extended chain."""
    max_ova_members: int = 4096
    """Members of an OVA tar read."""
    max_table_cache_entries: int = 4096
    """Decoded metadata tables (qcow2 L2 tables, VMDK grain tables) kept in memory."""


DEFAULT_LIMITS = Limits()
