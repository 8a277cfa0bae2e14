"""crypt(3) through libxcrypt: hashes made by other tools verify, bad settings fail soft."""

from __future__ import annotations

import subprocess

import pytest

from vmguard.checks.crypt3 import crypt


def openssl_passwd(scheme: str, salt: str, password: str) -> str:
    done = subprocess.run(
        ["openssl", "passwd", scheme, "-salt", salt, password],
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip()


@pytest.mark.parametrize(
    ("scheme", "salt"), [("-1", "abcdefgh"), ("-5", "saltsalt"), ("-6", "saltsaltsalt")]
)
def test_hashes_made_by_openssl_verify(scheme: str, salt: str) -> None:
    made = openssl_passwd(scheme, salt, "letmein")
    assert crypt("letmein", made) == made
    assert crypt("letmein!", made) != made


def test_the_guest_setting_decides_scheme_and_cost() -> None:
    # yescrypt and bcrypt settings as Debian's chpasswd and OpenBSD write them; the hash of
    # the same phrase under the full hash string is the hash itself.
    for setting in ("$y$j9T$F5Jx5fExrKuPp53xLKQ..1$", "$2b$05$abcdefghijklmnopqrstuu"):
        made = crypt("hunter2", setting)
        assert made is not None and made.startswith(setting[:7])
        assert crypt("hunter2", made) == made
        assert crypt("hunter3", made) != made


@pytest.mark.parametrize("setting", ["$9$unknown$", "*", "!", "", "$6$"[:2]])
def test_settings_libxcrypt_refuses_give_none(setting: str) -> None:
    assert crypt("x", setting) is None


def test_phrases_libxcrypt_cannot_take_give_none() -> None:
    made = openssl_passwd("-6", "saltsalt", "x")
    assert crypt("a\0b", made) is None
    assert crypt("y" * 600, made) is None
