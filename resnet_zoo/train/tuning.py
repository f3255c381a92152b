"""Fine-tuning helpers: freeze and unfreeze by stage, optimiser parameter groups."""

from typing import Any

import torch.nn as nn

from ..errors import InvalidArgumentError
from ..models import ResNetBase

_NORMS = (nn.modules.batchnorm._BatchNorm, nn.GroupNorm, nn.LayerNorm)


def _groups(model: nn.Module) -> list[str]:
    if not isinstance(model, ResNetBase):
        raise InvalidArgumentError(f"expected a resnet_zoo model, got {type(model).__name__}")
    return model.group_names()


def _resolve_group(model: ResNetBase, name: str) -> int:
    groups = model.group_names()
    if name in groups:
        return groups.index(name)
    if name.startswith("layer") and name[5:].isdigit() and f"stages.{int(name[5:]) - 1}" in groups:
        return groups.index(f"stages.{int(name[5:]) - 1}")  # "layer2" also names a v2 net's stages.1
    raise InvalidArgumentError(f"up_to={name!r} is not a group of this model; choose one of {groups[:-1]}")


def freeze(model: nn.Module, up_to: str | None = None) -> nn.Module:
    """Freeze the stem and the stages up to and including ``up_to`` (default: all but the head).

    Frozen parameters get ``requires_grad=False``; norm layers in the frozen part are put in eval
    mode and kept there by ``model.train()``, so their running statistics do not move either.
    """
    groups = _groups(model)
    assert isinstance(model, ResNetBase)
    assert isinstance(model, ResNetBase)
    last = _resolve_group(model, up_to) if up_to is not None else len(groups) - 2
    frozen_norms = []
    for group in groups[: last + 1]:
        for module in model.group_modules(group):
            for p in module.parameters():
                p.requires_grad_(False)
    for name, module in model.named_modules():
        if isinstance(module, _NORMS) and all(not p.requires_grad for p in module.parameters(recurse=False)):
            frozen_norms.append(name)
    model.frozen_norms = tuple(frozen_norms)
    return model.train(model.training)


def unfreeze(model: nn.Module) -> nn.Module:
    """Undo :func:`freeze`: every parameter trainable, norm layers following ``model.train()`` again."""
    _groups(model)
    assert isinstance(model, ResNetBase)
    for p in model.parameters():
        p.requires_grad_(True)
    model.frozen_norms = ()
    return model.train(model.training)


def param_groups(
    model: nn.Module,
    weight_decay: float = 1e-4,
    no_weight_decay_1d: bool = True,
    layer_decay: float | None = None,
    lr: float | None = None,
) -> list[dict[str, Any]]:
    """Optimiser parameter groups: no weight decay on norm weights and biases (1-d tensors), and
    optionally layer-wise LR decay, ``lr_scale = layer_decay ** (distance from the head)``.

    Every trainable parameter lands in exactly one group. With ``lr`` given each group carries its
    own ``"lr"`` (base lr x scale); otherwise ``"lr_scale"`` is left for a scheduler to apply.
    """
    groups = _groups(model)
    assert isinstance(model, ResNetBase)
    if layer_decay is not None and not 0 < layer_decay <= 1:
        raise InvalidArgumentError(f"layer_decay={layer_decay!r} must be in (0, 1]; 0.65-0.9 is typical")
    owner: dict[int, int] = {}
    for depth, group in enumerate(groups):
        for module in model.group_modules(group):
            for p in module.parameters():
                owner.setdefault(id(p), depth)
    out: dict[tuple[int, bool], dict[str, Any]] = {}
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        depth = owner.get(id(p), len(groups) - 1)
        decay = not (no_weight_decay_1d and (p.ndim <= 1 or name.endswith(".bias")))
        key = (depth if layer_decay is not None else 0, decay)
        if key not in out:
            scale = layer_decay ** (len(groups) - 1 - depth) if layer_decay is not None else 1.0
            group_name = groups[depth] if layer_decay is not None else "all"
            out[key] = {
                "name": f"{group_name}/{'decay' if decay else 'no_decay'}",
                "params": [],
                "weight_decay": weight_decay if decay else 0.0,
                "lr_scale": scale,
            }
            if lr is not None:
                out[key]["lr"] = lr * scale
        out[key]["params"].append(p)
    return list(out.values())
