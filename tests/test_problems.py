"""run_guarded: what a check found is kept, a failure is one Problem, interrupts pass."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from brokenchecks import RAISED, SECRET, BrokenCheck
from vmguard.errors import VmguardError
from vmguard.problems import Problem, Stage, check_name, run_guarded


def _two_then(error: BaseException) -> Iterator[int]:
    yield 1
    yield 2
    raise error


@pytest.mark.parametrize("kind", sorted(RAISED))
def test_a_failure_keeps_what_was_found_and_records_one_line(kind: str) -> None:
    error, reason = RAISED[kind]
    problems: list[Problem] = []
    found = run_guarded(_two_then, error, name="rule x", where="/etc/x", problems=problems)
    assert found == [1, 2]
    assert problems == [Problem(Stage.CHECK, "/etc/x", f"rule x failed: {reason}")]
    assert SECRET not in str(problems) and "\n" not in problems[0].reason


def test_a_check_that_succeeds_records_nothing() -> None:
    problems: list[Problem] = []
    assert run_guarded(range, 3, name="n", where="w", problems=problems) == [0, 1, 2]
    assert problems == []


@pytest.mark.parametrize("interrupt", [KeyboardInterrupt(), SystemExit(3)])
def test_interrupts_are_not_swallowed(interrupt: BaseException) -> None:
    with pytest.raises(type(interrupt)):
        run_guarded(_two_then, interrupt, name="n", where="w", problems=[])


def test_a_check_is_named_by_its_class_and_rules() -> None:
    assert check_name(BrokenCheck(VmguardError())) == "BrokenCheck (test.broken)"
    assert check_name(object()) == "object"
