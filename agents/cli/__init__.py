"""The command line: `growthstream` (agents/cli/main.py)."""

from agents.cli.main import main

__all__ = ["main"]
