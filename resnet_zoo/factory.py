"""``create_model``: the only place where the two roads meet.

A name goes through the registry to a module (built on ``meta`` when weights follow); a tag goes
through the manifest to tensors; they meet here, at ``load_state_dict(assign=True)``.
"""

import os
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any

from .convert import ArchKeys
from .errors import InvalidArgumentError
from .models import ResNetBase
from .nn.meta import meta_device
from .weights.load import LoadedWeights, is_path, load_into, weights_from_file, weights_from_manifest
from .weights.localhub import hub_dir_from_env
from .zoo import arch_keys, build_model, get_spec, model_args


def create_model(
    name: str,
    pretrained: bool | str = False,
    num_classes: int | None = None,
    in_chans: int | None = None,
    hub_dir: str | os.PathLike[str] | None = None,
    features_only: bool = False,
    out_indices: Sequence[int] | None = None,
    verify: bool = False,
    **kwargs: Any,
) -> ResNetBase:
    """Build a registered ResNet by name, optionally with pretrained weights.

    Args:
        name: a registered architecture (``resnet_zoo.list_models()``), or ``"arch.tag"`` to name
            a specific weight.
        pretrained: ``False`` for random init; ``True`` for the arch's default (or the named tag's)
            weights; a tag string (a bare word is always a tag); or a file: a ``Path``, or a string
            with a path separator or a ``.safetensors``/``.pth``/``.bin`` suffix.
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
    if not isinstance(pretrained, (bool, str, os.PathLike)) and pretrained is not None:
        raise InvalidArgumentError(
            f"pretrained={pretrained!r} ({type(pretrained).__name__}) is invalid; use False, True, a weight tag "
            "or a path to a .safetensors file"
        )
    spec = get_spec(name)
    if features_only and num_classes:
        raise InvalidArgumentError(
            f"features_only=True returns feature maps; num_classes={num_classes} has no "
            "classifier to size (leave it out)"
        )
    if out_indices is not None and not features_only:
        raise InvalidArgumentError(
            "out_indices selects feature maps of a features_only=True backbone; pass features_only=True too"
        )
    overrides = dict(kwargs, num_classes=num_classes, in_chans=in_chans)
    if pretrained:
        model = load_pretrained_model(name, pretrained, overrides, hub_dir=hub_dir, verify=verify)
    else:
        model_args(spec.name, **overrides)  # validate names before building
        model = build_model(spec.name, **overrides)
    return model.as_backbone(out_indices) if features_only else model


def keys_of(arch: str) -> "partial[ArchKeys]":
    """``(num_classes, in_chans) -> ArchKeys`` of ``arch``: what the weights road checks against."""
    return partial(arch_keys, get_spec(arch).name)


def read_weights(
    name: str, pretrained: bool | str, hub_dir: str | os.PathLike[str] | None = None, verify: bool = False
) -> LoadedWeights:
    """The tensors ``create_model(name, pretrained=...)`` would load, in our layout and checked."""
    keys_for = keys_of(name)
    if is_path(pretrained):  # a Path, or a str with a separator or a weight-file suffix; a bare word is a tag
        return weights_from_file(Path(pretrained), keys_for)  # type: ignore[arg-type]  # is_path: str or PathLike
    return weights_from_manifest(name, pretrained, keys_for, hub_dir_from_env(hub_dir), verify)


def load_pretrained_model(
    name: str,
    pretrained: bool | str,
    overrides: dict[str, Any],
    hub_dir: str | os.PathLike[str] | None = None,
    verify: bool = False,
) -> ResNetBase:
    """Weights first, then the model built on ``meta`` to fit them, then assigned."""
    arch = get_spec(name).name
    weights = read_weights(name, pretrained, hub_dir, verify)
    implied = {"num_classes": weights.num_classes, "in_chans": weights.in_chans}
    args = {**implied, **{k: v for k, v in overrides.items() if v is not None}}
    model_args(arch, **args)  # validate before building
    with meta_device():
        model = build_model(arch, **args)
    load_into(model, weights.state_dict, weights.name, weights.num_classes)
    model.pretrained_cfg = weights.weight  # type: ignore[assignment]
    return model
