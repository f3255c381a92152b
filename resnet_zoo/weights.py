"""Tag -> state_dict -> model: resolve the source, fetch, verify, convert, adapt, load.

Source order for a manifest weight:
  1. a local hub directory (``hub_dir=`` or ``$RESNET_ZOO_HUB_DIR``), read directly;
  2. our published Hub repo at its pinned revision, sha256 checked;
  3. the origin's Hub repo (``timm/arch.tag``, ``model.safetensors``), converted on the fly;
  4. the origin URL (a ``.pth``, read with ``torch.load(weights_only=True)``, hash prefix checked);
  5. a clear error naming the tag, the cache and the command that pre-fetches it.
The model is built on the ``meta`` device and filled with ``assign=True`` from the memory-mapped
file, so no random initialisation is spent on tensors the weights overwrite.
"""

from __future__ import annotations

import logging
import math
import os
import warnings
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn

from .errors import IncompatibleCheckpointError, InvalidArgumentError, WeightsNotAvailableError
from .layers import meta_device
from .manifest import WeightSpec, get_weights

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class WeightFile:
    path: Path
    format: str          # key layout: "resnet_zoo" (converted) or the origin's ("timm", "torchvision")
    source: str          # where it came from, for logs and errors
    fresh: bool = True   # not yet known good: hashed just now, or with no pinned hash at all


def _local_manifest(hub_dir: Path | None) -> str | None:
    if hub_dir is None:
        return None
    candidate = hub_dir / "weights_manifest.json"
    return str(candidate) if candidate.exists() else None


def weight_spec(name: str, hub_dir: Path | None) -> WeightSpec:
    """The manifest entry of ``name``; a local hub directory's own manifest pins what it holds."""
    return get_weights(name, manifest=_local_manifest(hub_dir))


def fetch_weights(spec: WeightSpec, hub_dir: Path | None = None, verify: bool = False) -> WeightFile:
    """Find the bytes of ``spec`` along the source order, verifying what has a pinned hash."""
    from . import hub

    tried: list[str] = []
    if spec.source == "bundled":
        path = Path(str(resources.files("resnet_zoo") / spec.bundled_file))
        fresh = hub.verify_file(path, spec.bundled_sha256, spec.name, force=verify)
        return WeightFile(path, "resnet_zoo", "bundled", fresh)
    location = spec.hub
    if hub_dir is not None and location.published:
        path = hub.LocalHub(hub_dir).resolve(location.repo_id, location.filename, location.revision,
                                             sha256=location.sha256)
        tried.append(f"local hub {hub_dir}/models/{location.repo_id}@{location.revision[:12]}")
        if path is not None:
            fresh = hub.verify_file(path, location.sha256, spec.name, force=verify)
            return WeightFile(path, "resnet_zoo", f"local hub {hub_dir}", fresh)
    if location.published:
        tried.append(f"hub {location.repo_id}@{location.revision[:12]}")
        path = hub.hf_download(location.repo_id, location.filename, location.revision, spec.name)
        if path is not None:
            fresh = hub.verify_file(path, location.sha256, spec.name, force=verify)
            return WeightFile(path, "resnet_zoo", f"hub {location.repo_id}", fresh)
    origin = spec.origin
    if origin.hf_hub_id:
        tried.append(f"origin hub {origin.hf_hub_id}/{origin.hf_hub_filename}")
        path = hub.hf_download(origin.hf_hub_id, origin.hf_hub_filename or "model.safetensors", None, spec.name)
        if path is not None:
            return WeightFile(path, origin.format, f"origin hub {origin.hf_hub_id}", fresh=True)
    if origin.url:
        tried.append(f"origin url {origin.url}")
        path = hub.url_download(origin.url, spec.name, origin.url_hash_prefix, md5=origin.url_md5)
        if path is not None:
            return WeightFile(path, origin.url_format, f"origin url {origin.url}")
    offline = " (offline: HF_HUB_OFFLINE is set)" if hub.is_offline() else ""
    raise WeightsNotAvailableError(
        f"weights {spec.name!r} are not available{offline}; tried: {'; '.join(tried) or 'no source listed'}. "
        f"Hub cache: {hub.hub_cache_dir()}. Pre-fetch them while online with 'resnet-zoo download {spec.name}', "
        f"or point hub_dir= / ${hub.HUB_DIR_ENV} at a local hub directory that has them")


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """Tensors of a weight file: safetensors memory-mapped; a .pth only without pickle code."""
    if path.suffix == ".safetensors" or _is_safetensors(path):
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            return load_file(str(path))
        except (SafetensorError, OSError, ValueError) as e:
            raise IncompatibleCheckpointError(f"{path} is not a readable safetensors file: {e}") from None
    try:
        return torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception as e:  # pickle refusing a global, a truncated zip, ...
        raise IncompatibleCheckpointError(
            f"{path} could not be read as a weights-only checkpoint ({type(e).__name__}: {e}); resnet_zoo "
            "never unpickles code: convert the file to safetensors in a trusted environment") from None


def _is_safetensors(path: Path) -> bool:
    with open(path, "rb") as f:
        head = f.read(9)
    return len(head) == 9 and head[8:9] == b"{"


SUPPORTED_DTYPES = (torch.float32, torch.float16, torch.bfloat16, torch.float64)


def check_tensors(state_dict: dict[str, torch.Tensor], source: str) -> None:
    """Refuse dtypes a ResNet cannot hold and weights that are not finite (NaN/Inf)."""
    bad_dtype = [f"{k} ({v.dtype})" for k, v in state_dict.items()
                 if v.dtype not in SUPPORTED_DTYPES and not (k.endswith("num_batches_tracked") and v.dtype == torch.int64)]
    if bad_dtype:
        raise IncompatibleCheckpointError(
            f"{source}: unsupported dtype in {', '.join(bad_dtype[:5])}; ResNet weights are float32, float16 or "
            "bfloat16 (quantised checkpoints are not supported: dequantise them first)")
    not_finite = [k for k, v in state_dict.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if not_finite:
        raise IncompatibleCheckpointError(
            f"{source}: NaN or Inf values in {', '.join(not_finite[:5])}"
            f"{f' and {len(not_finite) - 5} more' if len(not_finite) > 5 else ''}; the checkpoint is corrupt or "
            "diverged: use another file")


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
            "weights can be repeated to other channel counts")
    else:
        repeat = int(math.ceil(in_chans / 3))
        weight = weight.repeat(1, repeat, 1, 1)[:, :in_chans] * (3 / float(in_chans))
    return weight.to(dtype)


def _first_conv_key(model: nn.Module) -> str:
    for name, module in model.named_modules():
        if isinstance(module, nn.Conv2d):
            return f"{name}.weight"
    raise IncompatibleCheckpointError("model has no convolution")  # pragma: no cover


def _classifier_keys(state_dict: dict[str, torch.Tensor]) -> list[str]:
    return [k for k in state_dict if k.split(".")[0] == "fc" or k.startswith("head.fc.")]


def load_into(model: nn.Module, state_dict: dict[str, torch.Tensor], weight_name: str,
              weight_classes: int) -> nn.Module:
    """Fill a meta-device ``model`` from ``state_dict`` (assign=True), adapting stem and head."""
    stem_key = _first_conv_key(model)
    target_chans = dict(model.named_parameters())[stem_key].shape[1]
    if stem_key in state_dict and state_dict[stem_key].shape[1] != target_chans:
        state_dict = dict(state_dict)
        state_dict[stem_key] = adapt_input_conv(target_chans, state_dict[stem_key])
    head_keys = _classifier_keys(state_dict)
    wanted_classes = getattr(model, "num_classes", weight_classes)
    new_head = wanted_classes != weight_classes
    if new_head:
        state_dict = {k: v for k, v in state_dict.items() if k not in head_keys}
        if wanted_classes:
            warnings.warn(f"{weight_name}: the classifier was trained for {weight_classes} classes; a new "
                          f"{wanted_classes}-class classifier was initialised, train it before use",
                          stacklevel=4)
    if not new_head and assign_exact(model, state_dict):
        return model.eval()
    result = model.load_state_dict(state_dict, strict=not new_head, assign=True)
    if new_head:
        stray = [k for k in result.missing_keys if not (k.startswith("fc.") or k.startswith("head.fc."))]
        if stray or result.unexpected_keys:
            raise IncompatibleCheckpointError(
                f"{weight_name}: missing keys {stray[:8]}, unexpected keys {result.unexpected_keys[:8]}")
        model.reset_classifier(wanted_classes)
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
    if owners.keys() != state_dict.keys() or any(tuple(owners[k][2].shape) != tuple(v.shape)
                                                 for k, v in state_dict.items()):
        return False
    for key, tensor in state_dict.items():
        store, attr, current = owners[key]
        store[attr] = nn.Parameter(tensor, requires_grad=current.requires_grad) \
            if isinstance(current, nn.Parameter) else tensor
    return True


def _is_path(value: str) -> bool:
    return value.endswith((".safetensors", ".pth", ".pt", ".bin")) or os.sep in value or os.path.exists(value)


def resolve_weight_name(name: str, pretrained: bool | str, manifest: str | None = None) -> str:
    """The manifest name that ``create_model(name, pretrained=...)`` asks for."""
    from .registry import split_name

    arch, tag = split_name(name)
    if isinstance(pretrained, str):
        if tag and pretrained != tag:
            raise InvalidArgumentError(
                f"{name!r} names the tag {tag!r} but pretrained={pretrained!r} names another; give one of them")
        return pretrained if "." in pretrained else f"{arch}.{pretrained}"  # a full name, or a tag
    return name if tag else get_weights(arch, manifest=manifest).name


@dataclass
class LoadedWeights:
    state_dict: dict[str, torch.Tensor]   # in our layout, keys and shapes checked
    name: str                             # the weight name (arch.tag) or the file path
    num_classes: int                      # of the weight's classifier
    defaults: dict[str, Any]              # builder arguments the weight implies
    spec: WeightSpec | None               # the manifest entry, None for a file of the user's


def weights_from_file(path: Path, arch: str) -> LoadedWeights:
    """``pretrained="path"``: a safetensors (or weights-only .pth) file, checked against ``arch``."""
    from .convert import strip_wrappers, verify_state_dict
    from .convert.common import checkpoint_in_chans, classifier_classes

    if not path.is_file():
        raise WeightsNotAvailableError(f"pretrained={str(path)!r}: no such file; give the path to a "
                                       ".safetensors file, a weight tag, or True")
    state_dict = strip_wrappers(read_state_dict(path))
    check_tensors(state_dict, str(path))
    _check_file_arch(path, arch)
    verify_state_dict(state_dict, arch, source=str(path))
    classes = classifier_classes(state_dict)
    return LoadedWeights(state_dict, str(path), classes,
                         {"num_classes": classes, "in_chans": checkpoint_in_chans(state_dict)}, None)


def weights_from_manifest(name: str, pretrained: bool | str, arch: str, hub_dir: Path | None,
                          verify: bool) -> LoadedWeights:
    """A manifest weight: fetched along the source order, verified, converted to our layout."""
    from .convert import CONVERTERS, verify_state_dict

    spec = weight_spec(resolve_weight_name(name, pretrained, _local_manifest(hub_dir)), hub_dir)
    if spec.arch != arch:
        raise InvalidArgumentError(f"weights {spec.name!r} are for {spec.arch!r}, not {arch!r}")
    found = fetch_weights(spec, hub_dir, verify=verify)
    logger.info("%s: loading from %s (%s)", spec.name, found.source, found.path)
    if found.format == "keras":  # an .h5 file: the converter reads it itself (h5py, no TensorFlow)
        state_dict = CONVERTERS["keras"](found.path, spec.arch)
    else:
        state_dict = read_state_dict(found.path)
    if found.fresh:  # known-good files (hash recorded at verification) skip the full scan
        check_tensors(state_dict, found.source)
    if found.format in ("resnet_zoo", "keras"):
        verify_state_dict(state_dict, spec.arch, source=found.source)
    else:
        state_dict = CONVERTERS[found.format](state_dict, spec.arch)
    return LoadedWeights(state_dict, spec.name, spec.num_classes,
                         {"num_classes": spec.num_classes, "in_chans": spec.preprocessing.input_size[0]}, spec)


def load_pretrained_model(name: str, pretrained: bool | str, overrides: dict[str, Any],
                          hub_dir: str | os.PathLike[str] | None = None, verify: bool = False) -> nn.Module:
    """``create_model(name, pretrained=...)``: weights first, then the model built to fit them."""
    from . import hub
    from .registry import build_model, get_spec, model_args

    arch = get_spec(name).name
    if isinstance(pretrained, str) and _is_path(pretrained):
        weights = weights_from_file(Path(pretrained), arch)
    else:
        weights = weights_from_manifest(name, pretrained, arch, hub.hub_dir_from_env(hub_dir), verify)
    args = {**weights.defaults, **{k: v for k, v in overrides.items() if v is not None}}
    model_args(arch, **args)  # validate before building
    with meta_device():
        model = build_model(arch, **args)
    model = load_into(model, weights.state_dict, weights.name, weights.num_classes)
    model.pretrained_cfg = weights.spec  # type: ignore[assignment]
    return model


def _check_file_arch(path: Path, arch: str) -> None:
    """A safetensors file written by ``resnet-zoo convert`` names its arch; refuse another arch."""
    if path.suffix != ".safetensors":
        return
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
    except Exception:
        return  # unreadable files are reported by read_state_dict
    if meta.get("arch") and meta["arch"] != arch:
        raise IncompatibleCheckpointError(
            f"{path} holds weights for {meta['arch']!r} (tag {meta.get('tag', '?')}), not {arch!r}; "
            f"use create_model({meta['arch']!r}, pretrained={str(path)!r})")


@dataclass(frozen=True)
class CacheCheck:
    name: str
    path: Path
    ok: bool
    detail: str


def verify_cache(hub_dir: str | os.PathLike[str] | None = None) -> list[CacheCheck]:
    """Rehash every cached or bundled file that a manifest entry pins; bad files are quarantined."""
    from huggingface_hub import try_to_load_from_cache

    from . import hub
    from .errors import IntegrityError

    local = hub.hub_dir_from_env(hub_dir)
    checks: list[CacheCheck] = []

    def check(spec: WeightSpec, path: Path | None, sha256: str) -> None:
        if path is None or not path.exists():
            return
        try:
            hub.verify_file(path, sha256, spec.name, force=True)
            checks.append(CacheCheck(spec.name, path, True, "sha256 ok"))
        except IntegrityError as e:
            checks.append(CacheCheck(spec.name, path, False, str(e)))

    for spec in get_manifest_specs(local):
        if spec.source == "bundled":
            check(spec, Path(str(resources.files("resnet_zoo") / spec.bundled_file)), spec.bundled_sha256)
        location = spec.hub
        if location.published:
            cached = try_to_load_from_cache(location.repo_id, location.filename, revision=location.revision)
            check(spec, Path(cached) if isinstance(cached, str) else None, location.sha256)
            if local is not None:
                check(spec, hub.LocalHub(local).resolve(location.repo_id, location.filename, location.revision,
                                                        sha256=location.sha256), location.sha256)
        if spec.origin.url and spec.origin.url_hash_prefix:
            cached_url = hub.url_cache_path(spec.origin.url)
            if cached_url.exists():
                ok = hub.sha256_file(cached_url).startswith(spec.origin.url_hash_prefix)
                if not ok:
                    hub.quarantine(cached_url)
                checks.append(CacheCheck(spec.name, cached_url, ok, "hash prefix ok" if ok else
                                         f"does not match {spec.origin.url_hash_prefix}; quarantined"))
    return checks


def get_manifest_specs(local: Path | None) -> list[WeightSpec]:
    from .manifest import load_manifest

    return list(load_manifest(_local_manifest(local)).values())
