"""A read-only btrfs reader of vmguard's own.

The superblock (and its mirrors), the chunk tree, the root tree and the FS trees of every
subvolume are parsed from the bytes of one volume; files are assembled from their inline,
regular and preallocated extents, decompressed (zlib, LZO, zstd) within fixed bounds. It
never mounts, never writes and never follows a device path the filesystem names: a btrfs
spread over several devices is named and refused.

Entry point: ``vmguard.disk.btrfs.filesystem.open_btrfs`` (this package imports nothing
itself, so ``disk.filesystems`` can use its superblock probe without an import cycle).
"""
