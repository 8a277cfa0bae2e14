"""libvirt's configuration syntax on Debian's shipped files and on edge cases."""

from __future__ import annotations

from pathlib import Path

import pytest

from vmguard.host.conf import ConfParseError, parse_conf


def test_debian_shipped_files_parse_with_every_line_commented(hardened: Path) -> None:
    for name in ("qemu.conf", "libvirtd.conf", "virtlogd.conf", "virtlockd.conf"):
        text = (hardened / "etc/libvirt" / name).read_text()
        assert parse_conf(text, name).entries == ()
        # the same file with its commented settings switched on is valid syntax too
        conf = parse_conf(_uncomment(text), name)
        assert conf.entries
        if name == "qemu.conf":
            assert conf.text("vnc_listen") == "0.0.0.0"
            assert conf.get("cgroup_device_acl") is not None
            assert len(conf.get("cgroup_device_acl").value) > 5  # type: ignore[arg-type,union-attr]


def _uncomment(text: str) -> str:
    """Debian's file with every commented example setting (lists included) switched on."""
    lines, in_list = [], False
    for line in text.splitlines():
        setting = line.startswith("#") and line[1:2].isalpha() and " = " in line
        if setting or in_list:
            lines.append(line[1:])
            if setting and "[" in line:
                in_list = "]" not in line
            elif in_list and "]" in line:
                in_list = False
        else:
            lines.append("")
    return "\n".join(lines)


def test_values_lists_strings_and_last_setting_wins() -> None:
    conf = parse_conf(
        'user = "root"  # comment\nnamespaces = [\n  "mount", # inline\n]\n'
        "max = -1; name = 'x'\ncgroup_device_acl = [ ]\nuser = \"libvirt-qemu\"\n"
        'text = """two\nlines"""\n',
        "t.conf",
    )
    assert conf.text("user") == "libvirt-qemu"
    assert conf.get("user") is not None and conf.get("user").line == 7  # type: ignore[union-attr]
    assert conf.get("namespaces").value == ("mount",)  # type: ignore[union-attr]
    assert conf.number("max") == -1 and conf.text("name") == "x"
    assert conf.get("cgroup_device_acl").value == ()  # type: ignore[union-attr]
    assert conf.text("text") == "two\nlines"


@pytest.mark.parametrize(
    ("text", "line"),
    [('user = "root\n', 1), ("\n\nuser root\n", 3), ("a = [ 1,\n 2\n", 3), ("a = 1 2\n", 1)],
)
def test_malformed_text_names_the_line(text: str, line: int) -> None:
    with pytest.raises(ConfParseError, match=f"t.conf:{line}:"):
        parse_conf(text, "t.conf")
