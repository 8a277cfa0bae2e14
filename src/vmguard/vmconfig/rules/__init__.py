"""The VM-configuration rule catalogue: declared key/value rules and small code rules.

Rules judge parsed definitions only; no rule may open a file, resolve a name or touch the
network. Every built-in rule is listed once, in ``catalogue.py``.

Public API::

    catalogue.builtin_rules() -> tuple[ConfigRule, ...]
    model.ConfigRule        # KeyRule | ElementRule | VmCheck | NetworkCheck | FilterCheck
    model.vm_rule / network_rule / filter_rule  # decorators: a function + its Rule
    model.Hit, model.AuditContext

Each form carries its ``vmguard.findings.Rule`` as ``info`` (the decorators take the
rationale from the function's docstring); ``vmguard.rulebook`` checks ids are unique.
"""
