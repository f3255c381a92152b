"""Shared by every converter: unwrap a checkpoint, and check it against what an architecture holds.

Converters are pure key maps; what an architecture must hold (:class:`ArchKeys`: every key with its
shape, the stem and classifier names) is given to them by the caller, which builds it on the meta
device (``resnet_zoo.zoo.arch_keys``). Nothing here builds a model.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import torch

from ..errors import IncompatibleCheckpointError

_WRAPPER_KEYS = ("state_dict", "model", "model_state_dict", "state_dict_ema", "model_ema")
_PREFIXES = ("module.", "_orig_mod.")  # DataParallel/DDP and torch.compile wrappers


@dataclass(frozen=True)
class ArchKeys:
    """What a checkpoint of one architecture holds: every state_dict key with its shape, the module
    names of the stem convolution and the classifier (timm's ``first_conv``/``classifier``), and
    the names the same network has in other libraries (``{"timm": ..., "torchvision": ...}``)."""

    arch: str
    shapes: Mapping[str, tuple[int, ...]]
    first_conv: str
    classifier: str
    names_elsewhere: Mapping[str, str] = field(default_factory=dict)  # library -> its name for this network


# (num_classes, in_chans) -> ArchKeys of one architecture for that head and stem
KeysFor = Callable[[int, int], ArchKeys]


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
                f"checkpoint entry {key!r} is a {type(value).__name__}, not a tensor; pass a state_dict"
            )
        for prefix in _PREFIXES:
            if key.startswith(prefix):
                key = key[len(prefix) :]
        out[key] = value
    return out


def head_and_stem(state_dict: Mapping[str, torch.Tensor], keys: ArchKeys) -> tuple[int, int]:
    """(num_classes, in_chans) of a checkpoint in our layout: 0 classes when it has no classifier,
    3 channels when it has no stem we know."""
    head = state_dict.get(f"{keys.classifier}.weight")
    stem = state_dict.get(f"{keys.first_conv}.weight")
    return (int(head.shape[0]) if head is not None else 0), (int(stem.shape[1]) if stem is not None else 3)


def verify_state_dict(state_dict: Mapping[str, torch.Tensor], keys_for: KeysFor, source: str) -> ArchKeys:
    """Raise IncompatibleCheckpointError unless keys and shapes are exactly the architecture's
    (for the checkpoint's own head and stem); return the keys it was checked against."""
    keys = keys_for(3, 3)  # names only; shapes are checked below for the checkpoint's own head and stem
    num_classes, in_chans = head_and_stem(state_dict, keys)
    keys = keys_for(num_classes, in_chans)
    expected, arch = keys.shapes, keys.arch
    unexpected = sorted(set(state_dict) - set(expected))
    missing = sorted(set(expected) - set(state_dict))
    mis_shaped = sorted(
        f"{k}: checkpoint {tuple(state_dict[k].shape)} vs {arch} {expected[k]}"
        for k in set(expected) & set(state_dict)
        if tuple(state_dict[k].shape) != expected[k]
    )
    if unexpected or missing or mis_shaped:
        parts = []
        for label, items in (("unexpected keys", unexpected), ("missing keys", missing), ("wrong shapes", mis_shaped)):
            if items:
                shown = ", ".join(items[:8]) + (f", ... ({len(items)} in all)" if len(items) > 8 else "")
                parts.append(f"{label}: {shown}")
        first = next(iter(state_dict.values()), None)
        raise IncompatibleCheckpointError(
            f"{source} checkpoint does not fit {arch!r} ({len(state_dict)} tensors, first "
            f"{tuple(first.shape) if first is not None else None}): "
            + "; ".join(parts)
            + f". Check that the checkpoint is a {arch} (resnet_zoo.list_models() names the architectures)."
        )
    return keys
