"""Untrusted disk images -> read-only guest filesystems.

Public API::

    open_image(path, forced_format=, policy=, limits=) -> OpenedImage   # image.py
    detect_format(source, name) -> Detection                           # probe.py
    FORMATS / READABLE_FORMATS / readable_format(name)                 # formats.py: one
        entry per container format (signature, opener, what it may name, extensions)
    scan_volumes(disk, limits=, secrets=) -> VolumeLayout; assemble_layout(...) -> GuestLayout
    detect_filesystem(volume) -> FsSignature; FsKind                     # blkid TYPE names
    GuestFS (a read-only view of the guest's mounts), HostPathPolicy, Limits
    DiskError and its subclasses (ImageRefused, UnsupportedFormat, CorruptImage, ...)

Nothing in this package mounts, boots or executes anything, and nothing here ever opens a
host path named by an image (backing file, data file, extent, OVA member, symlink target)
unless ``HostPathPolicy`` allows the directory it resolves into.
"""
