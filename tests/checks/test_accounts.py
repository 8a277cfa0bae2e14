"""Account checks on parsed facts: weak schemes, guessable passwords, extra UID 0, and what
happens without libxcrypt."""

from __future__ import annotations

import subprocess

import pytest

from vmguard.checks import accounts
from vmguard.checks.accounts import AccountChecks
from vmguard.checks.crypt3 import CryptUnavailable
from vmguard.guest.facts import GuestFacts, OsFacts, UserAccount


def _hash(scheme: str, password: str) -> str:
    done = subprocess.run(
        ["openssl", "passwd", scheme, "-salt", "abcdefgh", password],
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip()


def _facts() -> GuestFacts:
    def user(name: str, uid: int, hashed: str) -> UserAccount:
        return UserAccount(
            name=name,
            uid=uid,
            gid=uid,
            home=f"/home/{name}",
            shell="/bin/sh",
            password="hash",
            password_hash=hashed,
        )

    return GuestFacts(
        os=OsFacts(family="linux"),
        users=(
            user("alice", 1000, _hash("-1", "letmein")),
            user("toor", 0, _hash("-6", "Xk9#vQ2!pL7@")),
            user("bob", 1001, _hash("-6", "bob123")),
        ),
    )


def test_findings_per_account() -> None:
    found = {(f.rule_id, f.evidence.split(":")[0]) for f in AccountChecks().check(None, _facts())}  # type: ignore[arg-type]
    assert found == {
        ("account.weak-hash", "user alice"),
        ("account.guessable-password", "user alice"),
        ("account.guessable-password", "user bob"),
        ("account.extra-uid0", "user toor has uid 0"),
    }


def test_without_libxcrypt_the_other_checks_still_run(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(phrase: str, setting: str) -> str | None:
        raise CryptUnavailable("libxcrypt's crypt_rn not found")

    monkeypatch.setattr(accounts, "crypt", missing)
    findings = []
    with pytest.raises(CryptUnavailable, match="passwords not guessed"):
        findings.extend(AccountChecks().check(None, _facts()))  # type: ignore[arg-type]
    assert {f.rule_id for f in findings} == {"account.weak-hash", "account.extra-uid0"}
