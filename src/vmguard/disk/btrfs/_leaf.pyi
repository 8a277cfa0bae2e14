"""Types of the C helper ``_leaf.c`` (built by ``vmguard.native_build``)."""

def parse_items(
    raw: bytes, header: int, count: int, body: int, /
) -> tuple[tuple[tuple[int, int, int], ...], tuple[bytes, ...]] | None:
    """The keys and payloads of a leaf's ``count`` items; None when a payload lies past
    ``body`` bytes after the ``header``."""
