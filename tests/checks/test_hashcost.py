"""The cost of one guess, read from the setting: cheap schemes, the parameters that scale
them, and hostile values that must not be hashed at all."""

from __future__ import annotations

import pytest

from vmguard.checks.hashcost import MAX_MEMORY, _yescrypt_memory, guess_cost


@pytest.mark.parametrize(
    ("params", "memory"),
    [
        ("j9T", 16 * 2**20),  # Debian's default: N = 2^12, r = 32
        ("jAT", 32 * 2**20),
        ("j9.", 2**19),  # r = 1
        ("jHT", 4 * 2**30),
    ],
)
def test_yescrypt_memory_from_its_parameters(params: str, memory: int) -> None:
    assert _yescrypt_memory(params) == memory


@pytest.mark.parametrize(
    ("setting", "low", "high"),
    [
        ("abJnggxhB/yWI", 0.1, 1),  # DES
        ("$1$abcdefgh$", 0.1, 1),
        ("$6$saltsalt$", 0.5, 2),
        ("$6$rounds=50000$saltsalt$", 5, 20),
        ("$6$rounds=10$saltsalt$", 0.1, 0.5),  # libxcrypt raises it to 1,000
        ("$2b$05$abcdefghijklmnopqrstuu", 0.5, 3),
        ("$2b$10$abcdefghijklmnopqrstuu", 20, 80),
        ("$y$j9T$F5Jx5fExrKuPp53xLKQ..1$", 5, 30),
        ("$gy$j9T$F5Jx5fExrKuPp53xLKQ..1$", 5, 30),
        ("$7$CU..../....abcdefgh$", 50, 400),
    ],
)
def test_costs_of_real_settings(setting: str, low: float, high: float) -> None:
    cost = guess_cost(setting)
    assert cost is not None and low <= cost <= high


@pytest.mark.parametrize(
    "setting",
    ["$y$jCT$x$", "$y$jHT$x$", "$y$$x", "$y$jzzzzzzzzzzzz$x$", "$9$x", "", "!", "short"],
)
def test_no_cost_means_no_guess(setting: str) -> None:
    assert guess_cost(setting) is None


def test_hostile_time_costs_are_huge() -> None:
    assert (guess_cost("$6$rounds=999999999$s$") or 0) > 60_000
    assert (guess_cost("$2b$31$abc") or 0) > 60_000
    assert MAX_MEMORY == 64 * 2**20
