"""The rulebook lists every rule the commands really report, once, with what a policy needs."""

from __future__ import annotations

from pathlib import Path

import pytest

from plantedimage import EXPECTED
from vmconfig.corpus import corpus_files
from vmguard.demo.sample import build_sample_vm
from vmguard.findings import Rule, Severity, Threat
from vmguard.inspection import ImageOptions
from vmguard.rulebook import COMMANDS, RulebookError, catalogue, names_a_rule, rule_ids, rulebook
from vmguard.scanning import ScanOptions, scan_image
from vmguard.vmconfig.audit import AuditOptions, audit_paths
from vmguard.vmconfig.model import ConfigParseError
from vmguard.vmconfig.rules.catalogue import builtin_rules


def test_every_rule_once_with_its_documentation() -> None:
    docs = rulebook()
    assert len({d.rule.rule_id for d in docs}) == len(docs)
    assert {d.command for d in docs} == set(COMMANDS)
    assert sum(d.command == "audit" for d in docs) == len(builtin_rules())
    for doc in docs:
        rule = doc.rule
        assert rule.title and rule.rationale and rule.remediation, rule.rule_id


def _groups() -> list[tuple[str, list[Rule]]]:
    docs = rulebook()
    return [(c, [d.rule for d in docs if d.command == c]) for c in COMMANDS]


def test_the_same_id_in_two_commands_is_refused() -> None:
    groups = _groups()
    assert len(catalogue(groups)) == len(rulebook())
    host_rule = groups[COMMANDS.index("host")][1][0]
    fleet = groups[COMMANDS.index("fleet")][1]
    fleet.append(Rule(host_rule.rule_id, "t", Severity.LOW, Threat.MALWARE, "r", rationale="w"))
    with pytest.raises(RulebookError, match=rf"{host_rule.rule_id} .*by host and by fleet"):
        catalogue(groups)


@pytest.mark.parametrize("missing", ["title", "rationale", "remediation"])
def test_a_rule_without_its_documentation_is_refused(missing: str) -> None:
    fields = {"title": "a title", "rationale": "why", "remediation": "how"}
    fields[missing] = " "
    rule = Rule(
        "x.undocumented",
        fields["title"],
        Severity.LOW,
        Threat.MALWARE,
        fields["remediation"],
        rationale=fields["rationale"],
    )
    with pytest.raises(RulebookError, match=f"x.undocumented has no {missing}"):
        catalogue([("scan", [rule])])


def test_what_real_scans_report_is_in_the_rulebook(tmp_path: Path) -> None:
    known = rule_ids()
    assert {rule for rule, _ in EXPECTED} <= known  # the planted image's findings (test_scanning)
    sample = build_sample_vm(tmp_path)
    report = scan_image(sample.image, ScanOptions(image=ImageOptions(), deleted=True, workers=1))
    reported = {f.rule_id for f in report.findings}
    assert reported and reported <= known
    assert {
        f.rule_id for f in audit_paths([sample.definition], AuditOptions())[0].findings
    } <= known


def test_what_audits_of_the_corpus_report_is_in_the_rulebook() -> None:
    reported: set[str] = set()
    for path in corpus_files():
        try:
            reports = audit_paths([path], AuditOptions())
        except ConfigParseError:
            continue
        reported |= {f.rule_id for r in reports for f in r.findings}
    assert len(reported) > 60
    assert reported <= rule_ids()


@pytest.mark.parametrize(
    ("pattern", "named"),
    [
        ("ssh.root-login", True),
        ("ssh.*", True),
        ("*", True),
        ("malware.yara.my_rule", True),
        ("malware.yara*", True),
        ("ssh.rootlogin", False),
        ("vmx.vnc-password", False),
        ("nosuch.*", False),
    ],
)
def test_policy_patterns(pattern: str, named: bool) -> None:
    assert names_a_rule(pattern) is named
