"""Checks over a guest: content checks fed by one walk, and whole-guest configuration checks.

A check never opens a host file: it receives guest file bytes, a ``GuestView`` or guest
facts, and returns ``Finding``s with redacted evidence: a secret only as
``checks.redact.redact`` shows it (the one redaction, shared with ``audit``), other guest
text only as ``vmguard.text.printable`` shows it.

Public API::

    registry.guest_checks() / registry.path_checks()   # the built-in checks, in order
    registry.all_rules() -> tuple[Rule, ...]          # their rules (vmguard.rulebook gathers)
    content.compile_rules(user_dirs) -> ContentRules  # secrets + YARA, one yara-x pass
    content.ContentScanner(rules).scan(FileContent)   # findings for one window of a file
    deleted.scan_unallocated(...)                     # the same over free space
    interface.GuestCheck / PathCheck / FileContent    # what a check is

Every rule is a ``vmguard.findings.Rule``; what other layers need to know about a rule
(``shares``, ``generic``) is a fact on it, never read from its id or evidence.
"""
