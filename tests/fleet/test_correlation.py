"""Cross-image correlation keys on rule facts (``Rule.shares``) and the finding's structured
fingerprints: a rule's id and its evidence text play no part, and marker digests are the
ones older versions stored, so their databases still correlate."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime
from pathlib import Path

from vmguard.checks.interface import FileContent
from vmguard.checks.sshkeys import AuthorizedKeys
from vmguard.findings import Finding, Rule, SecretKind, Severity, Threat
from vmguard.fleet.correlation import shared_findings, shared_secrets
from vmguard.fleet.database import open_database
from vmguard.fleet.store import record_result, start_run
from vmguard.fleet.task import ImageResult, finding_markers

_BLOB = b"\0\0\0\x0bssh-ed25519\0\0\0\x20" + bytes(range(32))
_KEY_LINE = b"ssh-ed25519 " + base64.b64encode(_BLOB) + b" builder@template\n"
_FP = "SHA256:" + base64.b64encode(hashlib.sha256(_BLOB).digest()).decode().rstrip("=")


def _rule(rule_id: str, shares: SecretKind | None) -> Rule:
    return Rule(
        rule_id,
        "Renamed rule",
        Severity.HIGH,
        Threat.IMAGE_EXPOSURE,
        "Remove it.",
        rationale="A test rule.",
        shares=shares,
    )


def _legacy(kind: str, material: str) -> str:
    """The marker digest as vmguard computed it before rule facts existed."""
    return hashlib.sha256(kind.encode() + b"\0" + material.encode()).hexdigest()


def _result(image: str, findings: list[Finding]) -> ImageResult:
    return ImageResult(
        image,
        "scanned",
        datetime.now(UTC),
        0.1,
        content_digest=f"digest-of-{image}",
        findings=tuple(findings),
        markers=tuple(finding_markers(findings)),
    )


def test_markers_keep_the_digests_older_databases_hold() -> None:
    found = list(AuthorizedKeys().check(FileContent("/root/.ssh/authorized_keys", _KEY_LINE, 0)))
    assert [f.public_key for f in found] == [_FP]
    secret = _rule("secret.any", SecretKind.CREDENTIAL).finding("/etc/app.env", "x", secret=b"s3")
    markers = finding_markers([*found, secret])
    assert [(m.kind, m.digest) for m in markers] == [
        (SecretKind.AUTHORIZED_KEY, _legacy("authorized-key", _FP)),
        (SecretKind.CREDENTIAL, _legacy("credential", hashlib.sha256(b"s3").hexdigest())),
    ]


def test_the_fact_decides_not_the_id_nor_the_evidence() -> None:
    key = _rule("login.renamed-key", SecretKind.AUTHORIZED_KEY)
    unnamed = key.finding("/home/a/.ssh/authorized_keys", "a key [evidence without it]")
    assert finding_markers([unnamed]) == []  # no structured fingerprint: nothing to key on
    with_fp = key.finding("/home/a/.ssh/authorized_keys", "a key", public_key=_FP)
    assert [m.digest for m in finding_markers([with_fp])] == [_legacy("authorized-key", _FP)]
    no_fact = _rule("secret.looks-like-one", None).finding("/e", "x", secret=b"s3")
    assert finding_markers([no_fact]) == []


def test_a_renamed_rule_with_the_fact_still_correlates(tmp_path: Path) -> None:
    renamed = _rule("vendor.renamed-token", SecretKind.CLOUD_CREDENTIAL)
    key = _rule("login.renamed-key", SecretKind.AUTHORIZED_KEY)
    db = open_database(str(tmp_path / "fleet.sqlite"))
    try:
        run = start_run(db, "local", [str(tmp_path)], "rules", None)
        for image in ("a.qcow2", "b.qcow2", "c.qcow2"):
            findings = [key.finding("/root/.ssh/authorized_keys", "key", public_key=_FP)]
            if image != "c.qcow2":
                findings.append(renamed.finding("/srv/.env", "tok…[redacted]", secret=b"tok"))
            record_result(db, run, _result(str(tmp_path / image), findings), ("r", None), None)
        with db.engine.connect() as conn:
            groups = shared_secrets(conn)
    finally:
        db.close()
    by_kind = {g.kind: g for g in groups}
    assert set(by_kind) == {SecretKind.CLOUD_CREDENTIAL, SecretKind.AUTHORIZED_KEY}
    assert len(by_kind[SecretKind.AUTHORIZED_KEY].images) == 3
    cloud = by_kind[SecretKind.CLOUD_CREDENTIAL]
    assert [Path(i).name for i in cloud.images] == ["a.qcow2", "b.qcow2"]
    reported = {f.rule_id for _, f in shared_findings(cloud)}
    assert reported == {"fleet.shared-cloud-credential"}
