"""Bundle integrity: manifests of VM disks and definitions, signatures, verification, gate.

Public surface: ``sign.sign_bundle``, ``verify.verify_bundle``, ``keys``, ``trust``,
``gate``. Verification raises (``VerificationFailed`` and its subclasses) or returns a
``VerifiedBundle``; it never returns a bool a caller could forget to check.

Nothing in this package opens a host path named inside a signature, a manifest or an image:
only the paths the user passed (and, for the launch gate, the disks the domain XML names)
are opened, through the disk layer's host-path policy.
"""
