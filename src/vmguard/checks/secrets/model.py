"""What a secret pattern is: a rule, one yara-x regular expression, a validator.

Every pattern joins the single yara-x pass over each file; its validator runs only on the
pattern's matches and returns redacted evidence, never the secret itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum

from vmguard.checks.secrets.validators import Verdict
from vmguard.findings import Rule

Validator = Callable[[bytes, int, bytes], Verdict | None]
"""(window bytes, match offset, matched bytes) -> verdict or None to drop."""


class Specificity(IntEnum):
    """How much a match says about what it is; where matches overlap, the higher one wins."""

    GENERIC = 0
    """A secret-sounding key with a random-looking value."""
    KEYWORD = 1
    """A token shape that only a nearby provider keyword identifies."""
    PREFIX = 2
    """A token with the provider's own literal prefix or layout."""
    STRUCTURED = 3
    """Parsed key material or documents (PEM keys, service-account JSON, key pairs)."""


@dataclass(frozen=True, slots=True)
class SecretPattern:
    """One kind of secret."""

    rule: Rule
    regex: str
    """yara-x regular expression (no slashes)."""
    validate: Validator
    specificity: Specificity = Specificity.PREFIX
    family: str = "keys"
    """The credential family (cloud, ci, chat, payment, registry, ai, saas, keys, generic)."""
    in_binaries: bool = True
    """Whether binary files are searched for it too: keyword and generic patterns are not
    (a binary's strings table puts random bytes after any word), nor table rows without a
    distinctive prefix; each pattern searched costs time on every byte."""
