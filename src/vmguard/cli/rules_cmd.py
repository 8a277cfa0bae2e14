"""``vmguard rules``: every built-in rule, for writing policy files and reading reports."""

from __future__ import annotations

import json
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from vmguard.cli.options import Output
from vmguard.cli.output import fail
from vmguard.cli.profile_option import ProfileOption, chosen_profile
from vmguard.findings import Threat
from vmguard.profiles.catalogue import deciders
from vmguard.profiles.model import Profile
from vmguard.rulebook import COMMANDS, RuleDoc, rulebook


class RulesFormat(StrEnum):
    """How to list the rules."""

    CONSOLE = "console"
    JSON = "json"


def render_text(docs: Sequence[RuleDoc]) -> str:
    """One line per rule, grouped by command: severity, threat, id, title."""
    lines: list[str] = []
    width = max((len(d.rule.rule_id) for d in docs), default=0)
    for command in COMMANDS:
        mine = [d for d in docs if d.command == command]
        if not mine:
            continue
        lines.append(f"{command} ({len(mine)} rules)")
        lines += [
            f"  {r.severity.value:<8}  {r.threat.value:<23}  {r.rule_id:<{width}}  {r.title}"
            for r in (d.rule for d in mine)
        ]
    return "\n".join(lines) + "\n"


def render_json(docs: Sequence[RuleDoc]) -> str:
    """The rules as a JSON document (``{"rules": [...]}``)."""
    rules = [
        {
            "command": d.command,
            "id": d.rule.rule_id,
            "title": d.rule.title,
            "severity": d.rule.severity.value,
            "threat": d.rule.threat.value,
            "remediation": d.rule.remediation,
            "rationale": d.rule.rationale,
            "references": list(d.rule.references),
        }
        for d in docs
    ]
    return json.dumps({"rules": rules}, indent=2) + "\n"


def render_profile(profile: Profile, fmt: RulesFormat) -> str:
    """A guide's items and the rules (or the manual check) that decide each."""
    mapping = deciders(profile)
    rows = [
        {
            "id": item.item_id,
            "title": item.title,
            "scope": item.scope.value,
            "rules": [str(d) for d in mapping.get(item.item_id, ())],
            "manual": item.manual,
        }
        for item in profile.items
    ]
    if fmt is RulesFormat.JSON:
        document = {"profile": profile.name, "guide": profile.guide, "items": rows}
        return json.dumps(document, indent=2) + "\n"
    lines = [f"{profile.guide} (--profile {profile.name}, {len(rows)} items)"]
    for row in rows:
        lines.append(f"  {row['id']:<44}  {row['scope']:<4}  {row['title']}")
        decided = ", ".join(row["rules"]) if row["rules"] else f"manual: {row['manual']}"
        lines.append(f"  {'':<44}  {'':<4}  -> {decided}")
    return "\n".join(lines) + "\n"


def rules_command(
    command: Annotated[
        list[str] | None,
        typer.Option(
            "--command", "-c", help=f"Only these commands' rules ({', '.join(COMMANDS)})."
        ),
    ] = None,
    threat: Annotated[
        list[Threat] | None,
        typer.Option("--threat", help="Only rules of these threat classes.", case_sensitive=False),
    ] = None,
    output_format: Annotated[
        RulesFormat, typer.Option("--format", help="List format.", case_sensitive=False)
    ] = RulesFormat.CONSOLE,
    output: Output = None,
    profile: ProfileOption = None,
) -> None:
    """List every built-in rule (id, severity, threat, title) that scan, audit, host and
    verify report by: the ids a policy file disables, re-grades and suppresses."""
    unknown = sorted(set(command or ()) - set(COMMANDS))
    if unknown:
        fail(f"--command {unknown[0]}: choose from {', '.join(COMMANDS)}")
    docs = [
        d
        for d in rulebook()
        if (not command or d.command in command) and (not threat or d.rule.threat in threat)
    ]
    text = render_json(docs) if output_format is RulesFormat.JSON else render_text(docs)
    guide = chosen_profile(profile)
    if guide is not None:
        text = render_profile(guide, output_format)
    if output is None:
        typer.echo(text, nl=False)
        return
    try:
        Path(output).write_text(text, encoding="utf-8")
    except OSError as err:
        fail(f"{output}: cannot write: {err.strerror}")
