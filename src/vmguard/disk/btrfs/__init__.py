"""A read-only btrfs reader of vmguard's own.

The superblock (and its mirrors), the chunk tree, the root tree and the FS trees of every
subvolume are parsed from the bytes of one volume; files are assembled from their inline,
regular and preallocated extents, decompressed (zlib, LZO, zstd) within fixed bounds. It
never mounts, never writes and never follows a device path the filesystem names: a btrfs
spread over several devices is named and refused.
"""

from vmguard.disk.btrfs.filesystem import BtrfsFilesystem, open_btrfs

__all__ = ["BtrfsFilesystem", "open_btrfs"]
