"""Command-line interface: argument parsing, calling the layers, rendering. No logic.

Public API: ``main.run`` (the ``vmguard`` console script) and ``main.build_app``. Options
several commands share are declared once: single options in ``options``; the image options
block in ``option_blocks`` and the advisory options block in ``advisory_options``, each
handed to a command as one frozen choice object; sign/verify/gate's in
``integrity_options``. Only this package turns errors into exit codes (``output``: 0 ok,
1 findings, 2 unusable input). Decisions, file parsing and loops over data live in the
layers; a command here reads its arguments, calls them and renders what they return.
"""
