"""Origin checkpoint formats -> resnet_zoo state_dicts: one module per format.

Converters are pure key maps over tensors; they know nothing of files or hubs and build no model:
what the architecture holds comes in as an argument (:class:`ArchKeys`, through a ``keys_for``
callable). Each is strict: a key it cannot place, a key the architecture needs but the checkpoint
lacks, or a shape that does not fit raises ``IncompatibleCheckpointError`` listing them.

The converter modules are imported on first use: the Keras one needs numpy, which the runtime
road (torch, safetensors, huggingface_hub, requests) does not have.
"""

from collections.abc import Callable
from importlib import import_module
from typing import Any

import torch

from .common import ArchKeys, KeysFor, head_and_stem, strip_wrappers, verify_state_dict

# format -> (module, function); "resnet_zoo" files have timm's keys
_CONVERTERS = {
    "timm": ("timm", "from_timm"),
    "resnet_zoo": ("timm", "from_timm"),
    "torchvision": ("torchvision", "from_torchvision"),
    "transformers": ("transformers", "from_transformers"),
    "keras": ("keras", "from_keras"),
}
FORMATS = tuple(_CONVERTERS)


def converter(format: str) -> Callable[[Any, KeysFor], dict[str, torch.Tensor]]:
    """The converter of a checkpoint format (``FORMATS``)."""
    if format not in _CONVERTERS:
        raise ValueError(f"unknown checkpoint format {format!r}; known: {list(FORMATS)}")
    module, name = _CONVERTERS[format]
    return getattr(import_module(f"{__name__}.{module}"), name)


def convert_checkpoint(format: str, source: Any, keys_for: KeysFor) -> dict[str, torch.Tensor]:
    """``source`` (a state_dict; for Keras a model or an .h5 path) in resnet_zoo's layout, checked."""
    return converter(format)(source, keys_for)


__all__ = [
    "ArchKeys",
    "KeysFor",
    "FORMATS",
    "converter",
    "convert_checkpoint",
    "head_and_stem",
    "strip_wrappers",
    "verify_state_dict",
]
