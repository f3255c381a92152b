"""Name -> model: the registry over the spec table, ``create_model``, listing and ``model_info``."""

from __future__ import annotations

import difflib
import fnmatch
import inspect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import torch
import torch.nn as nn

from .errors import InvalidArgumentError, UnknownModelError
from .layers import meta_device
from .resnet import ResNet
from .resnetv2 import ResNetV2
from .specs import SPECS, ResNetSpec

_FAMILY_CLASSES: dict[str, type[nn.Module]] = {"resnet": ResNet, "cifar": ResNet, "resnetv2": ResNetV2}
_REGISTRY: dict[str, ResNetSpec] = {spec.name: spec for spec in SPECS}


def _close_matches(name: str, candidates: Iterable[str], n: int = 5) -> list[str]:
    return difflib.get_close_matches(name, list(candidates), n=n, cutoff=0.5)


def split_name(name: str) -> tuple[str, str | None]:
    """``"resnet50.a1_in1k"`` -> ``("resnet50", "a1_in1k")``; a bare arch gives a ``None`` tag."""
    arch, _, tag = name.partition(".")
    return arch, (tag or None)


def get_spec(name: str) -> ResNetSpec:
    """The spec row of an architecture (a ``arch.tag`` name resolves to its arch)."""
    if not isinstance(name, str):
        raise InvalidArgumentError(f"model name must be a str, got {type(name).__name__} {name!r}")
    arch, _ = split_name(name)
    try:
        return _REGISTRY[arch]
    except KeyError:
        close = _close_matches(arch, _REGISTRY)
        hint = f"; did you mean {', '.join(close)}?" if close else "; see resnet_zoo.list_models()"
        raise UnknownModelError(f"unknown model {arch!r}{hint}") from None


def list_models(filter: str | Iterable[str] = "", exclude: str | Iterable[str] = "") -> list[str]:
    """Registered names matching shell-style wildcards (``"resnet5*"``), minus ``exclude`` matches."""
    include = [filter] if isinstance(filter, str) else list(filter)
    excludes = [exclude] if isinstance(exclude, str) else list(exclude)
    names = [s.name for s in SPECS]
    if any(include):
        names = [n for n in names if any(fnmatch.fnmatchcase(n, p) for p in include if p)]
    return [n for n in names if not any(fnmatch.fnmatchcase(n, p) for p in excludes if p)]


def is_model(name: str) -> bool:
    return isinstance(name, str) and split_name(name)[0] in _REGISTRY


@lru_cache(maxsize=None)
def _accepted_args(cls: type[nn.Module]) -> tuple[str, ...]:
    return tuple(p for p in inspect.signature(cls.__init__).parameters if p != "self")


def model_args(name: str, **overrides: Any) -> dict[str, Any]:
    """The class keyword arguments for ``name`` with user overrides applied and checked by name."""
    spec = get_spec(name)
    cls = _FAMILY_CLASSES[spec.family]
    accepted = _accepted_args(cls)
    unknown = sorted(set(overrides) - set(accepted))
    if unknown:
        raise InvalidArgumentError(
            f"{spec.name} does not take argument(s) {unknown}; accepted: {sorted(accepted)}")
    fixed = {"layers", "channels", "block", "basic", "layout"}
    clash = sorted(k for k in overrides if k in fixed and overrides[k] != spec.args.get(k))
    if clash:
        raise InvalidArgumentError(
            f"{clash} define the architecture {spec.name!r} and cannot be overridden; pick another name "
            "from resnet_zoo.list_models() or build resnet_zoo.ResNet(...) directly")
    return {**spec.args, **{k: v for k, v in overrides.items() if v is not None}}


def build_model(name: str, **overrides: Any) -> nn.Module:
    """Build the architecture ``name`` with random initialisation (no weights involved)."""
    spec = get_spec(name)
    model = _FAMILY_CLASSES[spec.family](**model_args(name, **overrides))
    model.arch_name = spec.name  # type: ignore[assignment]
    return model


def create_model(name: str, pretrained: bool | str = False, num_classes: int | None = None,
                 in_chans: int | None = None, hub_dir: str | None = None, features_only: bool = False,
                 out_indices: Sequence[int] | None = None, verify: bool = False, **kwargs: Any) -> nn.Module:
    """Build a registered ResNet by name, optionally with pretrained weights.

    Args:
        name: a registered architecture (``resnet_zoo.list_models()``), or ``"arch.tag"`` to name
            a specific weight.
        pretrained: ``False`` for random init; ``True`` for the arch's default (or the named tag's)
            weights; a tag string; or a path to a ``.safetensors`` file.
        num_classes: classifier outputs (0 removes the classifier); defaults to the weight's, else
            the spec's. A count other than the weight's gets a new, randomly initialised classifier.
        in_chans: input channels; defaults to 3. Pretrained stems are adapted as timm does.
        hub_dir: a local hub directory to load weights from (default ``$RESNET_ZOO_HUB_DIR``).
        features_only: return a backbone whose forward gives the list of feature maps (stem, then
            one per stage) at ``out_indices`` (default: all); ``.feature_info`` describes them.
        verify: rehash the weight file even when its size and mtime match the last verification.
        **kwargs: architecture overrides such as ``drop_rate``, ``drop_path_rate``,
            ``global_pool``, ``output_stride``, ``shortcut``, ``zero_init_last``.
    """
    if not isinstance(pretrained, (bool, str)) and pretrained is not None:
        raise InvalidArgumentError(
            f"pretrained={pretrained!r} ({type(pretrained).__name__}) is invalid; use False, True, a weight tag "
            "or a path to a .safetensors file")
    spec = get_spec(name)
    if features_only and num_classes:
        raise InvalidArgumentError(f"features_only=True returns feature maps; num_classes={num_classes} has no "
                                   "classifier to size (leave it out)")
    if out_indices is not None and not features_only:
        raise InvalidArgumentError("out_indices selects feature maps of a features_only=True backbone; "
                                   "pass features_only=True too")
    overrides = dict(kwargs, num_classes=num_classes, in_chans=in_chans)
    if pretrained:
        from .weights import load_pretrained_model  # the weights road is only walked when asked for

        model = load_pretrained_model(name, pretrained, overrides, hub_dir=hub_dir, verify=verify)
    else:
        model_args(spec.name, **overrides)  # validate names before building
        model = build_model(spec.name, **overrides)
    return model.as_backbone(out_indices) if features_only else model


@dataclass(frozen=True)
class ModelInfo:
    name: str
    family: str
    summary: str
    paper: str
    params: int
    gmacs: float
    input_size: tuple[int, int, int]
    feature_info: tuple[dict[str, Any], ...]
    timm_name: str | None
    torchvision_name: str | None

    @property
    def gflops(self) -> float:
        """FLOPs as ``torch.utils.flop_counter`` counts them: two per multiply-accumulate."""
        return 2 * self.gmacs


def count_gmacs(model: nn.Module, input_size: tuple[int, int, int]) -> float:
    """Multiply-accumulates (billions) of one forward at ``input_size``, via torch's flop counter."""
    from torch.utils.flop_counter import FlopCounterMode

    device = next(model.parameters()).device
    x = torch.empty((1, *input_size), device=device)
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model.eval()(x)
    return counter.get_total_flops() / 2 / 1e9


@lru_cache(maxsize=None)
def model_info(name: str) -> ModelInfo:
    """Parameter count, GMACs at the default input, feature channels/reductions of ``name``.

    Built on the ``meta`` device, so this costs no memory and no initialisation.
    """
    spec = get_spec(name)
    with meta_device():
        model = build_model(spec.name)
        params = sum(p.numel() for p in model.parameters())
        gmacs = count_gmacs(model, spec.input_size)
    return ModelInfo(spec.name, spec.family, spec.summary, spec.paper, params, gmacs, spec.input_size,
                     tuple(dict(d) for d in model.feature_info), spec.timm_name, spec.torchvision_name)
