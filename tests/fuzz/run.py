"""Fuzzing campaigns (``make fuzz``): every harness in turn, coverage-guided with atheris.

    python tests/fuzz/run.py [--seconds S] [--rounds R] [--target-execs N] [HARNESS ...]

Each round gives every chosen harness S seconds in its own atheris process, starting from
its corpus under ``.fuzz/corpus/<harness>`` (seeded from real tools' files, see seeds.py)
and growing it. Crashing inputs land in ``.fuzz/crashes/<harness>/``; executions and
crashes add up in ``.fuzz/stats.json``. With ``--target-execs``, a round skips the harnesses
that reached that many executions in all and runs the others furthest-behind first.
Everything is under the git-ignored ``.fuzz/``.
Without atheris (``pip install -e '.[fuzz]'``), a plain mutation loop (mutate.py, not
coverage-guided) runs instead, so a campaign still means something on any Python.
A unit libFuzzer calls slow is timed again without instrumentation: only one still slower
than ``SLOW_SECONDS`` counts as a crash.
A crash is fixed by making the parser end in a VmguardError, then its input is committed
under ``tests/fuzz/reproducers/<harness>/`` (test_reproducers.py replays it).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from fuzz.harnesses import HARNESSES, describe, run_one  # noqa: E402
from fuzz.mutate import mutate  # noqa: E402
from fuzz.seeds import seed_dir  # noqa: E402
from vmguard.native import PURE_ENV  # noqa: E402
from vmguard.problems import Problem, Stage  # noqa: E402

ROOT = HERE.parents[1] / ".fuzz"
MAX_LEN = 8 << 20
SLOW_SECONDS = 1.0
"""A unit that takes longer than this without instrumentation is a finding."""
_EXECS = re.compile(r"stat::number_of_executed_units:\s*(\d+)")
_DONE = re.compile(r"Done (\d+) runs in")


def _has_atheris() -> bool:
    try:
        import atheris  # noqa: F401
    except ImportError:
        return False
    return True


def _corpus(name: str) -> Path:
    corpus = ROOT / "corpus" / name
    if not corpus.is_dir() or not any(corpus.iterdir()):
        corpus.mkdir(parents=True, exist_ok=True)
        for seed in seed_dir(ROOT / "seeds", name).iterdir():
            if not seed.name.startswith("."):
                shutil.copy(seed, corpus / seed.name)
        for reproducer in (HERE / "reproducers" / name).glob("*"):
            shutil.copy(reproducer, corpus / f"reproducer-{reproducer.name}")
    return corpus


def _atheris_round(name: str, seconds: int) -> tuple[int, list[Problem]]:
    corpus, crashes = _corpus(name), ROOT / "crashes" / name
    crashes.mkdir(parents=True, exist_ok=True)
    longest = max((p.stat().st_size for p in corpus.iterdir()), default=4096)
    before = set(crashes.iterdir())
    cmd = [
        sys.executable, str(HERE / "atheris_target.py"), name, str(corpus),
        f"-max_total_time={seconds}", f"-max_len={min(max(longest, 4096), MAX_LEN)}",
        "-timeout=30", "-rss_limit_mb=3072", "-print_final_stats=1",
        f"-artifact_prefix={crashes}/", "-close_fd_mask=1",
    ]  # fmt: skip
    # Readers that stage a file (the SQLite rpm database) do it in TMPDIR: in memory, a
    # private directory per round, as a disk's directory removal costs milliseconds.
    shm = "/dev/shm" if Path("/dev/shm").is_dir() else None
    with tempfile.TemporaryDirectory(prefix="vmguard-fuzz-tmp-", dir=shm) as tmp:
        # Coverage is measured on Python code: the interpreted modules, not mypyc's build.
        env = {**os.environ, "TMPDIR": tmp, PURE_ENV: "1"}
        done = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    log = done.stderr
    (ROOT / "logs").mkdir(exist_ok=True)
    (ROOT / "logs" / f"{name}.log").write_text(log[-200_000:])
    found = _EXECS.findall(log) or _DONE.findall(log)
    execs = int(found[-1]) if found else 0
    reason = f"{name}: crash reported by atheris (see .fuzz/logs/{name}.log)"
    new = [
        Problem(Stage.CHECK, str(p), reason)
        for p in sorted(set(crashes.iterdir()) - before)
        if not p.name.startswith("slow-unit-") or _slow_without_instrumentation(name, p)
    ]
    return execs, new


def _slow_without_instrumentation(name: str, unit: Path) -> bool:
    """Whether a unit libFuzzer found slow (over 10 s under atheris, whose coverage hooks
    slow pure-Python loops a hundredfold) is still slow run plainly: over ``SLOW_SECONDS``
    it is a finding (the parser's time is not bounded well enough), else it is kept as a
    corpus entry and noted."""
    started = time.monotonic()
    try:
        run_one(HARNESSES[name], unit.read_bytes())
    except Exception:
        return True
    seconds = time.monotonic() - started
    if seconds > SLOW_SECONDS:
        return True
    print(f"{name}: {unit.name} is slow only under atheris ({seconds:.2f} s plainly)", flush=True)
    unit.rename(unit.with_name(unit.name.replace("slow-unit-", "slow-under-atheris-")))
    return False


def _plain_round(name: str, seconds: int) -> tuple[int, list[Problem]]:
    harness = HARNESSES[name]
    corpus = [p.read_bytes() for p in _corpus(name).iterdir()]
    crashes = ROOT / "crashes" / name
    crashes.mkdir(parents=True, exist_ok=True)
    rng = random.Random()
    execs = 0
    new: list[Problem] = []
    stop = time.monotonic() + seconds
    while time.monotonic() < stop:
        data = mutate(rng.choice(corpus), rng, rng.choice(corpus))
        execs += 1
        try:
            run_one(harness, data)
        except Exception as err:
            path = crashes / f"crash-{hashlib.sha1(data).hexdigest()}"
            path.write_bytes(data)
            new.append(Problem(Stage.CHECK, str(path), f"{name}: {describe(err)}"))
    return execs, new


def _update_stats(name: str, execs: int, crashes: list[Problem], engine: str) -> dict[str, object]:
    path = ROOT / "stats.json"
    stats = json.loads(path.read_text()) if path.exists() else {}
    entry = stats.setdefault(name, {"execs": 0, "crashes": [], "engine": engine})
    entry["execs"] += execs
    entry["crashes"] += [str(crash) for crash in crashes]
    entry["engine"] = engine
    path.write_text(json.dumps(stats, indent=2, sort_keys=True))
    return entry


def _behind(names: list[str], target: int) -> list[str]:
    """``names`` below ``target`` executions, furthest behind first (all when target is 0)."""
    if not target:
        return names
    path = ROOT / "stats.json"
    stats = json.loads(path.read_text()) if path.exists() else {}
    done = {name: stats.get(name, {}).get("execs", 0) for name in names}
    return sorted((n for n in names if done[n] < target), key=lambda n: done[n])


def main() -> int:
    """Run the campaign; print one line per harness and round."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("harnesses", nargs="*", help="default: all")
    parser.add_argument("--seconds", type=int, default=60, help="per harness and round")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--target-execs", type=int, default=0, help="skip harnesses past it")
    args = parser.parse_args()
    names = args.harnesses or sorted(HARNESSES)
    unknown = [n for n in names if n not in HARNESSES]
    if unknown:
        parser.error(f"unknown harnesses: {', '.join(unknown)} (known: {', '.join(HARNESSES)})")
    engine = "atheris" if _has_atheris() else "mutation-loop"
    ROOT.mkdir(exist_ok=True)
    for round_number in range(1, args.rounds + 1):
        for name in _behind(names, args.target_execs):
            run = _atheris_round if engine == "atheris" else _plain_round
            execs, crashes = run(name, args.seconds)
            total = _update_stats(name, execs, crashes, engine)
            print(
                f"round {round_number} {name}: {execs} execs ({total['execs']} in all), "
                f"{len(crashes)} new crashes {' '.join(c.where for c in crashes)}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
