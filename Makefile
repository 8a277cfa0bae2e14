# vmguard — every target sets itself up; `make demo` and `make test` work on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
DEB_PACKAGES := qemu-utils e2fsprogs xfsprogs dosfstools mtools fdisk ntfs-3g lvm2 \
                cryptsetup-bin debootstrap strace btrfs-progs b3sum time qemu-system-x86 libvirt-daemon-system \
                rpm db5.3-util libhivex-bin registry-tools putty-tools openssh-client openssl \
                python3-apt python3-rpm pkg-config libvirt-dev chromium postgresql \
                squashfs-tools erofs-utils f2fs-tools xorriso udftools exfatprogs jfsutils nilfs-tools reiserfsprogs bcache-tools util-linux-extra libbde-utils mdadm \
                chntpw libwin-hivex-perl \
                libxml2-utils parted
# Makers of the filesystems vmguard only names (blkid comparison tests)
DEB_PACKAGES += makefs apfsprogs ocfs2-tools gfs2-utils genromfs mtd-utils reiser4progs
# blkid (util-linux, essential in Debian): the judge every signature test compares with
DEB_PACKAGES += util-linux
# The C compiler mypyc's build of vmguard.native.COMPILED needs
DEB_PACKAGES += gcc
# Application package fixtures and version-ordering oracles (tests only)
DEB_PACKAGES += golang-go ruby libmaven3-core-java openjdk-17-jdk-headless nodejs
DEMO_DIR ?= vmguard-demo

.PHONY: setup system-packages venv native demo test lint typecheck unit bench clean fuzz

setup: system-packages venv

# Installs only what is missing, so a second run does nothing.
system-packages:
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@touch $@

# The walk's hot modules compiled by mypyc (vmguard.native); does nothing when current.
native: $(VENV)/.installed
	$(PY) -m vmguard.native_build

venv: $(VENV)/.installed native

demo: setup
	$(VENV)/bin/vmguard demo --dir $(DEMO_DIR)

lint: venv
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks

typecheck: venv
	$(VENV)/bin/mypy src

unit: setup
	$(VENV)/bin/pytest -n 2 -q

test: setup lint typecheck unit

bench: setup
	$(PY) benchmarks/run.py

# Long fuzzing campaigns (atheris; corpus, crashes and stats under the git-ignored .fuzz/).
# FUZZ_SECONDS per harness and round, FUZZ_ROUNDS rounds, FUZZ_TARGETS a subset,
# FUZZ_TARGET_EXECS: skip harnesses past that many executions, furthest behind first.
FUZZ_SECONDS ?= 300
FUZZ_ROUNDS ?= 1
FUZZ_TARGET_EXECS ?= 0
fuzz: setup
	$(PY) -m pip install -q -e '.[fuzz]'
	nice -n 19 $(PY) tests/fuzz/run.py --seconds $(FUZZ_SECONDS) --rounds $(FUZZ_ROUNDS) \
	  --target-execs $(FUZZ_TARGET_EXECS) $(FUZZ_TARGETS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache $(DEMO_DIR) build src/vmguard/native.digest
	find src -name '*.so' -delete
