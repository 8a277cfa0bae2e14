"""Container formats: a host file in, the guest-visible virtual disk out.

One module per format (``raw``, ``qcow2``, ``vmdk``, ``vhd``, ``vhdx``, ``ova``); the shared
types are in ``interface``. Readers validate every offset and length against the file and
``Limits`` before using it, and never open a host file themselves: anything an image names
goes through the ``ReferenceOpener`` they are given, which applies ``HostPathPolicy``.
"""
