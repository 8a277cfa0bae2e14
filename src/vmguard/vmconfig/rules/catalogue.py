"""The one place where built-in configuration rules are listed.

Explicit, ordered, no discovery: adding a rule means adding it here. ``vmguard.rulebook``
gathers these with every other command's rules and refuses duplicate ids.
"""

from __future__ import annotations

from vmguard.vmconfig.rules.libvirt_consoles import LIBVIRT_CONSOLE_CHECKS
from vmguard.vmconfig.rules.libvirt_data import LIBVIRT_ELEMENT_RULES
from vmguard.vmconfig.rules.libvirt_devices import LIBVIRT_DEVICE_CHECKS
from vmguard.vmconfig.rules.libvirt_platform import LIBVIRT_PLATFORM_CHECKS
from vmguard.vmconfig.rules.libvirt_surface import LIBVIRT_SURFACE_CHECKS
from vmguard.vmconfig.rules.model import ConfigRule
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


def builtin_rules() -> tuple[ConfigRule, ...]:
    """Every built-in configuration rule, in report order."""
    return (
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
