"""Tensors -> model: read a weight file (safetensors memory-mapped, a ``.pth`` weights-only), check
its contents, convert it to our keys, and assign it to a model built on ``meta``, adapting stem and head.

What an architecture holds comes in as ``keys_for`` (from ``resnet_zoo.zoo.arch_keys``); this
module builds no model.
"""

import logging
import math
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file

from ..convert import KeysFor, convert_checkpoint, head_and_stem, strip_wrappers, verify_state_dict
from ..errors import IncompatibleCheckpointError, InvalidArgumentError, WeightsNotAvailableError
from ..naming import split_name
from .fetch import fetch_weights, local_manifest, weight_entry
from .manifest import Weights, get_weights

logger = logging.getLogger(__name__)


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """Tensors of a weight file: safetensors memory-mapped; a .pth only without pickle code."""
    if path.suffix == ".safetensors" or _is_safetensors(path):
        try:
            return load_file(str(path))
        except (SafetensorError, OSError, ValueError) as e:
            raise IncompatibleCheckpointError(f"{path} is not a readable safetensors file: {e}") from None
    try:
        return torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception as e:  # pickle refusing a global, a truncated zip, ...
        raise IncompatibleCheckpointError(
            f"{path} could not be read as a weights-only checkpoint ({type(e).__name__}: {e}); resnet_zoo "
            "never unpickles code: convert the file to safetensors in a trusted environment"
        ) from None


def _is_safetensors(path: Path) -> bool:
    with open(path, "rb") as f:
        head = f.read(9)
    return len(head) == 9 and head[8:9] == b"{"


SUPPORTED_DTYPES = (torch.float32, torch.float16, torch.bfloat16, torch.float64)


def check_tensors(state_dict: dict[str, torch.Tensor], source: str) -> None:
    """Refuse dtypes a ResNet cannot hold and weights that are not finite (NaN/Inf)."""
    bad_dtype = [
        f"{k} ({v.dtype})"
        for k, v in state_dict.items()
        if v.dtype not in SUPPORTED_DTYPES and not (k.endswith("num_batches_tracked") and v.dtype == torch.int64)
    ]
    if bad_dtype:
        raise IncompatibleCheckpointError(
            f"{source}: unsupported dtype in {', '.join(bad_dtype[:5])}; ResNet weights are float32, float16 or "
            "bfloat16 (quantised checkpoints are not supported: dequantise them first)"
        )
    not_finite = [k for k, v in state_dict.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if not_finite:
        raise IncompatibleCheckpointError(
            f"{source}: NaN or Inf values in {', '.join(not_finite[:5])}"
            f"{f' and {len(not_finite) - 5} more' if len(not_finite) > 5 else ''}; the checkpoint is corrupt or "
            "diverged: use another file"
        )


def adapt_input_conv(in_chans: int, weight: torch.Tensor) -> torch.Tensor:
    """The stem conv for ``in_chans`` inputs, as timm's ``adapt_input_conv``: sum the RGB filters
    for one channel; otherwise repeat them and scale by 3 / in_chans."""
    dtype = weight.dtype
    weight = weight.float()
    out_chs, src_chans, kh, kw = weight.shape
    if in_chans == src_chans:
        return weight.to(dtype)
    if in_chans == 1:
        if src_chans > 3:
            weight = weight.reshape(out_chs, src_chans // 3, 3, kh, kw).sum(dim=2)
        else:
            weight = weight.sum(dim=1, keepdim=True)
    elif src_chans != 3:
        raise IncompatibleCheckpointError(
            f"cannot adapt a stem conv of {src_chans} input channels to in_chans={in_chans}; only 3-channel "
            "weights can be repeated to other channel counts"
        )
    else:
        repeat = int(math.ceil(in_chans / 3))
        weight = weight.repeat(1, repeat, 1, 1)[:, :in_chans] * (3 / float(in_chans))
    return weight.to(dtype)


def load_into(
    model: nn.Module, state_dict: dict[str, torch.Tensor], weight_name: str, weight_classes: int
) -> nn.Module:
    """Fill a meta-device ``model`` from ``state_dict`` (assign=True), adapting stem and head.

    ``model`` names its stem convolution and classifier (``first_conv``, ``classifier``), as every
    resnet_zoo model does."""
    stem_key, head_prefix = f"{model.first_conv}.weight", f"{model.classifier}."
    target_chans = dict(model.named_parameters())[stem_key].shape[1]
    if stem_key in state_dict and state_dict[stem_key].shape[1] != target_chans:
        state_dict = dict(state_dict)
        state_dict[stem_key] = adapt_input_conv(target_chans, state_dict[stem_key])
    head_keys = [k for k in state_dict if k.startswith(head_prefix)]
    wanted_classes = getattr(model, "num_classes", weight_classes)
    new_head = wanted_classes != weight_classes
    if new_head:
        state_dict = {k: v for k, v in state_dict.items() if k not in head_keys}
        if wanted_classes:
            warnings.warn(
                f"{weight_name}: the classifier was trained for {weight_classes} classes; a new "
                f"{wanted_classes}-class classifier was initialised, train it before use",
                stacklevel=4,
            )
    if not new_head and assign_exact(model, state_dict):
        return model.eval()
    result = model.load_state_dict(state_dict, strict=not new_head, assign=True)
    if new_head:
        stray = [k for k in result.missing_keys if not k.startswith(head_prefix)]
        if stray or result.unexpected_keys:
            raise IncompatibleCheckpointError(
                f"{weight_name}: missing keys {stray[:8]}, unexpected keys {result.unexpected_keys[:8]}"
            )
        model.reset_classifier(wanted_classes)  # type: ignore[operator]  # every zoo model has it
    leftover = [n for n, t in [*model.named_parameters(), *model.named_buffers()] if t.is_meta]
    if leftover:
        raise IncompatibleCheckpointError(f"{weight_name}: no weights for {leftover[:8]}")
    return model.eval()


def assign_exact(model: nn.Module, state_dict: dict[str, torch.Tensor]) -> bool:
    """``load_state_dict(strict=True, assign=True)`` for a state_dict whose keys are exactly the
    model's, without torch's per-module Python machinery (a third of a resnet50 load). Returns
    False, touching nothing, when the keys differ or a shape does not match."""
    owners: dict[str, tuple[dict[str, Any], str, torch.Tensor | None]] = {}
    for mod_name, module in model.named_modules():
        prefix = f"{mod_name}." if mod_name else ""
        for store in (module._parameters, module._buffers):
            for attr, current in store.items():
                if current is not None and attr not in getattr(module, "_non_persistent_buffers_set", ()):
                    owners[prefix + attr] = (store, attr, current)
    if owners.keys() != state_dict.keys() or any(
        tuple(owners[k][2].shape) != tuple(v.shape)  # type: ignore[union-attr]  # None entries are skipped above
        for k, v in state_dict.items()
    ):
        return False
    for key, tensor in state_dict.items():
        store, attr, current = owners[key]
        store[attr] = (
            nn.Parameter(tensor, requires_grad=current.requires_grad) if isinstance(current, nn.Parameter) else tensor
        )
    return True


def is_path(value: str) -> bool:
    """Does a ``pretrained=`` string name a file rather than a tag?"""
    return value.endswith((".safetensors", ".pth", ".pt", ".bin")) or os.sep in value or os.path.exists(value)


def resolve_weight_name(name: str, pretrained: bool | str, manifest: str | None = None) -> str:
    """The manifest name that ``create_model(name, pretrained=...)`` asks for."""
    arch, tag = split_name(name)
    if isinstance(pretrained, str):
        if tag and pretrained != tag:
            raise InvalidArgumentError(
                f"{name!r} names the tag {tag!r} but pretrained={pretrained!r} names another; give one of them"
            )
        return pretrained if "." in pretrained else f"{arch}.{pretrained}"  # a full name, or a tag
    return name if tag else get_weights(arch, manifest=manifest).name


@dataclass
class LoadedWeights:
    state_dict: dict[str, torch.Tensor]  # in our layout, keys and shapes checked
    name: str  # the weight name (arch.tag) or the file path
    num_classes: int  # of the weight's classifier
    in_chans: int  # of the weight's stem
    weight: Weights | None  # the manifest entry, None for a file of the user's


def weights_from_file(path: Path, keys_for: KeysFor) -> LoadedWeights:
    """``pretrained="path"``: a safetensors (or weights-only .pth) file, checked against the arch."""
    if not path.is_file():
        raise WeightsNotAvailableError(
            f"pretrained={str(path)!r}: no such file; give the path to a .safetensors file, a weight tag, or True"
        )
    state_dict = strip_wrappers(read_state_dict(path))
    check_tensors(state_dict, str(path))
    check_file_arch(path, keys_for(3, 3).arch)
    keys = verify_state_dict(state_dict, keys_for, source=str(path))
    classes, in_chans = head_and_stem(state_dict, keys)
    return LoadedWeights(state_dict, str(path), classes, in_chans, None)


def weights_from_manifest(
    name: str, pretrained: bool | str, keys_for: KeysFor, hub_dir: Path | None, verify: bool
) -> LoadedWeights:
    """A manifest weight: fetched along the source order, verified, converted to our layout."""
    arch = keys_for(3, 3).arch
    weight = weight_entry(resolve_weight_name(name, pretrained, local_manifest(hub_dir)), hub_dir)
    if weight.arch != arch:
        raise InvalidArgumentError(f"weights {weight.name!r} are for {weight.arch!r}, not {arch!r}")
    found = fetch_weights(weight, hub_dir, verify=verify)
    logger.info("%s: loading from %s (%s)", weight.name, found.source, found.path)
    if found.format == "keras":  # an .h5 file: the converter reads it itself (h5py, no TensorFlow)
        state_dict = convert_checkpoint("keras", found.path, keys_for)
    else:
        state_dict = read_state_dict(found.path)
        if found.fresh:  # known-good files (hash recorded at verification) skip the full scan
            check_tensors(state_dict, found.source)
        state_dict = convert_checkpoint(found.format, state_dict, keys_for)
    return LoadedWeights(state_dict, weight.name, weight.num_classes, weight.preprocessing.input_size[0], weight)


def check_file_arch(path: Path, arch: str) -> None:
    """A safetensors file written by ``resnet-zoo convert`` names its arch; refuse another arch."""
    if path.suffix != ".safetensors":
        return
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
    except Exception:
        return  # unreadable files are reported by read_state_dict
    if meta.get("arch") and meta["arch"] != arch:
        raise IncompatibleCheckpointError(
            f"{path} holds weights for {meta['arch']!r} (tag {meta.get('tag', '?')}), not {arch!r}; "
            f"use create_model({meta['arch']!r}, pretrained={str(path)!r})"
        )
