"""Hypervisor host audit: the live host, or an offline copy of its root given with --root.

Every file is reached through ``HostRoot`` (chroot semantics, bounded reads); nothing in
this package writes to the host or follows a link out of the root.
"""
