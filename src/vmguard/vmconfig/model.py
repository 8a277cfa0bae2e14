"""The normalized model every VM-definition parser produces, and this layer's error.

A parser turns one untrusted file into a ``ConfigDocument``: the VMs it defines
(``VmSpec``), and the libvirt networks and network filters it holds. This module must never
read a file or judge a setting; it only declares the shapes the parsers and rules share.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from xml.etree.ElementTree import Element

from vmguard.errors import VmguardError


class ConfigParseError(VmguardError):
    """A VM definition could not be read: not a definition, malformed, or over a limit."""


class ConfigFormat(StrEnum):
    """The kind of file a definition came from."""

    LIBVIRT = "libvirt-xml"
    VMX = "vmx"
    VBOX = "vbox"
    OVF = "ovf"


class Platform(StrEnum):
    """The product that runs the VM; defaults differ between them."""

    ESXI = "esxi"
    WORKSTATION = "workstation"
    FUSION = "fusion"
    LIBVIRT = "libvirt"
    VIRTUALBOX = "virtualbox"

    @property
    def is_vmware(self) -> bool:
        """True for ESXi and the hosted VMware products."""
        return self in (Platform.ESXI, Platform.WORKSTATION, Platform.FUSION)

    @property
    def is_vmware_hosted(self) -> bool:
        """True for Workstation and Fusion (the desktop products)."""
        return self in (Platform.WORKSTATION, Platform.FUSION)


@dataclass(frozen=True, slots=True)
class Setting:
    """One VMware key/value setting (from a .vmx or an OVF ``vmw:ExtraConfig``)."""

    key: str
    """The key as written (VMware keys are case-insensitive; lookups use the lower case)."""
    value: str
    """The value with its quotes removed."""


@dataclass(frozen=True, slots=True)
class OvfProperty:
    """One OVF ProductSection property."""

    key: str
    value: str | None
    """The default value written in the descriptor, if any (may be a secret)."""
    password: bool
    """``ovf:password="true"``: the deployer types a secret here."""


@dataclass(frozen=True, slots=True)
class VmSpec:
    """One VM definition, normalized across libvirt, VMware, VirtualBox and OVF."""

    name: str
    """The VM's name as the definition gives it (``<name>``, ``displayName``, ...)."""
    format: ConfigFormat
    """The file format it came from."""
    platform: Platform | None
    """The product the file says it is for; None when the file does not tell."""
    platform_source: str
    """Why ``platform`` was chosen (a key, an element, or the --platform option)."""
    settings: Mapping[str, Setting] = field(default_factory=dict)
    """VMware settings keyed by lower-cased key (.vmx, or OVF ExtraConfig/Config)."""
    root: Element | None = None
    """The definition element with namespaces stripped (domain, Machine, VirtualSystem)."""
    properties: tuple[OvfProperty, ...] = ()
    """OVF ProductSection properties."""
    signed_package: bool | None = None
    """OVF/OVA only: whether a manifest (.mf) or certificate (.cert) accompanies it."""
    hardware_version: int | None = None
    """VMware virtual hardware version (``virtualHW.version``, OVF ``vmx-NN``), if given."""

    def setting(self, key: str) -> Setting | None:
        """The VMware setting for ``key`` (case-insensitive), if present."""
        return self.settings.get(key.lower())


@dataclass(frozen=True, slots=True)
class NetworkSpec:
    """A libvirt virtual network definition."""

    name: str
    root: Element


@dataclass(frozen=True, slots=True)
class FilterSpec:
    """A libvirt network filter (nwfilter) definition."""

    name: str
    root: Element


@dataclass(frozen=True, slots=True)
class ConfigDocument:
    """Everything one configuration file (or one live connection) defines."""

    path: str
    """The file (or connection URI) it came from."""
    vms: tuple[VmSpec, ...] = ()
    networks: tuple[NetworkSpec, ...] = ()
    filters: tuple[FilterSpec, ...] = ()
    notes: tuple[str, ...] = ()
    """Things skipped while reading, said out loud (e.g. a member that was not a VM)."""
