"""``vmguard sanitize``: a publishable copy of an image, proven clean by a re-scan.

The input is opened once by vmguard's own readers (hostile-image policy applied) and copied
to a private raw working file; every change is made there by the filesystems' own user-space
tools (debugfs, mtools, xfs_db), addressed by what vmguard resolved inside the guest. The
input is never written (unless ``--in-place`` was asked for), no tool is ever given a host
path the image named, and a guest symlink is never followed for a write.
"""
