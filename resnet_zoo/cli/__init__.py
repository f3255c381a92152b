"""The ``resnet-zoo`` command (also ``python -m resnet_zoo``): a parser, one module per command group."""

import argparse
import sys
from collections.abc import Sequence

from ..errors import ResNetZooError
from ..version import __version__
from . import deploy, models, publishing, train, weights

DESCRIPTION = "The ResNet family from scratch, with verified pretrained weights."
GROUPS = (models, weights, publishing, deploy, train)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="resnet-zoo", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"resnet-zoo {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for group in GROUPS:
        group.add_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ResNetZooError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


__all__ = ["build_parser", "main"]
