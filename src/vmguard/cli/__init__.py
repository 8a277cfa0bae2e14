"""Command-line interface: argument parsing and rendering only, no logic."""
