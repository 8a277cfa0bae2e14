"""The console report of the real CLI: grouped by threat class then severity, suppressed
findings shown as suppressed, colour only on a terminal without NO_COLOR, guest strings
unable to steer the terminal."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

from clirunner import Run, vmguard
from vmguard.findings import Report, Target
from vmguard.guest.facts import OsFacts
from vmguard.inventory import Inventory
from vmguard.report.console import write_console
from vmguard.report.threats import THREATS

CORPUS = Path(__file__).resolve().parents[1] / "data/corpus"
CONFIG_A = CORPUS / "libvirt/qemuxmlconfdata/blkdeviotune.xml"
SGR = re.compile(r"\x1b\[([0-9;]*)m")
COLOUR_CODE = re.compile(r"(?:^|;)(?:3[0-7]|38|4[0-7]|48|9[0-7]|10[0-7])(?:;|$)")


def _headings(text: str) -> list[str]:
    labels = {info.label for info in THREATS}
    return [h for line in text.splitlines() if (h := line.split(" (")[0]) in labels]


def test_findings_are_grouped_by_threat_class_then_severity(
    planted_runs: dict[str, Run], planted_report: Report
) -> None:
    text = planted_runs["console"].stdout
    order = [info.label for info in THREATS]
    headings = _headings(text)
    expected = {
        next(i.label for i in THREATS if i.threat is f.threat) for f in planted_report.findings
    }
    assert sorted(headings, key=order.index) == headings and set(headings) == expected
    for block in re.split(r"\n\n", text):
        levels = re.findall(r"^  (CRITICAL|HIGH|MEDIUM|LOW|INFO) ", block, re.M)
        rank = ["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO"]
        assert levels == sorted(levels, key=rank.index)
    assert "Sensitive data shipped inside an image" in text  # the class is explained
    summary = planted_report.summary()
    assert f"Summary {summary['critical']} critical, {summary['high']} high" in text


def test_suppressed_findings_are_shown_as_suppressed(tmp_path: Path) -> None:
    policy = tmp_path / "vmguard.toml"
    policy.write_text('[[suppress]]\nrule = "libvirt.disk-encryption"\nreason = "LUKS below"\n')
    run = vmguard("audit", "--policy", policy, CONFIG_A, cwd=tmp_path)
    lines = run.stdout.splitlines()
    marked = [i for i, line in enumerate(lines) if line.startswith("  suppressed ")]
    assert marked
    for i in marked:
        assert "A disk is not encrypted" in lines[i]
        end = next(j for j in range(i + 1, len(lines)) if not lines[j].startswith("   "))
        block = [line for line in lines[i:end] if line.startswith("             ")]
        assert block[-1].strip() == "suppressed by policy (medium): LUKS below"
    assert re.search(r"; \d+ suppressed; 0 errors$", run.stdout.strip())


def _run_with(env: dict[str, str], image: Path) -> str:
    environment = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-m", "vmguard", "scan", str(image)],
        capture_output=True,
        text=True,
        env=environment,
        check=False,
    ).stdout


def test_colour_only_on_a_terminal_and_never_with_no_color(hostile_image: Path) -> None:
    piped = _run_with({}, hostile_image)
    assert "\x1b" not in piped  # not a terminal: plain text
    forced = _run_with({"FORCE_COLOR": "1"}, hostile_image)  # rich's way to say "a terminal"
    assert any(COLOUR_CODE.search(codes) for codes in SGR.findall(forced))
    no_color = _run_with({"FORCE_COLOR": "1", "NO_COLOR": "1"}, hostile_image)
    assert SGR.findall(no_color)  # still bold: NO_COLOR is about colour only
    assert not any(COLOUR_CODE.search(codes) for codes in SGR.findall(no_color))


def test_guest_names_cannot_steer_the_terminal(hostile_image: Path) -> None:
    text = _run_with({"FORCE_COLOR": "1"}, hostile_image)
    assert "\x1b[2J" not in text and "\x07" not in text and "\u202e" not in text
    assert "evil\\x1b[2J\\x1b[31m\\nFAKE vmguard: no findings\\x07.pem" in SGR.sub("", text)
    assert not any(line.startswith("FAKE") for line in SGR.sub("", text).splitlines())


def test_os_line_leaves_out_what_the_guest_does_not_say() -> None:
    def os_line(facts: OsFacts) -> str:
        inventory = Inventory("qcow2", "v3", 1 << 30, (), (), (), facts, (), ())
        out = io.StringIO()
        write_console(Report(Target("image", "d.qcow2"), inventory=inventory, checked=False), out)
        return next(line for line in out.getvalue().splitlines() if line.startswith("OS "))

    bare = os_line(OsFacts(family="linux", distro="debian", version="13", hostname="tiny"))
    assert bare == "OS debian — linux debian 13, hostname tiny"
    full = OsFacts(
        family="linux", distro="debian", version="12.7", arch="x86_64", hostname="web-1",
        pretty_name="Debian GNU/Linux 12 (bookworm)",
    )  # fmt: skip
    assert (
        os_line(full)
        == "OS Debian GNU/Linux 12 (bookworm) — linux debian 12.7, x86_64, hostname web-1"
    )
    assert os_line(OsFacts()) == "OS unknown — unknown unknown"
