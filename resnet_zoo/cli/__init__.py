"""The ``resnet-zoo`` command (also ``python -m resnet_zoo``): a parser, one module per command group."""

import argparse
import logging
import sys
from collections.abc import Sequence

from ..errors import ResNetZooError
from ..version import __version__
from . import deploy, models, predict, publishing, train, weights
from .common import HelpFormatter

DESCRIPTION = "The ResNet family from scratch, with verified pretrained weights."
EXAMPLES = """examples:
  resnet-zoo list 'resnet5*'
  resnet-zoo weights resnet50
  resnet-zoo predict photos/ --model resnet50.a1_in1k --topk 3
  resnet-zoo finetune resnet18 --pretrained --data photos/ --out runs/photos --img-size 160
  resnet-zoo -v download resnet50.a1_in1k
  resnet-zoo COMMAND --help      (every command has its options, defaults and examples)"""
GROUPS = (models, weights, publishing, deploy, predict, train)
LEVELS = {-2: logging.ERROR, -1: logging.WARNING, 0: logging.INFO, 1: logging.DEBUG}


class _StderrHandler(logging.StreamHandler):
    """Writes to the current ``sys.stderr`` (which tests and callers may swap)."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(logging.Formatter("%(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


_HANDLER = _StderrHandler()


def configure_logging(verbosity: int) -> None:
    """``-q``/``-v`` counts -> the ``resnet_zoo`` logger's level: -qq errors only, -q warnings,
    default information (what a command is doing), -v debug."""
    logger = logging.getLogger("resnet_zoo")
    logger.setLevel(LEVELS[max(-2, min(1, verbosity))])
    if _HANDLER not in logger.handlers:
        logger.addHandler(_HANDLER)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="resnet-zoo", description=DESCRIPTION, epilog=EXAMPLES, formatter_class=HelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"resnet-zoo {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (debug)")
    parser.add_argument("-q", "--quiet", action="count", default=0, help="less log output: -q warnings, -qq errors")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in GROUPS:
        group.add_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args.verbose - args.quiet)
    try:
        return int(args.func(args) or 0)
    except ResNetZooError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


__all__ = ["build_parser", "configure_logging", "main"]
