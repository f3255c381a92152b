"""Argument checks shared by every ResNet builder, run before any tensor is allocated."""

from collections.abc import Sequence
from typing import Any

from ..errors import InvalidArgumentError
from .conventions import CONVENTIONS

GLOBAL_POOLS = ("avg", "max", "avgmax", "catavgmax", "")  # "": no pooling (timm), unpooled features
ATTENTIONS = (None, "se", "eca")
OUTPUT_STRIDES = (8, 16, 32)
BLOCKS = ("basic", "bottleneck")
STEMS = ("", "deep", "tiered", "cifar")
V2_STEMS = ("", "deep", "tiered")
SHORTCUTS = ("projection", "zero_pad")


def check_choice(name: str, value: Any, allowed: Sequence[Any]) -> None:
    if value not in allowed:
        raise InvalidArgumentError(f"{name}={value!r} is not supported; choose one of {list(allowed)}")


def check_head_args(num_classes: int, global_pool: str) -> None:
    """The classifier's arguments (also checked by ``reset_classifier``)."""
    if not isinstance(num_classes, int) or isinstance(num_classes, bool) or num_classes < 0:
        raise InvalidArgumentError(
            f"num_classes={num_classes!r} is invalid; use an int >= 0 (0 removes the classifier)"
        )
    check_choice("global_pool", global_pool, GLOBAL_POOLS)


def check_common_args(
    *, num_classes: int, in_chans: int, output_stride: int, global_pool: str, drop_rate: float, drop_path_rate: float
) -> None:
    """Checks shared by every ResNet builder (v1, v2, CIFAR)."""
    check_head_args(num_classes, global_pool)
    if not isinstance(in_chans, int) or isinstance(in_chans, bool) or in_chans < 1:
        raise InvalidArgumentError(f"in_chans={in_chans!r} is invalid; use an int >= 1 (3 for RGB)")
    check_choice("output_stride", output_stride, OUTPUT_STRIDES)
    for name, rate in (("drop_rate", drop_rate), ("drop_path_rate", drop_path_rate)):
        if not isinstance(rate, (int, float)) or not 0.0 <= rate < 1.0:
            raise InvalidArgumentError(f"{name}={rate!r} is invalid; use a probability in [0, 1)")


def check_stages(layers: Sequence[int], channels: Sequence[int]) -> None:
    if len(layers) != len(channels) or any(d < 1 for d in layers):
        raise InvalidArgumentError(
            f"layers={tuple(layers)} must give a depth >= 1 for each of the {len(channels)} stages {tuple(channels)}"
        )


def check_v1_args(
    block: str,
    layers: Sequence[int],
    channels: Sequence[int],
    stem_type: str,
    shortcut: str,
    attention: str | None,
    avg_down: bool,
    convention: str,
) -> None:
    check_choice("convention", convention, tuple(CONVENTIONS))
    check_choice("block", block, BLOCKS)
    check_choice("stem_type", stem_type, STEMS)
    check_choice("shortcut", shortcut, SHORTCUTS)
    check_choice("attention", attention, ATTENTIONS)
    check_stages(layers, channels)
    if shortcut == "zero_pad" and avg_down:
        raise InvalidArgumentError("avg_down=True needs shortcut='projection' (zero_pad has no conv to pool for)")


def check_v2_args(
    layers: Sequence[int], channels: Sequence[int], stem_type: str, shortcut: str, convention: str
) -> None:
    check_choice("convention", convention, tuple(CONVENTIONS))
    check_choice("stem_type", stem_type, V2_STEMS)
    if shortcut != "projection":
        raise InvalidArgumentError(
            f"shortcut={shortcut!r} is not available for a pre-activation ResNet: its shortcut takes the "
            "pre-activated input through a projection; use shortcut='projection' (the default)"
        )
    check_stages(layers, channels)
