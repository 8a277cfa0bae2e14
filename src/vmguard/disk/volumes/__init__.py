"""Volume systems: a virtual disk in, its partitions and logical volumes out.

GPT, MBR (with the extended/logical chain), LVM2 logical volumes, LUKS (detected and
reported as encrypted, never opened without a key), and a bare filesystem with no table.
Every table is bounded (entry counts and sizes, chain length, loops) before it is read.
"""
