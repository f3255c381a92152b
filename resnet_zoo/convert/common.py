"""Shared by every converter: unwrap a checkpoint and check it against the architecture."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from types import MappingProxyType

import torch

from ..errors import IncompatibleCheckpointError

CLASSIFIER_KEYS = ("fc.weight", "head.fc.weight")
STEM_KEYS = ("conv1.weight", "conv1.0.weight", "stem.conv.weight", "stem.conv1.weight")
_WRAPPER_KEYS = ("state_dict", "model", "model_state_dict", "state_dict_ema", "model_ema")
_PREFIXES = ("module.", "_orig_mod.")  # DataParallel/DDP and torch.compile wrappers


def strip_wrappers(checkpoint: Mapping[str, object]) -> dict[str, torch.Tensor]:
    """Accept a bare state_dict, a training checkpoint ``{"state_dict": ...}`` and DDP/compile
    key prefixes, as timm's and torchvision's loaders do."""
    for key in _WRAPPER_KEYS:
        inner = checkpoint.get(key) if isinstance(checkpoint, Mapping) else None
        if isinstance(inner, Mapping) and inner and all(isinstance(v, torch.Tensor) for v in inner.values()):
            checkpoint = inner
            break
    out: dict[str, torch.Tensor] = {}
    for key, value in checkpoint.items():
        if not isinstance(value, torch.Tensor):
            raise IncompatibleCheckpointError(
                f"checkpoint entry {key!r} is a {type(value).__name__}, not a tensor; pass a state_dict")
        for prefix in _PREFIXES:
            if key.startswith(prefix):
                key = key[len(prefix):]
        out[key] = value
    return out


def classifier_classes(state_dict: Mapping[str, torch.Tensor]) -> int:
    """num_classes of the checkpoint's head (0 when it has none)."""
    for key in CLASSIFIER_KEYS:
        if key in state_dict:
            return int(state_dict[key].shape[0])
    return 0


def checkpoint_in_chans(state_dict: Mapping[str, torch.Tensor]) -> int:
    """Input channels of the checkpoint's stem convolution (3 when it has none we know)."""
    for key in STEM_KEYS:
        if key in state_dict:
            return int(state_dict[key].shape[1])
    return 3


@lru_cache(maxsize=64)
def expected_shapes(arch: str, num_classes: int, in_chans: int = 3) -> Mapping[str, tuple[int, ...]]:
    """Every state_dict key of ``arch`` with its shape, from a model built on the meta device."""
    from ..layers import meta_device
    from ..registry import build_model

    with meta_device():
        model = build_model(arch, num_classes=num_classes, in_chans=in_chans)
    return MappingProxyType({k: tuple(v.shape) for k, v in model.state_dict().items()})


def verify_state_dict(state_dict: Mapping[str, torch.Tensor], arch: str, source: str,
                      in_chans: int | None = None) -> None:
    """Raise IncompatibleCheckpointError unless keys and shapes are exactly ``arch``'s."""
    num_classes = classifier_classes(state_dict)
    first = next(iter(state_dict.values()), None)
    in_chans = checkpoint_in_chans(state_dict) if in_chans is None else in_chans
    expected = expected_shapes(arch, num_classes, in_chans)
    unexpected = sorted(set(state_dict) - set(expected))
    missing = sorted(set(expected) - set(state_dict))
    mis_shaped = sorted(f"{k}: checkpoint {tuple(state_dict[k].shape)} vs {arch} {expected[k]}"
                        for k in set(expected) & set(state_dict) if tuple(state_dict[k].shape) != expected[k])
    if unexpected or missing or mis_shaped:
        parts = []
        for label, items in (("unexpected keys", unexpected), ("missing keys", missing), ("wrong shapes", mis_shaped)):
            if items:
                shown = ", ".join(items[:8]) + (f", ... ({len(items)} in all)" if len(items) > 8 else "")
                parts.append(f"{label}: {shown}")
        raise IncompatibleCheckpointError(
            f"{source} checkpoint does not fit {arch!r} ({len(state_dict)} tensors, first "
            f"{tuple(first.shape) if first is not None else None}): " + "; ".join(parts) +
            f". Check that the checkpoint is a {arch} (resnet_zoo.list_models() names the architectures).")
