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
from vmguard.findings import Threat
from vmguard.rulebook import COMMANDS, RuleDoc, rulebook


class RulesFormat(StrEnum):
    """How to list the rules."""

    CONSOLE = "console"
    JSON = "json"


def render_text(docs: Sequence[RuleDoc]) -> str:
    """One line per rule, grouped by command: severity, threat, id, title."""
    lines: list[str] = []
    width = max((len(d.rule_id) for d in docs), default=0)
    for command in COMMANDS:
        mine = [d for d in docs if d.command == command]
        if not mine:
            continue
        lines.append(f"{command} ({len(mine)} rules)")
        lines += [
            f"  {d.severity.value:<8}  {d.threat.value:<23}  {d.rule_id:<{width}}  {d.title}"
            for d in mine
        ]
    return "\n".join(lines) + "\n"


def render_json(docs: Sequence[RuleDoc]) -> str:
    """The rules as a JSON document (``{"rules": [...]}``)."""
    rules = [
        {
            "command": d.command,
            "id": d.rule_id,
            "title": d.title,
            "severity": d.severity.value,
            "threat": d.threat.value,
            "remediation": d.remediation,
            "rationale": d.rationale,
            "references": list(d.references),
        }
        for d in docs
    ]
    return json.dumps({"rules": rules}, indent=2) + "\n"


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
) -> None:
    """List every built-in rule (id, severity, threat, title) that scan, audit, host and
    verify report by: the ids a policy file disables, re-grades and suppresses."""
    unknown = sorted(set(command or ()) - set(COMMANDS))
    if unknown:
        fail(f"--command {unknown[0]}: choose from {', '.join(COMMANDS)}")
    docs = [
        d
        for d in rulebook()
        if (not command or d.command in command) and (not threat or d.threat in threat)
    ]
    text = render_json(docs) if output_format is RulesFormat.JSON else render_text(docs)
    if output is None:
        typer.echo(text, nl=False)
        return
    try:
        Path(output).write_text(text, encoding="utf-8")
    except OSError as err:
        fail(f"{output}: cannot write: {err.strerror}")
