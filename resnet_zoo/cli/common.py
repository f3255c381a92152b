"""What every command module shares: how a subcommand is declared."""

import argparse
import difflib
from typing import Any

from ..errors import ResNetZooError, UnknownModelError


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Defaults shown in every ``--help``; descriptions and examples kept as written."""


def add_command(sub: Any, name: str, help: str, examples: str = "", **kwargs: Any) -> argparse.ArgumentParser:
    """A subcommand with its one-line help, the same text as description, and examples as epilog."""
    epilog = f"examples:\n{examples}" if examples else None
    return sub.add_parser(name, help=help, description=help, epilog=epilog, formatter_class=HelpFormatter, **kwargs)


def no_match(pattern: str, candidates: list[str], what: str, listing: str) -> ResNetZooError:
    """The error for a wildcard that matched nothing: the closest names, and the command that lists them."""
    stem = pattern.strip("*?[]") or pattern
    close = difflib.get_close_matches(stem, candidates, n=5, cutoff=0.5)
    close += [c for c in candidates if stem and c.startswith(stem[: max(3, len(stem) - 1)]) and c not in close][:3]
    hint = f"; did you mean {', '.join(close[:5])}?" if close else ""
    return UnknownModelError(f"no {what} matches {pattern!r}{hint} ('{listing}' lists them all)")
