"""The one place where built-in configuration rules are listed.

Explicit, ordered, no discovery: adding a rule means adding it here. Duplicate rule ids are
an error when the catalogue is built.
"""

from __future__ import annotations

from vmguard.vmconfig.model import ConfigParseError
from vmguard.vmconfig.rules.libvirt_consoles import LIBVIRT_CONSOLE_CHECKS
from vmguard.vmconfig.rules.libvirt_data import LIBVIRT_ELEMENT_RULES
from vmguard.vmconfig.rules.libvirt_devices import LIBVIRT_DEVICE_CHECKS
from vmguard.vmconfig.rules.libvirt_platform import LIBVIRT_PLATFORM_CHECKS
from vmguard.vmconfig.rules.libvirt_surface import LIBVIRT_SURFACE_CHECKS
from vmguard.vmconfig.rules.model import Rule
from vmguard.vmconfig.rules.network_checks import FILTER_CHECKS, NETWORK_CHECKS
from vmguard.vmconfig.rules.ovf_checks import OVF_CHECKS
from vmguard.vmconfig.rules.vbox_checks import VBOX_CHECKS
from vmguard.vmconfig.rules.vbox_data import VBOX_ELEMENT_RULES
from vmguard.vmconfig.rules.vbox_remote import VBOX_REMOTE_CHECKS
from vmguard.vmconfig.rules.vmx_channels import VMX_CHANNEL_CHECKS
from vmguard.vmconfig.rules.vmx_checks import VMX_CHECKS
from vmguard.vmconfig.rules.vmx_encryption import VMX_ENCRYPTION_CHECKS
from vmguard.vmconfig.rules.vmx_keys import VMX_KEY_RULES
from vmguard.vmconfig.rules.vmx_keys_operations import VMX_OPERATION_KEY_RULES


class DuplicateRuleError(ConfigParseError):
    """Two rules share an id: the catalogue is inconsistent and nothing runs."""


def check_unique(rules: tuple[Rule, ...]) -> tuple[Rule, ...]:
    """Return ``rules`` unchanged, or raise when two share an id."""
    seen: set[str] = set()
    for rule in rules:
        if rule.info.rule_id in seen:
            raise DuplicateRuleError(f"duplicate configuration rule id {rule.info.rule_id!r}")
        seen.add(rule.info.rule_id)
    return rules


def builtin_rules() -> tuple[Rule, ...]:
    """Every built-in configuration rule, checked for duplicate ids."""
    return check_unique(
        (
            *VMX_KEY_RULES,
            *VMX_OPERATION_KEY_RULES,
            *VMX_CHANNEL_CHECKS,
            *VMX_CHECKS,
            *VMX_ENCRYPTION_CHECKS,
            *LIBVIRT_ELEMENT_RULES,
            *LIBVIRT_DEVICE_CHECKS,
            *LIBVIRT_CONSOLE_CHECKS,
            *LIBVIRT_PLATFORM_CHECKS,
            *LIBVIRT_SURFACE_CHECKS,
            *NETWORK_CHECKS,
            *FILTER_CHECKS,
            *VBOX_ELEMENT_RULES,
            *VBOX_CHECKS,
            *VBOX_REMOTE_CHECKS,
            *OVF_CHECKS,
        )
    )
