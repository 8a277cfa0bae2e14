"""Every real definition in the shared corpus parses or is refused cleanly, and audits."""

from __future__ import annotations

import json

from clirunner import vmguard
from vmguard.vmconfig.audit import AuditOptions, audit_paths
from vmguard.vmconfig.loader import load_config
from vmguard.vmconfig.model import ConfigParseError

from .corpus import CORPUS, corpus_files


def test_every_corpus_file_parses_or_is_refused_with_a_reason() -> None:
    files = corpus_files()
    assert len(files) > 1000
    parsed = refused = 0
    for path in files:
        try:
            document = load_config(path)
        except ConfigParseError as err:
            refused += 1
            assert str(path) in err.diagnostics()
            assert "\n" not in err.diagnostics()
        else:
            parsed += 1
            assert document.vms or document.networks or document.filters or document.notes
    # The corpus holds diffs, storage pools and negative OVF tests: those are refused.
    assert parsed > 1300
    assert refused < 250


def test_known_definitions_are_recognised() -> None:
    corpus_files()
    samples = {
        "libvirt/qemuxmlconfdata/seclabel-none.xml": "libvirt.seclabel",
        "libvirt/qemuxmlconfdata/hostdev-pci-address.xml": "libvirt.hostdev",
        "vmx/libvirt/vmx2xml-floppy-file.vmx": "vmx.floppy",
        "vmx/libvirt/vmx2xml-sharedfolder.vmx": "vmx.hgfs",
        "libvirt/network/host-bridge-net.xml": "lvnet.forward",
    }
    for relative, rule in samples.items():
        path = CORPUS / relative
        if not path.exists():
            continue
        (report,) = audit_paths([path], AuditOptions())
        assert rule in {f.rule_id for f in report.findings}, relative


def test_auditing_the_whole_corpus_has_no_rule_failures() -> None:
    reports = audit_paths(corpus_files(), AuditOptions())
    rule_failures = [e for r in reports for e in r.errors if e.reason.startswith("rule ")]
    assert rule_failures == []
    assert sum(len(r.findings) for r in reports) > 1000


def test_the_real_command_audits_the_whole_corpus_without_a_traceback() -> None:
    files = corpus_files()
    run = vmguard("audit", "--format", "json", *files, timeout=120)
    assert run.code in (0, 1), run.stderr
    assert "Traceback" not in run.stderr
    document = json.loads(run.stdout)
    assert len(document["reports"]) == len(files)
    assert {r["target"]["kind"] for r in document["reports"]} == {"vm-config"}
