"""Account checks on parsed facts: weak schemes, guessable passwords, extra UID 0, and what
happens without libxcrypt."""

from __future__ import annotations

import subprocess

import pytest

from vmguard.checks import accounts
from vmguard.checks.accounts import AccountChecks, PasswordsNotGuessed
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
    with pytest.raises(PasswordsNotGuessed, match="passwords not guessed: libxcrypt"):
        findings.extend(AccountChecks().check(None, _facts()))  # type: ignore[arg-type]
    assert {f.rule_id for f in findings} == {"account.weak-hash", "account.extra-uid0"}


def _user(name: str, uid: int, hashed: str) -> UserAccount:
    return UserAccount(
        name=name, uid=uid, gid=uid, home="/", shell="/bin/sh", password="hash",
        password_hash=hashed,
    )  # fmt: skip


def test_hostile_hash_costs_are_not_guessed() -> None:
    """The guest picks the cost of every guess: minutes per SHA-512 guess, a day per bcrypt
    guess, 4 GiB per yescrypt guess. None is hashed even once (this test would not end)."""
    facts = GuestFacts(
        os=OsFacts(family="linux"),
        users=(
            _user("slow-sha", 1000, "$6$rounds=999999999$saltsalt$" + "x" * 86),
            _user("slow-bcrypt", 1001, "$2b$31$" + "a" * 53),
            _user("huge-yescrypt", 1002, "$y$jHT$F5Jx5fExrKuPp53xLKQ..1$" + "b" * 43),
            _user("odd-scheme", 1003, "$9$whatever"),
            _user("bob", 1004, _hash("-6", "bob123")),
        ),
    )
    findings = []
    with pytest.raises(PasswordsNotGuessed) as caught:
        findings.extend(AccountChecks().check(None, facts))  # type: ignore[arg-type]
    assert "slow-sha, slow-bcrypt, huge-yescrypt, odd-scheme not guessed" in str(caught.value)
    assert [f.evidence.split(":")[0] for f in findings] == ["user bob"]


def test_a_long_user_name_does_not_stop_the_word_list() -> None:
    name = "a" * 300  # name + name is 600 bytes: more than libxcrypt takes
    facts = GuestFacts(
        os=OsFacts(family="linux"), users=(_user(name, 1000, _hash("-6", "password")),)
    )
    (finding,) = AccountChecks().check(None, facts)  # type: ignore[arg-type]
    assert finding.rule_id == "account.guessable-password"
