"""sshd configuration: what the Include bounds leave unread is reported beside the findings
of what was read, never dropped."""

from __future__ import annotations

import subprocess
from pathlib import Path

from vmguard.problems import Stage
from vmguard.scanning import ScanOptions, scan_image


def test_includes_beyond_the_bound_are_reported_and_the_rest_judged(tmp_path: Path) -> None:
    tree = tmp_path / "root"
    conf = tree / "etc/ssh/sshd_config.d"
    conf.mkdir(parents=True)
    for n in range(70):  # more than the 64 files an sshd_config may pull in
        (conf / f"{n:02d}.conf").write_text(f"# piece {n}\n")
    (tree / "etc/ssh/sshd_config").write_text(
        "PasswordAuthentication yes\nInclude /etc/ssh/sshd_config.d/*.conf\n"
    )
    img = tmp_path / "fs.img"
    subprocess.run(["mkfs.ext4", "-q", "-d", str(tree), str(img), "16M"], check=True)
    report = scan_image(img, ScanOptions(workers=1, applications=False))
    assert [
        f.location.path for f in report.findings if f.rule_id == "ssh.password-authentication"
    ] == ["/etc/ssh/sshd_config"]
    (problem,) = [e for e in report.errors if e.stage is Stage.CHECK]
    assert problem.where == str(img)
    assert problem.reason.startswith("SshdChecks (ssh.root-login, ssh.password-authentication")
    assert "/etc/ssh/sshd_config.d/64.conf: Include beyond 8 levels or 64 files" in problem.reason
