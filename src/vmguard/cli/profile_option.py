"""``--profile NAME``: the guide profile option shared by audit, host and rules."""

from __future__ import annotations

from typing import Annotated

import typer

from vmguard.cli.output import fail
from vmguard.profiles.catalogue import PROFILES, UnknownProfile, profile_named
from vmguard.profiles.model import Profile

ProfileOption = Annotated[
    str | None,
    typer.Option(
        "--profile",
        help="Judge every item of a hardening guide: "
        + ", ".join(p.name for p in PROFILES)
        + " (pass, fail, not applicable or manual).",
    ),
]


def chosen_profile(name: str | None) -> Profile | None:
    """The profile ``--profile`` names, None without one; exits 2 on an unknown name."""
    if name is None:
        return None
    try:
        return profile_named(name)
    except UnknownProfile as err:
        fail(err.diagnostics())
