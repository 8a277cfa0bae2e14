"""Secrets on history command lines: each one its own finding, none ever printed whole."""

from __future__ import annotations

import itertools
import json
import secrets
import sqlite3
import string
import subprocess
from pathlib import Path

import pytest

from clirunner import vmguard
from vmguard.checks.credfiles import _history_values


def _random(n: int) -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(n))


# Each piece carries its own secret; pieces are joined in every order on one line.
PIECES = {
    "mysql": ("mysql -u root -p{s}", 14),
    "password": ("--password={s}", 16),
    "aws": ("aws configure set aws_secret_access_key {s}", 40),
    "token": ("export DEPLOY_TOKEN={s}", 24),
    "docker": ("docker login -u ci -p {s} registry.example.org", 20),
    "header": ("curl -H 'X-Api-Key: {s}' https://api.internal", 32),
    "url": ("git clone https://bob:{s}@git.internal/app.git", 18),
}


def _line(names: tuple[str, ...], values: dict[str, str]) -> str:
    return " ; ".join(PIECES[name][0].format(s=values[name]) for name in names)


@pytest.mark.parametrize("count", [2, 3])
def test_every_secret_on_a_line_is_its_own_finding(count: int) -> None:
    for names in itertools.permutations(PIECES, count):
        values = {name: _random(PIECES[name][1]) for name in names}
        line = _line(names, values).encode()
        found = list(_history_values(line))
        assert sorted(v.decode() for _, _, v in found) == sorted(values.values()), line
        for _, evidence, _ in found:
            assert not any(value in evidence for value in values.values()), evidence
            # Nothing of the line is quoted: only a label, then the redaction.
            assert "…[redacted" in evidence and len(evidence.split("…")[0]) < 50, evidence


def test_mysql_dash_p_after_another_secret_is_not_swallowed() -> None:
    first, second = _random(12), _random(12)
    found = list(_history_values(f"mysql --password={first} -p{second} db".encode()))
    assert sorted(v.decode() for _, _, v in found) == sorted([first, second])


def test_placeholders_and_variables_are_not_secrets() -> None:
    line = b"mysql -p$DB_PASS; export API_TOKEN=${TOKEN}; curl -u bob:<password> x"
    assert list(_history_values(line)) == []


def test_no_secret_of_a_history_line_reaches_any_output(tmp_path: Path) -> None:
    lines, everything = [], []
    orders = [
        *itertools.permutations(("mysql", "aws", "token"), 3),
        *itertools.permutations(("header", "docker", "url"), 2),
    ]
    for names in orders:
        values = {name: _random(PIECES[name][1]) for name in names}
        everything.extend(values.values())
        lines.append(_line(names, values))
    tree = tmp_path / "tree"
    (tree / "root").mkdir(parents=True)
    (tree / "etc").mkdir()
    (tree / "etc/fstab").write_text("")
    (tree / "root/.bash_history").write_text("\n".join(lines) + "\n")
    raw = tmp_path / "fs.img"
    subprocess.run(["mkfs.ext4", "-q", "-d", str(tree), str(raw), "16M"], check=True)
    img = tmp_path / "guest.qcow2"
    subprocess.run(["qemu-img", "convert", "-O", "qcow2", raw, img], check=True)

    outputs = {}
    for report in ("console", "json", "sarif", "html", "junit"):
        run = vmguard("scan", "--format", report, img)
        assert run.code == 1, (report, run.stderr)
        outputs[report] = run.stdout + run.stderr
    database = tmp_path / "fleet.sqlite"
    run = vmguard("fleet", "scan", "--workers", "1", "--db", database, img)
    assert run.code in (0, 1), run.stderr
    outputs["fleet"] = run.stdout + run.stderr
    with sqlite3.connect(database) as db:
        rows = [
            row
            for (table,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")
            for row in db.execute(f'SELECT * FROM "{table}"')
        ]
    outputs["fleet database"] = repr(rows)
    outputs["fleet database bytes"] = database.read_bytes().decode("latin-1")
    for where, text in outputs.items():
        leaked = [value for value in everything if value in text]
        assert not leaked, (where, leaked)

    findings = json.loads(vmguard("scan", "--format", "json", img).stdout)["findings"]
    # One finding per secret: the history rule, or a provider's own where the value has a
    # provider's shape (an AWS secret key after aws_secret_access_key is the AWS rule's).
    found = [f for f in findings if f["rule_id"].startswith("secret.")]
    assert len(found) == len(everything), [f["evidence"] for f in found]
    assert {f["rule_id"] for f in found} == {"secret.history", "secret.aws-secret-key"}
