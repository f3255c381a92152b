"""🤗 transformers ``ResNetForImageClassification`` (microsoft/resnet-*) -> resnet_zoo v1 keys.

transformers' ResNet is torchvision's ResNet v1.5 under other names: the embedder is the 7x7 stem,
``encoder.stages.S.layers.B.layer.I`` the block's convolutions, ``shortcut`` the projection and
``classifier.1`` the linear head. Every key is mapped explicitly; a key the map cannot place is an
error (a checkpoint with ``downsample_in_bottleneck`` or ``downsample_in_first_stage`` set would load
into the wrong network, so configs are checked when a model is given).
"""

import re
from collections.abc import Mapping
from typing import Any

import torch

from ..errors import IncompatibleCheckpointError
from .common import KeysFor, strip_wrappers, verify_state_dict

_NORM = {
    "weight": "weight",
    "bias": "bias",
    "running_mean": "running_mean",
    "running_var": "running_var",
    "num_batches_tracked": "num_batches_tracked",
}
_PATTERNS = [
    (re.compile(r"^resnet\.embedder\.embedder\.convolution\.weight$"), lambda m: "conv1.weight"),
    (re.compile(r"^resnet\.embedder\.embedder\.normalization\.(\w+)$"), lambda m: f"bn1.{_NORM[m[1]]}"),
    (
        re.compile(r"^resnet\.encoder\.stages\.(\d+)\.layers\.(\d+)\.layer\.(\d+)\.convolution\.weight$"),
        lambda m: f"layer{int(m[1]) + 1}.{m[2]}.conv{int(m[3]) + 1}.weight",
    ),
    (
        re.compile(r"^resnet\.encoder\.stages\.(\d+)\.layers\.(\d+)\.layer\.(\d+)\.normalization\.(\w+)$"),
        lambda m: f"layer{int(m[1]) + 1}.{m[2]}.bn{int(m[3]) + 1}.{_NORM[m[4]]}",
    ),
    (
        re.compile(r"^resnet\.encoder\.stages\.(\d+)\.layers\.(\d+)\.shortcut\.convolution\.weight$"),
        lambda m: f"layer{int(m[1]) + 1}.{m[2]}.downsample.0.weight",
    ),
    (
        re.compile(r"^resnet\.encoder\.stages\.(\d+)\.layers\.(\d+)\.shortcut\.normalization\.(\w+)$"),
        lambda m: f"layer{int(m[1]) + 1}.{m[2]}.downsample.1.{_NORM[m[3]]}",
    ),
    (re.compile(r"^classifier\.1\.(weight|bias)$"), lambda m: f"fc.{m[1]}"),
]


def map_key(key: str) -> str | None:
    for pattern, target in _PATTERNS:
        match = pattern.match(key)
        if match:
            return target(match)
    return None


def from_transformers(source: Any, keys_for: KeysFor) -> dict[str, torch.Tensor]:
    """A ``ResNetForImageClassification`` (or its state_dict) as a resnet_zoo v1 state_dict."""
    if hasattr(source, "state_dict") and hasattr(source, "config"):
        config = source.config
        if getattr(config, "downsample_in_bottleneck", False) or getattr(config, "downsample_in_first_stage", False):
            raise IncompatibleCheckpointError(
                f"this transformers ResNet puts its stride elsewhere (downsample_in_bottleneck="
                f"{config.downsample_in_bottleneck}, downsample_in_first_stage={config.downsample_in_first_stage}); "
                f"{keys_for(3, 3).arch!r} strides the 3x3 conv of each stage's first block"
            )
        source = source.state_dict()
    state_dict: Mapping[str, Any] = strip_wrappers(source)
    out, unmapped = {}, []
    for key, value in state_dict.items():
        target = map_key(key)
        if target is None:
            unmapped.append(key)
        else:
            out[target] = value
    if unmapped:
        raise IncompatibleCheckpointError(
            f"transformers checkpoint has keys no ResNet layer takes: {', '.join(sorted(unmapped)[:8])}"
            f"{' ...' if len(unmapped) > 8 else ''}; expected a ResNetForImageClassification state_dict"
        )
    verify_state_dict(out, keys_for, source="transformers")
    return out
