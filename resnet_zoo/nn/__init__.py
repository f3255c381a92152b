"""Layers, conventions, argument checks and meta-device helpers: what every model is made of."""

from .checks import ATTENTIONS, GLOBAL_POOLS, OUTPUT_STRIDES, check_choice, check_common_args, check_head_args
from .conventions import CONVENTIONS, TIMM, Convention
from .meta import meta_device

__all__ = [
    "ATTENTIONS",
    "GLOBAL_POOLS",
    "OUTPUT_STRIDES",
    "CONVENTIONS",
    "TIMM",
    "Convention",
    "check_choice",
    "check_common_args",
    "check_head_args",
    "meta_device",
]
