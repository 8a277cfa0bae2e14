"""What a configuration rule is: a ``findings.Rule`` (its ``info``), in a declared or a code
form.

Declared rules (``KeyRule`` for VMware keys, ``ElementRule`` for XML definitions) are data;
code rules are plain functions wrapped with their ``findings.Rule`` by ``vm_rule`` and
friends (the docstring is the rationale). A rule returns ``Hit``s; the engine turns them
into Findings. Rules must never open files or
print a secret whole: evidence in a Hit is already redacted.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from vmguard.findings import Rule, Severity, Threat
from vmguard.vmconfig.model import (
    ConfigFormat,
    FilterSpec,
    NetworkSpec,
    Platform,
    Setting,
    VmSpec,
)


@dataclass(frozen=True, slots=True)
class AuditContext:
    """What a rule may know beyond the definition itself."""

    platform_override: Platform | None = None
    """--platform: the product the user says runs these definitions."""
    disk_writers: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Disk source path -> names of VMs (in this run) that attach it writable."""
    platform_version: int | None = None
    """--platform-version (or a profile's release): the product's major release (8 = ESXi 8)."""
    platform_default: Platform | None = None
    """A profile's product, assumed only for definitions that do not name theirs."""

    def platform_for(self, spec: VmSpec) -> tuple[Platform | None, str]:
        """The platform to judge ``spec`` by, and why."""
        if self.platform_override is not None and (
            spec.platform is None or spec.platform.is_vmware == self.platform_override.is_vmware
        ):
            return self.platform_override, "--platform"
        if spec.platform is None and self.platform_default is not None:
            return self.platform_default, "the profile's product (the file does not say)"
        return spec.platform, spec.platform_source

    def release_for(self, spec: VmSpec) -> int | None:
        """The product's major release the VM runs on, when known.

        The user's word (--platform-version, a profile) wins; otherwise an ESXi VM's
        virtual hardware version bounds it from below (vmx-20 and vmx-21 need ESXi 8,
        vmx-22 needs 9). Older hardware runs on newer hosts too, so it tells nothing.
        """
        platform, _ = self.platform_for(spec)
        if platform is None or not platform.is_vmware:
            return None
        if self.platform_version is not None:
            return self.platform_version
        hardware = spec.hardware_version
        if platform is Platform.ESXI and hardware is not None and hardware >= 20:
            return 9 if hardware >= 22 else 8
        return None


@dataclass(frozen=True, slots=True)
class Retired:
    """A product release from which the product ignores a setting: no finding there."""

    platform: Platform
    since: int
    """The first major release that ignores the setting."""
    source: str
    """The document that says so."""


ESXI8_NOT_IMPLEMENTED = Retired(
    Platform.ESXI,
    8,
    "vSphere 8 SCG: parameter not implemented in ESXi 8; scans for it should not generate "
    "findings (it still applies to Workstation and Fusion)",
)


def retirement(
    retired: tuple[Retired, ...], spec: VmSpec, ctx: AuditContext
) -> tuple[bool, str | None]:
    """Whether the VM's product release ignores the setting, else an assumption to state.

    ``(True, None)``: no finding. ``(False, note)``: judge the setting, saying that the
    verdict assumes a product (or release) the file does not show.
    """
    if not retired:
        return False, None
    platform, _ = ctx.platform_for(spec)
    release = ctx.release_for(spec)
    for rule in retired:
        if platform is rule.platform and release is not None and release >= rule.since:
            return True, None
    first = retired[0]
    if platform is None:
        return False, (
            f"product unknown; not implemented on {first.platform.value} {first.since} and "
            "later (pass --platform and --platform-version)"
        )
    if platform is first.platform and release is None:
        return False, (
            f"{platform.value} release unknown (virtual hardware below vmx-20); not "
            f"implemented from {platform.value} {first.since} (pass --platform-version)"
        )
    return False, None


@dataclass(frozen=True, slots=True)
class Hit:
    """One place where a rule found a problem."""

    where: str
    """The key or XPath that holds the problem."""
    evidence: str
    """What was found there, already redacted."""
    assumption: str | None = None
    """Set when the verdict rests on an assumed product default."""
    host_dependent: str | None = None
    """Set when the verdict depends on host configuration the file cannot show."""
    severity: Severity | None = None
    """A severity other than the rule's, for a milder or worse variant."""


class ValueTest(StrEnum):
    """What a declared key/value rule considers safe."""

    TRUE = "true"
    """The key must be a VMware true (TRUE, true, 1, yes)."""
    FALSE = "false"
    """The key must be false or absent-safe."""
    ABSENT = "absent"
    """Any value is a finding; the key should not be set at all."""
    NOT_TRUE = "not-true"
    """Anything but a true value is safe (``present`` keys)."""
    EQUALS = "equals"
    """The key, when present, must hold exactly ``KeyRule.expected`` (absent is safe)."""


@dataclass(frozen=True, slots=True)
class KeyRule:
    """A VMware key/value rule: a key (``*`` matches a device index) and its safe value."""

    info: Rule
    keys: tuple[str, ...]
    """Lower-case keys; ``*`` stands for an index (``floppy*.present``)."""
    safe: ValueTest
    unsafe_when_absent_on: frozenset[Platform] = frozenset()
    """Products whose built-in default for an absent key is the unsafe one."""
    retired: tuple[Retired, ...] = ()
    """Product releases that ignore these keys (their guide says: no finding)."""
    expected: str = ""
    """The one safe value for ``ValueTest.EQUALS``."""


@dataclass(frozen=True, slots=True)
class ElementRule:
    """An XML rule: any element matching one of ``paths`` (ElementTree XPath) is a finding."""

    info: Rule
    formats: frozenset[ConfigFormat]
    paths: tuple[str, ...]
    """Relative to the definition root (``domain`` or ``Machine``), namespaces stripped."""
    attribute: str | None = None
    """When set, only these attribute values are findings (compared case-insensitively)."""
    values: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class ElementRuleTable:
    """Builds the rows of one platform's declared element rules (same formats, one source)."""

    formats: frozenset[ConfigFormat]
    source: str
    """Document the rules cite; each row adds its section or schema type."""

    def __call__(  # noqa: PLR0917 (one positional field per table column)
        self,
        rule_id: str,
        paths: tuple[str, ...],
        severity: Severity,
        threat: Threat,
        title: str,
        rationale: str,
        remediation: str,
        section: str,
        attribute: str | None = None,
        values: tuple[str, ...] = (),
        *,
        guides: tuple[str, ...] = (),
    ) -> ElementRule:
        references = (f"{self.source}: {section}", *guides)
        info = Rule(rule_id, title, severity, threat, remediation, references, rationale=rationale)
        return ElementRule(info, self.formats, paths, attribute, frozenset(values))


VmCheckFn = Callable[[VmSpec, AuditContext], Iterator[Hit]]
NetworkCheckFn = Callable[[NetworkSpec], Iterator[Hit]]
FilterCheckFn = Callable[[FilterSpec], Iterator[Hit]]


@dataclass(frozen=True, slots=True)
class VmCheck:
    """A code rule over one VM definition."""

    info: Rule
    formats: frozenset[ConfigFormat]
    check: VmCheckFn


@dataclass(frozen=True, slots=True)
class NetworkCheck:
    """A code rule over one libvirt network."""

    info: Rule
    check: NetworkCheckFn


@dataclass(frozen=True, slots=True)
class FilterCheck:
    """A code rule over one libvirt nwfilter."""

    info: Rule
    check: FilterCheckFn


ConfigRule = KeyRule | ElementRule | VmCheck | NetworkCheck | FilterCheck
"""A configuration rule in any of its forms; each carries its ``findings.Rule`` as ``info``."""


def _info(  # noqa: PLR0917 (internal: forwards the decorator fields)
    fn: Callable[..., object],
    rule_id: str,
    title: str,
    severity: Severity,
    threat: Threat,
    remediation: str,
    references: tuple[str, ...],
) -> Rule:
    doc = " ".join((fn.__doc__ or "").split())
    if not doc:
        raise ValueError(f"rule {rule_id} has no docstring; its docstring is its rationale")
    return Rule(rule_id, title, severity, threat, remediation, references, rationale=doc)


def vm_rule(
    rule_id: str,
    *,
    title: str,
    severity: Severity,
    threat: Threat,
    formats: tuple[ConfigFormat, ...],
    remediation: str,
    references: tuple[str, ...] = (),
) -> Callable[[VmCheckFn], VmCheck]:
    """Wrap a check function with its metadata (its docstring is the rationale)."""

    def wrap(fn: VmCheckFn) -> VmCheck:
        info = _info(fn, rule_id, title, severity, threat, remediation, references)
        return VmCheck(info, frozenset(formats), fn)

    return wrap


def network_rule(
    rule_id: str,
    *,
    title: str,
    severity: Severity,
    threat: Threat,
    remediation: str,
    references: tuple[str, ...] = (),
) -> Callable[[NetworkCheckFn], NetworkCheck]:
    """Wrap a network check function with its metadata."""

    def wrap(fn: NetworkCheckFn) -> NetworkCheck:
        return NetworkCheck(
            _info(fn, rule_id, title, severity, threat, remediation, references), fn
        )

    return wrap


def filter_rule(
    rule_id: str,
    *,
    title: str,
    severity: Severity,
    threat: Threat,
    remediation: str,
    references: tuple[str, ...] = (),
) -> Callable[[FilterCheckFn], FilterCheck]:
    """Wrap an nwfilter check function with its metadata."""

    def wrap(fn: FilterCheckFn) -> FilterCheck:
        return FilterCheck(_info(fn, rule_id, title, severity, threat, remediation, references), fn)

    return wrap


def is_vmx_true(value: str) -> bool:
    """VMware's reading of a boolean: TRUE, true, 1, yes, on."""
    return value.strip().strip('"').lower() in ("true", "1", "yes", "on", "t", "y")


def is_vmx_false(value: str) -> bool:
    """VMware's reading of a false boolean."""
    return value.strip().strip('"').lower() in ("false", "0", "no", "off", "f", "n")


def settings_matching(spec: VmSpec, pattern: str) -> list[Setting]:
    """VMware settings whose lower-case key matches ``pattern`` (``*`` = an index)."""
    if "*" not in pattern:
        found = spec.settings.get(pattern)
        return [found] if found is not None else []
    regex = _pattern(pattern)
    return [s for key, s in sorted(spec.settings.items()) if regex.fullmatch(key)]


def _pattern(pattern: str) -> re.Pattern[str]:
    return re.compile(
        ".*".join(re.escape(p) for p in pattern.split("*")).replace(".*", "[0-9a-z:_]+")
    )


def shown(setting: Setting) -> str:
    """A setting as evidence: ``key = "value"`` (values longer than 80 chars are cut)."""
    value = setting.value if len(setting.value) <= 80 else setting.value[:77] + "..."
    return f'{setting.key} = "{value}"'


WILDCARD_ADDRESSES = ("", "0.0.0.0", "::", "[::]")  # noqa: S104 (compared, never bound)
"""Listen addresses that mean every host interface (empty included)."""


def parse_int(value: str) -> int | None:
    """A decimal setting value, or None when it is not one."""
    try:
        return int(value.strip())
    except ValueError:
        return None
