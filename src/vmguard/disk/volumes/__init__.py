"""Volume systems: a virtual disk in, its partitions and logical volumes out.

GPT, MBR (with the extended/logical chain), LVM2 logical volumes, LUKS and BitLocker
(detected and reported as encrypted; LUKS opened only with a key file or passphrase the user
gave, its KDF cost bounded first), and a bare filesystem with no table.
Every table is bounded (entry counts and sizes, chain length, loops) before it is read.

Public API::

    scan_volumes(disk, limits=..., secrets=...) -> VolumeLayout   # volumes and problems
    Volume, VolumeLayout                                           # interface.py

What could not be read is a ``vmguard.problems.Problem`` (stage ``VOLUMES``, ``where``
naming the table or volume) in ``VolumeLayout.problems``.
"""
