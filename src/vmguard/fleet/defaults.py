"""Settings of the fleet layer that the CLI needs before anything heavy is imported."""

ENV_VAR = "VMGUARD_FLEET_DB"
"""Environment variable naming the default results database."""
