"""Hypervisor host audit: the live host, or an offline copy of its root given with --root.

Every file is reached through ``HostRoot`` (chroot semantics, bounded reads); nothing in
this package writes to the host or follows a link out of the root.

Public API::

    audit.audit_host(root, profile) -> Report          # gather facts, run every check
    audit.run_host_checks(facts, profile) -> Report
    catalogue.host_checks() / catalogue.host_rules()   # the built-in checks and their rules
    baseline.build_baseline / sign_baseline / verify_host  # signed host baselines

Host rules are ``vmguard.findings.Rule``s; ``vmguard.rulebook`` checks their ids are unique.
"""
