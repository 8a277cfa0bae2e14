"""VM definitions (libvirt, VMware, VirtualBox, OVF) parsed into ``VmSpec``s and audited.

Nothing in this package opens a host path that a definition names: disk images, ISO files,
shared folders and sockets written in a definition are data to judge, never files to read.

Public API::

    audit.audit_paths(paths, AuditOptions) -> list[Report]
    audit.audit_documents(documents, AuditOptions) -> list[Report]
    rules.catalogue.builtin_rules() -> tuple[ConfigRule, ...]
"""
