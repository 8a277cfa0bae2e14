"""The advisory index options (--vulns-db and its deprecated spelling --db, --max-db-age),
declared once for scan, vulns, sbom and db. Kept apart from ``option_blocks`` because it loads
the advisory layer, which commands without advisories (inspect) should not pay for."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, TypeVar

import typer

from vmguard.cli.option_blocks import option_block
from vmguard.cli.options import MaxDbAge
from vmguard.vulns.freshness import DEFAULT_MAX_AGE_DAYS
from vmguard.vulns.location import ENV_VAR

R = TypeVar("R")

VulnsDb = Annotated[
    str | None,
    typer.Option(
        "--vulns-db",
        help=f"Advisory index: a path or sqlite:/// URL (default: ${ENV_VAR}, else "
        "$XDG_DATA_HOME/vmguard/vulns.sqlite). --db, its old spelling, is still accepted "
        "(deprecated).",
    ),
]
OldVulnsDb = Annotated[
    str | None,
    typer.Option("--db", hidden=True, help="Deprecated: the old spelling of --vulns-db."),
]


def advisory_db(vulns_db: str | None, old_spelling: str | None) -> str | None:
    """The advisory index the user named with --vulns-db or its deprecated spelling --db."""
    if vulns_db is not None and old_spelling is not None and vulns_db != old_spelling:
        raise typer.BadParameter("--db is the old spelling of --vulns-db: give only one")
    return vulns_db if vulns_db is not None else old_spelling


@dataclass(frozen=True, slots=True)
class AdvisoryChoice:
    """Which advisory index, and how old it may be: the advisory options block."""

    vulns_db: VulnsDb = None
    db: OldVulnsDb = None
    max_db_age: MaxDbAge = DEFAULT_MAX_AGE_DAYS

    @property
    def location(self) -> str | None:
        """The index named by --vulns-db (or its old spelling --db); None for the default."""
        return advisory_db(self.vulns_db, self.db)


BLOCK_DEFAULT_ADVISORIES = AdvisoryChoice()
"""A placeholder default: the block decorator always passes the values the user gave."""


def with_advisory_options(command: Callable[..., R]) -> Callable[..., R]:
    """Give a command the advisory options (--vulns-db and its old spelling --db,
    --max-db-age) in place of its ``advisories: AdvisoryChoice`` parameter."""
    return option_block(AdvisoryChoice, "advisories")(command)
