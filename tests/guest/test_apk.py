"""apk's installed database (/lib/apk/db/installed).

Provenance of INSTALLED: written by hand for this test, field by field after apk-tools'
documented package-info format (apk-tools doc "apk-v2(5)": one ``<letter>:<value>`` line
per field, packages separated by an empty line; C checksum, P name, V version, A arch,
S size, I installed size, T description, U url, L license, o origin, m maintainer,
t build time, c commit, D dependencies, p provides, F directory, R file, a/M acls,
Z file checksum), with names and versions as Alpine 3.20 ships them. Nothing was fetched.
"""

from __future__ import annotations

from pathlib import Path

from vmguard.guest.apk import APK_INSTALLED_MAX, parse_installed, read_apk_packages

from .dirview import DirView

INSTALLED = """\
C:Q1Dx1HE4Wh1GsvTq2LbTsbXq0f0r8=
P:musl
V:1.2.5-r0
A:x86_64
S:410683
I:667648
T:the musl c library (libc) implementation
U:https://musl.libc.org/
L:MIT
o:musl
m:Natanael Copa <ncopa@alpinelinux.org>
t:1712177577
c:6c2c5d4d0a1a7d48a9c0da4a0da8e0e8c0f59e2f
p:so:libc.musl-x86_64.so.1=1
F:lib
R:ld-musl-x86_64.so.1
a:0:0:755
Z:Q1tItjcQ4KbA6WPS5y0Jb7Xk7wIAQ=
R:libc.musl-x86_64.so.1
a:0:0:777
Z:Q1Rr5vbbGMVQnr2TWSXeUZLbbsQG0=

C:Q1uXlfB5sAvYx3Wr4nS9tL8f6gOcE=
P:busybox-binsh
V:1.36.1-r29
A:x86_64
S:1513
I:1
T:busybox ash /bin/sh
U:https://busybox.net/
L:GPL-2.0-only
o:busybox
m:Sören Tempel <soeren+alpine@soeren-tempel.net>
t:1717016785
c:e1f1e0e2b5ad0b7c1d2a3f4c5b6a7d8e9f0a1b2c
D:busybox=1.36.1-r29
p:/bin/sh cmd:sh=1.36.1-r29
F:bin
R:sh
a:0:0:777
Z:Q1pcfTfDNEbNKQc2s1tia7da05M8Q=

C:Q1sRcBhMuJMKfl4mnk4WNV9aP3ZzY=
P:alpine-baselayout-data
V:3.6.5-r0
A:x86_64
S:11235
I:77824
T:Alpine base dir structure and init scripts
U:https://git.alpinelinux.org/cgit/aports/tree/main/alpine-baselayout
L:GPL-2.0-only
o:alpine-baselayout
m:Natanael Copa <ncopa@alpinelinux.org>
t:1714981135
c:66187892e05b03a41d08e9acabd19b7576a1c875
r:alpine-baselayout
F:etc
R:fstab
Z:Q11Q7hNe8QpDS531guqCdrXBzoA/o=

"""


def test_installed_database(tmp_path: Path) -> None:
    db = tmp_path / "lib/apk/db"
    db.mkdir(parents=True)
    (db / "installed").write_text(INSTALLED)
    gathered = read_apk_packages(DirView(tmp_path))
    assert gathered.problems == ()
    assert [(p.name, p.version, p.arch, p.source_name) for p in gathered.value] == [
        ("musl", "1.2.5-r0", "x86_64", "musl"),
        ("busybox-binsh", "1.36.1-r29", "x86_64", "busybox"),
        ("alpine-baselayout-data", "3.6.5-r0", "x86_64", "alpine-baselayout"),
    ]


def test_broken_entries_and_junk() -> None:
    data = b"P:nover\nA:x86_64\n\n\xff\x1b[2J\n\nP:\x1b]0;evil\x07pkg\r\nV:1.0-r0\r\n\nV:2\n"
    packages, problems = parse_installed(data)
    assert [(p.name, p.version) for p in packages] == [("]0;evilpkg", "1.0-r0")]
    assert len(problems) == 2


def test_oversized_database(tmp_path: Path) -> None:
    db = tmp_path / "lib/apk/db"
    db.mkdir(parents=True)
    with open(db / "installed", "wb") as huge:
        huge.truncate(APK_INSTALLED_MAX + 1)
    gathered = read_apk_packages(DirView(tmp_path))
    assert gathered.value == ()
    assert [p.where for p in gathered.problems] == ["/lib/apk/db/installed"]
