"""The built-in sample VM: a small but real Linux disk image and its libvirt definition.

Built with real tools (mkfs.ext4 -d, mkfs.xfs -p, mkfs.vfat + mtools, sfdisk, qemu-img),
never mounted. The same primitives build the test suite's images.
"""
