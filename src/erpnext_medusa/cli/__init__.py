"""The ``erpnext-medusa`` command line: its commands, their help screens, and the reading of import files."""

from erpnext_medusa.cli.commands import app, main

__all__ = ["app", "main"]
