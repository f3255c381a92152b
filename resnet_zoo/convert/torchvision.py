"""torchvision -> resnet_zoo. torchvision's ResNet names (conv1, bn1, layerN.M.convK/bnK,
downsample.0/1, fc) are the v1 family's names here, so the key map is the identity; the
converter checks every key and shape, and refuses architectures torchvision does not have."""

from collections.abc import Mapping

import torch

from ..errors import IncompatibleCheckpointError
from .common import KeysFor, strip_wrappers, verify_state_dict


def from_torchvision(state_dict: Mapping[str, object], keys_for: KeysFor) -> dict[str, torch.Tensor]:
    """A torchvision ResNet ``state_dict`` as a resnet_zoo state_dict."""
    keys = keys_for(3, 3)
    if "torchvision" not in keys.names_elsewhere:
        raise IncompatibleCheckpointError(
            f"torchvision has no {keys.arch!r}; its ResNets are resnet18/34/50/101/152, resnext50_32x4d, "
            "resnext101_32x8d, resnext101_64x4d and wide_resnet50_2/101_2"
        )
    out = strip_wrappers(state_dict)  # identity key map
    verify_state_dict(out, keys_for, source="torchvision")
    return out
