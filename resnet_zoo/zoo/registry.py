"""Name -> spec -> model: the registry over the spec table (list, is_model, get_spec, build).

Building here means random initialisation, or the ``meta`` device when weights follow; weights
themselves are the factory's business (``resnet_zoo.factory``).
"""

import difflib
import fnmatch
import inspect
from collections.abc import Iterable
from functools import lru_cache
from types import MappingProxyType
from typing import Any

from ..convert.common import ArchKeys
from ..errors import InvalidArgumentError, UnknownModelError
from ..models import ResNet, ResNetBase, ResNetV2
from ..models.base import arch_pretrained_cfg
from ..naming import split_name
from ..nn.meta import meta_device
from .specs import SPECS, ResNetSpec

_FAMILY_CLASSES: dict[str, type[ResNetBase]] = {"resnet": ResNet, "cifar": ResNet, "resnetv2": ResNetV2}
_REGISTRY: dict[str, ResNetSpec] = {spec.name: spec for spec in SPECS}
# Arguments that define an architecture: a different value is a different name, not an override.
_ARCH_DEFINING = {"layers", "channels", "block", "basic", "convention"}


def close_matches(name: str, candidates: Iterable[str], n: int = 5) -> list[str]:
    return difflib.get_close_matches(name, list(candidates), n=n, cutoff=0.5)


def get_spec(name: str) -> ResNetSpec:
    """The spec row of an architecture (a ``arch.tag`` name resolves to its arch)."""
    if not isinstance(name, str):
        raise InvalidArgumentError(f"model name must be a str, got {type(name).__name__} {name!r}")
    arch, _ = split_name(name)
    try:
        return _REGISTRY[arch]
    except KeyError:
        close = close_matches(arch, _REGISTRY)
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


def model_class(name: str) -> type[ResNetBase]:
    return _FAMILY_CLASSES[get_spec(name).family]


def _accepted_args(cls: type) -> tuple[str, ...]:
    return tuple(inspect.signature(cls).parameters)


def model_args(name: str, **overrides: Any) -> dict[str, Any]:
    """The class keyword arguments for ``name`` with user overrides applied and checked by name."""
    spec = get_spec(name)
    accepted = _accepted_args(model_class(name))
    unknown = sorted(set(overrides) - set(accepted))
    if unknown:
        raise InvalidArgumentError(f"{spec.name} does not take argument(s) {unknown}; accepted: {sorted(accepted)}")
    clash = sorted(k for k in overrides if k in _ARCH_DEFINING and overrides[k] != spec.args.get(k))
    if clash:
        raise InvalidArgumentError(
            f"{clash} define the architecture {spec.name!r} and cannot be overridden; pick another name "
            "from resnet_zoo.list_models() or build resnet_zoo.ResNet(...) directly"
        )
    return {**spec.args, **{k: v for k, v in overrides.items() if v is not None}}


def build_model(name: str, **overrides: Any) -> ResNetBase:
    """Build the architecture ``name`` (random init; inside ``meta_device()``, no init at all)."""
    spec = get_spec(name)
    args = model_args(name, **overrides)
    model = model_class(name)(**args)
    model.arch_name = spec.name  # type: ignore[assignment]  # a plain str attribute, not a submodule
    model.pretrained_cfg = arch_pretrained_cfg(model, spec.name, (args.get("in_chans", 3), *spec.input_size[1:]))
    return model


@lru_cache(maxsize=128)
def arch_keys(name: str, num_classes: int, in_chans: int = 3) -> ArchKeys:
    """:class:`ArchKeys` of ``name`` for a head of ``num_classes`` and a stem of ``in_chans``,
    from a model built once on the meta device (cached)."""
    with meta_device():
        model = build_model(name, num_classes=num_classes, in_chans=in_chans)
    shapes = MappingProxyType({k: tuple(v.shape) for k, v in model.state_dict().items()})
    spec = get_spec(name)
    elsewhere = {lib: n for lib, n in (("timm", spec.timm_name), ("torchvision", spec.torchvision_name)) if n}
    return ArchKeys(spec.name, shapes, model.first_conv, model.classifier, MappingProxyType(elsewhere))
