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

from ..convert import KeysFor, convert_checkpoint, head_and_stem, strip_wrappers, verify_state_dict
from ..errors import (
    IncompatibleCheckpointError,
    InvalidArgumentError,
    SyntheticWeightsWarning,
    WeightsNotAvailableError,
)
from ..naming import split_name
from .cache import checked_stamp, quarantine, record_checked, stamp
from .content import as_float32, check_tensors, read_safetensors
from .fetch import WeightFile, fetch_weights, local_manifest, record_pin, weight_entry
from .manifest import Weights, get_weights
from .records import synthetic_warning

logger = logging.getLogger(__name__)


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """Tensors of a weight file: safetensors copied into memory; a .pth only without pickle code."""
    return read_weight_file(path)[0]


def read_weight_file(path: Path, expect: tuple[int, ...] = ()) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """(tensors, safetensors metadata) of a weight file, read into memory that the tensors own."""
    if path.suffix == ".safetensors" or _is_safetensors(path):
        return read_safetensors(path, expect)
    try:
        return torch.load(path, map_location="cpu", weights_only=True, mmap=False), {}
    except Exception as e:  # pickle refusing a global, a truncated zip, ...
        raise IncompatibleCheckpointError(
            f"{path} could not be read as a weights-only checkpoint ({type(e).__name__}: {e}); resnet_zoo "
            "never unpickles code: convert the file to safetensors in a trusted environment"
        ) from None


def _is_safetensors(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            head = f.read(9)
    except OSError as e:
        raise IncompatibleCheckpointError(f"{path} cannot be read: {e}") from None
    return len(head) == 9 and head[8:9] == b"{"


def warn_if_synthetic(name: str, synthetic: bool, metadata: dict[str, str]) -> None:
    """Loading a synthetic weight says so, once per weight and place (``warnings``' own registry)."""
    marked = metadata.get("synthetic") == "true" or metadata.get("source", "").startswith("synthetic")
    if synthetic or marked:
        warnings.warn(synthetic_warning(name), SyntheticWeightsWarning, stacklevel=6)


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


FILE_SUFFIXES = (".safetensors", ".pth", ".bin")


def is_path(value: object) -> bool:
    """Does ``pretrained=`` name a file rather than a tag? Only a ``Path`` (any ``os.PathLike``), a
    string with a path separator, or one ending in .safetensors/.pth/.bin: a bare word is a tag,
    whatever files the working directory holds."""
    if isinstance(value, os.PathLike):
        return True
    if not isinstance(value, str):
        return False
    separators = {"/", os.sep, *([os.altsep] if os.altsep else [])}
    return value.endswith(FILE_SUFFIXES) or any(sep in value for sep in separators)


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
    dtype: str = "float32"  # the file's floating dtype (float16/bfloat16 files are cast to float32)


def weights_from_file(path: Path, keys_for: KeysFor) -> LoadedWeights:
    """``pretrained="path"``: a safetensors (or weights-only .pth) file, checked against the arch."""
    if not path.is_file():
        raise WeightsNotAvailableError(
            f"pretrained={str(path)!r}: no such file; give the path to a .safetensors file, a weight tag, or True"
        )
    st = stamp(path.stat())
    known_good = checked_stamp(path, st)  # passed the value checks before, unchanged since: skip the scan
    raw, metadata = read_weight_file(path, known_good or ())
    state_dict = strip_wrappers(raw)
    dtype = check_tensors(state_dict, str(path), scan=known_good is None)
    check_file_arch(path, keys_for(3, 3).arch, metadata)
    warn_if_synthetic(metadata.get("tag", str(path)), False, metadata)
    state_dict = as_float32(state_dict)
    keys = verify_state_dict(state_dict, keys_for, source=str(path))
    classes, in_chans = head_and_stem(state_dict, keys)
    if known_good is None:  # recorded only for a file that passed every check: a refused file leaves no trace
        record_checked(path, st)
    return LoadedWeights(state_dict, str(path), classes, in_chans, None, _dtype_name(dtype))


def weights_from_manifest(
    name: str, pretrained: bool | str, keys_for: KeysFor, hub_dir: Path | None, verify: bool
) -> LoadedWeights:
    """A manifest weight: fetched along the source order, verified, checked, converted to our layout."""
    arch = keys_for(3, 3).arch
    weight = weight_entry(resolve_weight_name(name, pretrained, local_manifest(hub_dir)), hub_dir)
    if weight.arch != arch:
        raise InvalidArgumentError(f"weights {weight.name!r} are for {weight.arch!r}, not {arch!r}")
    found = fetch_weights(weight, hub_dir, verify=verify)
    logger.info("%s: loading from %s (%s)", weight.name, found.source, found.path)
    state_dict, dtype, metadata = read_checked(found, keys_for)
    warn_if_synthetic(weight.name, weight.synthetic, metadata)
    in_chans = weight.preprocessing.input_size[0]
    return LoadedWeights(state_dict, weight.name, weight.num_classes, in_chans, weight, _dtype_name(dtype))


def read_checked(
    found: WeightFile, keys_for: KeysFor
) -> tuple[dict[str, torch.Tensor], torch.dtype | None, dict[str, str]]:
    """A fetched file read, content-checked and converted to our layout; an origin file passing
    for the first time is pinned. A file of our cache that fails is quarantined, never kept."""
    try:
        if found.format == "keras":  # an .h5 file: the converter reads it itself (h5py, no TensorFlow)
            state_dict, metadata = convert_checkpoint("keras", found.path, keys_for), dict[str, str]()
            dtype = check_tensors(state_dict, found.source, scan=found.fresh)
        else:
            state_dict, metadata = read_weight_file(found.path, found.stamp)
            # known-good files (hash recorded at verification) skip the value scan, not the dtype check
            dtype = check_tensors(state_dict, found.source, scan=found.fresh)
            state_dict = convert_checkpoint(found.format, as_float32(state_dict), keys_for)
    except IncompatibleCheckpointError as e:
        moved = quarantine(found.path) if found.fresh else None
        raise IncompatibleCheckpointError(f"{e}{f' (moved to {moved})' if moved else ''}") from None
    record_pin(found)
    return state_dict, dtype, metadata


def _dtype_name(dtype: torch.dtype | None) -> str:
    return str(dtype or torch.float32).removeprefix("torch.")


def check_file_arch(path: Path, arch: str, metadata: dict[str, str]) -> None:
    """A safetensors file written by ``resnet-zoo convert`` names its arch; refuse another arch."""
    if metadata.get("arch") and metadata["arch"] != arch:
        raise IncompatibleCheckpointError(
            f"{path} holds weights for {metadata['arch']!r} (tag {metadata.get('tag', '?')}), not {arch!r}; "
            f"use create_model({metadata['arch']!r}, pretrained={str(path)!r})"
        )
