"""timm -> resnet_zoo. resnet_zoo's module names are timm's by construction, so the key map is the
identity; what this converter adds is the strict check of every key and shape."""

from collections.abc import Mapping

import torch

from .common import KeysFor, strip_wrappers, verify_state_dict


def from_timm(state_dict: Mapping[str, object], keys_for: KeysFor) -> dict[str, torch.Tensor]:
    """A timm ``state_dict`` (or training checkpoint) as a resnet_zoo state_dict."""
    out = strip_wrappers(state_dict)  # identity key map: timm names == resnet_zoo names
    verify_state_dict(out, keys_for, source="timm")
    return out
