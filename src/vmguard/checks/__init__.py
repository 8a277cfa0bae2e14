"""Checks over a guest: content checks fed by one walk, and whole-guest configuration checks.

A check never opens a host file: it receives guest file bytes, a ``GuestView`` or guest
facts, and returns ``Finding``s with redacted evidence: a secret only as
``checks.redact.redact`` shows it (the one redaction, shared with ``audit``), other guest
text only as ``vmguard.text.printable`` shows it.
"""
