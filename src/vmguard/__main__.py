"""``python -m vmguard``: the same as the ``vmguard`` command."""

from vmguard.cli.main import run

run()
