"""Untrusted disk images -> read-only guest filesystems.

Nothing in this package mounts, boots or executes anything, and nothing here ever opens a
host path named by an image (backing file, data file, extent, OVA member, symlink target)
unless ``HostPathPolicy`` allows the directory it resolves into.
"""
