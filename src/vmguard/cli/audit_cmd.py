"""``vmguard audit CONFIG... | --connect URI``: VM definitions against the config rules."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vmguard.cli.options import FailOn, Output, OutputFormatOption, Policy
from vmguard.cli.output import emit_all, exit_code_all, fail
from vmguard.cli.profile_option import ProfileOption, chosen_profile
from vmguard.findings import Severity
from vmguard.policy import apply_policy, load_policy
from vmguard.report.interface import OutputFormat
from vmguard.vmconfig.audit import AuditOptions, audit_documents, audit_paths
from vmguard.vmconfig.live import read_connection
from vmguard.vmconfig.model import Platform


def audit_command(
    configs: Annotated[
        list[Path] | None,
        typer.Argument(help="libvirt domain/network/nwfilter XML, .vmx, .vbox, .ovf or .ova."),
    ] = None,
    connect: Annotated[
        str | None,
        typer.Option("--connect", help="Audit every domain and network of this libvirt URI."),
    ] = None,
    platform: Annotated[
        Platform | None,
        typer.Option(
            "--platform", case_sensitive=False, help="The product that runs these definitions."
        ),
    ] = None,
    platform_version: Annotated[
        int | None,
        typer.Option(
            "--platform-version",
            min=1,
            max=99,
            help="The product's major release (8 = ESXi 8), when the files do not show it.",
        ),
    ] = None,
    policy: Policy = None,
    profile: ProfileOption = None,
    output_format: OutputFormatOption = OutputFormat.CONSOLE,
    output: Output = None,
    fail_on: FailOn = Severity.HIGH,
) -> None:
    """Audit VM definitions for clipboard sharing, passthrough, open consoles, spoofing,
    missing limits, missing secure boot and the other survey threat classes."""
    paths = list(configs or [])
    if not paths and connect is None:
        fail("give one or more CONFIG files, or --connect URI")
    for path in paths:
        if not path.is_file():
            fail(f"{path}: no such configuration file")
    rules_policy = load_policy(policy)
    options = AuditOptions(platform, platform_version, chosen_profile(profile))
    reports = audit_paths(paths, options) if paths else []
    if connect is not None:
        reports += audit_documents([read_connection(connect)], options)
    reports = [apply_policy(report, rules_policy) for report in reports]
    emit_all(reports, output_format, output)
    raise typer.Exit(exit_code_all(reports, fail_on))
