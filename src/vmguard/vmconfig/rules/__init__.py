"""The VM-configuration rule catalogue: declared key/value rules and small code rules.

Rules judge parsed definitions only; no rule may open a file, resolve a name or touch the
network. Every built-in rule is listed once, in ``catalogue.py``.
"""
