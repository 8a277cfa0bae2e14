"""Recall per credential family on a real guest: one sample per credential type, each in its
own realistic file, in an ext4 made by ``mkfs.ext4 -d`` and converted to qcow2 by qemu-img.

Also what a user sees of them: nothing whole in any output, ``vmguard rules`` naming every
type, and a policy file that disables one provider with one glob.
"""

from __future__ import annotations

import collections
import json
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from checks.secrets.corpus import Sample, plant, samples
from clirunner import vmguard
from vmguard.checks.secrets.patterns import SECRET_PATTERNS
from vmguard.scanning import ScanOptions, scan_image

AWS_ID, AWS_SECRET = "AKIA2OGYBAH6STMMNXNN", "9drTJvcXLB89EXAMPLEKEYx0v3ZzK7qWpRt2Lm5Q"


def _coded_samples() -> list[Sample]:
    """Samples of the coded (parsed) patterns, which the table-driven corpus does not draw."""
    key = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    aws_secret = "wZ3rT8vQ1xL0kP9mN2bV7cX4zA6sD5fG8hJ1kL3q"
    azure = "Kd~8Q~" + "x7Yb2Lq9Zr4Tn6Wm1Pv3Hs5Jc8Fk0Gd2Qa"
    manifest = (
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ndata:\n"
        "  password: UzNjcjN0LVBhc3N3MHJkIQ==\n"
    )
    return [
        Sample(
            "secret.aws-access-key",
            "cloud",
            "/srv/deploy/.env",
            f"AWS_ACCESS_KEY_ID={AWS_ID}\nAWS_SECRET_ACCESS_KEY={aws_secret}\n",
            aws_secret,
        ),
        Sample("secret.private-key", "keys", "/srv/tls/server.key", key.decode(), "MHcC"),
        Sample(
            "secret.azure-client-secret",
            "cloud",
            "/srv/api/appsettings.json",
            json.dumps({"AzureAd": {"ClientSecret": azure}}),
            azure,
        ),
        Sample("secret.kubernetes-secret", "cloud", "/srv/k8s/db.yaml", manifest, "UzNjcjN0"),
    ]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Sample]]:
    work = tmp_path_factory.mktemp("recall")
    tree = work / "tree"
    (tree / "etc").mkdir(parents=True)
    (tree / "etc/fstab").write_text("")
    planted = samples() + _coded_samples()
    plant(tree, planted)
    raw = work / "fs.img"
    subprocess.run(["mkfs.ext4", "-q", "-d", str(tree), str(raw), "64M"], check=True)
    image = work / "guest.qcow2"
    subprocess.run(["qemu-img", "convert", "-O", "qcow2", str(raw), str(image)], check=True)
    return image, planted


def test_every_credential_type_is_found_with_its_rule_at_its_path(
    corpus: tuple[Path, list[Sample]],
) -> None:
    image, planted = corpus
    report = scan_image(image, ScanOptions(workers=1))
    found = collections.defaultdict(list)
    for f in report.findings:
        found[f.location.path].append(f.rule_id)
    per_family: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0])
    wrong = []
    for sample in planted:
        hit = found.get(sample.guest_path) == [sample.rule_id]
        per_family[sample.family][0] += hit
        per_family[sample.family][1] += 1
        if not hit:
            wrong.append((sample.rule_id, sample.guest_path, found.get(sample.guest_path)))
    for family, (hits, total) in sorted(per_family.items()):
        print(f"recall {family:9} {hits:3}/{total:3}")
    assert wrong == []
    assert report.errors == ()
    assert sum(total for _, total in per_family.values()) >= 200


def test_no_sample_is_printed_whole_and_a_policy_disables_a_provider(
    corpus: tuple[Path, list[Sample]], tmp_path: Path
) -> None:
    image, planted = corpus
    run = vmguard("scan", "--format", "json", image, timeout=120)
    assert run.code == 1, run.stderr
    leaked = [s.rule_id for s in planted if s.secret in run.stdout]
    assert leaked == []
    slack = {f["rule_id"] for f in json.loads(run.stdout)["findings"] if "slack" in f["rule_id"]}
    assert len(slack) == 8
    policy = tmp_path / "vmguard.toml"
    policy.write_text('[rules]\ndisable = ["secret.slack-*"]\n')
    quiet = vmguard("scan", "--format", "json", "--policy", policy, image, timeout=120)
    rules = {f["rule_id"] for f in json.loads(quiet.stdout)["findings"]}
    assert not any(r.startswith("secret.slack-") for r in rules)
    assert "secret.github-token" in rules and "secret.discord-webhook" in rules


def test_vmguard_rules_lists_every_credential_type() -> None:
    run = vmguard("rules", "--format", "json")
    assert run.code == 0, run.stderr
    listed = run.stdout
    missing = [p.rule.rule_id for p in SECRET_PATTERNS if f'"{p.rule.rule_id}"' not in listed]
    assert missing == []
