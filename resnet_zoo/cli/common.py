"""What every command module shares: how a subcommand is declared."""

import argparse
from typing import Any


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Defaults shown in every ``--help``; descriptions and examples kept as written."""


def add_command(sub: Any, name: str, help: str, examples: str = "", **kwargs: Any) -> argparse.ArgumentParser:
    """A subcommand with its one-line help, the same text as description, and examples as epilog."""
    epilog = f"examples:\n{examples}" if examples else None
    return sub.add_parser(name, help=help, description=help, epilog=epilog, formatter_class=HelpFormatter, **kwargs)
