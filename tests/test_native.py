"""The mypyc build of the walk's hot modules: used when current, never when stale or refused,
and reading exactly what the interpreted modules read."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from btrfsimages import make_source_tree, mkfs_btrfs, run
from nativemode import environment, require_current_build
from vmguard import native

TESTS = Path(__file__).resolve().parent

WALK = r"""
import json, sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from btrfsimages import guest_entries, open_guestfs
from vmguard import native
entries = guest_entries(open_guestfs(Path(sys.argv[2])))
print(json.dumps({"compiled": native.active(), "entries": entries}))
"""
"""Walks an image in a fresh interpreter: whether the build ran, and what it read."""


def _walk(image: Path, *, pure: bool) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", WALK, str(TESTS), str(image)],
        capture_output=True,
        text=True,
        check=True,
        env=environment(pure=pure),
    )
    result: dict[str, object] = json.loads(done.stdout)
    return result


@pytest.fixture(scope="module")
def qcow2_btrfs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A btrfs volume made by mkfs.btrfs --rootdir, as qcow2: both compiled readers run."""
    work = tmp_path_factory.mktemp("native")
    raw = mkfs_btrfs(make_source_tree(work / "tree"), work / "disk.raw")
    run("qemu-img", "convert", "-f", "raw", "-O", "qcow2", raw, work / "disk.qcow2")
    return work / "disk.qcow2"


def test_the_build_is_current_and_imported() -> None:
    # `make` builds the compiled modules before the tests; a stale build here means the
    # suite would test the interpreted code only.
    require_current_build()
    assert _probe_active(pure=False) is True


def test_the_pure_python_switch_imports_the_sources() -> None:
    assert _probe_active(pure=True) is False


def _probe_active(*, pure: bool) -> bool:
    code = (
        "import importlib, json; from vmguard import native\n"
        "files = [importlib.import_module(m).__file__ for m in native.COMPILED]\n"
        "print(json.dumps([native.active(), files]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env=environment(pure=pure),
    )
    is_active, files = json.loads(done.stdout)
    # All of the build or none of it: compiled modules call each other directly.
    assert {f.endswith(".py") for f in files} == {not is_active}, files
    return bool(is_active)


def test_a_build_is_current_only_when_complete_and_from_these_sources(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    record = tmp_path / "native.digest"
    monkeypatch.setattr(native, "DIGEST_FILE", record)
    modules = sorted(native.COMPILED)
    complete = all(p.is_file() for p in native.extension_paths())

    def write(digest: str, stamped: dict[str, tuple[int, int]]) -> None:
        record.write_text(native.record_text(digest, stamped))

    assert not native.build_is_current()  # no record
    record.write_text("not a record\nvmguard.x 1\n")
    assert not native.build_is_current()
    digest, stamped = native.sources_digest(modules), native.stamps(modules)
    write(digest, stamped)
    assert native.build_is_current() == complete
    fewer = {m: s for m, s in stamped.items() if m != modules[0]}
    write(digest, fewer)
    assert not native.build_is_current()  # a build of fewer modules than listed now
    # Times and sizes differ (a checkout, an edit undone): the digest decides.
    touched = {m: (t + 1, n) for m, (t, n) in stamped.items()}
    write(digest, touched)
    assert native.build_is_current() == complete
    write("0" * 64, touched)
    assert not native.build_is_current()  # built from other sources
    write(digest, {**stamped, "vmguard.gone": (1, 1)})
    assert not native.build_is_current()  # a module it depended on no longer exists


def test_a_missing_artifact_makes_the_build_stale(monkeypatch: pytest.MonkeyPatch) -> None:
    require_current_build()
    complete = native.extension_paths()
    missing = complete[0].with_name("missing.so")
    monkeypatch.setattr(native, "extension_paths", lambda: [*complete, missing])
    assert not native.build_is_current()


def test_the_digest_covers_the_c_helpers(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    helper = tmp_path / "helper.c"  # an absolute path: joined to the source root, it stays
    helper.write_text("int helper(void) { return 1; }\n")
    monkeypatch.setattr(native, "C_EXTENSIONS", {"vmguard.helper": str(helper)})
    before = native.sources_digest(native.COMPILED), native.stamps(native.COMPILED)
    helper.write_text("int helper(void) { return 2; } /* longer */\n")
    after = native.sources_digest(native.COMPILED), native.stamps(native.COMPILED)
    assert after[0] != before[0] and after[1]["vmguard.helper"] != before[1]["vmguard.helper"]


def test_the_build_depends_on_what_the_compiled_modules_import() -> None:
    from vmguard.native_build import depended_on

    modules = depended_on()
    assert set(native.COMPILED) <= set(modules)
    # Imported, not compiled: mypyc builds in their constants and types all the same.
    assert {"vmguard.disk.btrfs.superblock", "vmguard.guest.view", "vmguard.errors"} <= set(modules)
    assert "vmguard.cli.main" not in modules


def test_the_sources_finder_takes_vmguard_modules_as_sources() -> None:
    finder = native._SourcesFirst()
    spec = finder.find_spec("vmguard.disk.btrfs.tree", None)
    assert spec is not None and spec.origin == str(native.source_path("vmguard.disk.btrfs.tree"))
    assert spec.origin.endswith("/vmguard/disk/btrfs/tree.py")
    # Any module of vmguard, not only those listed now: a build made from a longer list
    # may have left an extension beside a module that is no longer compiled.
    other = finder.find_spec("vmguard.disk.btrfs.superblock", None)
    assert other is not None and str(other.origin).endswith("/vmguard/disk/btrfs/superblock.py")
    assert finder.find_spec("vmguard.disk", None) is None  # packages: the usual finder
    assert finder.find_spec("vmguard.no_such_module", None) is None
    assert finder.find_spec("json", None) is None


def test_a_build_lists_what_it_left_in_the_tree() -> None:
    from vmguard.native_build import built_extensions

    require_current_build()
    assert sorted(built_extensions()) == sorted(native.extension_paths())
    names = {p.name.split(".")[0] for p in built_extensions()}
    modules = [*native.COMPILED, *native.C_EXTENSIONS]
    assert names == {m.rsplit(".", 1)[1] for m in modules} | {f"{native.GROUP}__mypyc"}


def test_compiled_and_interpreted_walks_read_the_same(qcow2_btrfs: Path) -> None:
    compiled = _walk(qcow2_btrfs, pure=False)
    interpreted = _walk(qcow2_btrfs, pure=True)
    assert compiled["compiled"] is True and interpreted["compiled"] is False
    entries = compiled["entries"]
    assert isinstance(entries, dict) and len(entries) > 50
    assert entries == interpreted["entries"]
