"""What every ResNet of the zoo offers beyond its layers: timm's model contract (classifier,
``forward_intermediates``, ``prune_intermediate_layers``, ``pretrained_cfg``), ``features_only``
backbones and frozen norm layers. Everything ``forward`` reaches is TorchScript-scriptable."""

import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint

from ..errors import InvalidArgumentError
from ..nn.checks import check_head_args
from ..nn.layers import GlobalPool

Tap = Sequence[Callable[[torch.Tensor], torch.Tensor]]


def run_blocks(
    blocks: Sequence[Callable[[torch.Tensor], torch.Tensor]], x: torch.Tensor, grad_checkpointing: bool
) -> torch.Tensor:
    """Run blocks in order, recomputing each block's activations in backward when checkpointing."""
    for block in blocks:
        if grad_checkpointing and torch.is_grad_enabled() and isinstance(block, nn.Module):
            x = checkpoint(block, x, use_reentrant=False)
        else:
            x = block(x)
    return x


class FeatureInfo(list):
    """timm's ``feature_info`` of a backbone: a list of dicts with the accessors detection code uses."""

    def channels(self) -> list[int]:
        return [f["num_chs"] for f in self]

    def reduction(self) -> list[int]:
        return [f["reduction"] for f in self]

    def module_name(self) -> list[str]:
        return [f["module"] for f in self]


def take_indices(indices: int | Sequence[int] | None, n: int) -> list[int]:
    """timm's ``feature_take_indices``: None takes all ``n``, an int the last ``indices``, a sequence
    those (negative from the end); returned in the order given."""
    if indices is None:
        return list(range(n))
    if isinstance(indices, int):  # timm: an int takes the last n
        if not 0 < indices <= n:
            raise InvalidArgumentError(f"indices={indices} must be in 1..{n} (the last n feature maps)")
        return list(range(n - indices, n))
    out = []
    for i in indices:
        j = i + n if isinstance(i, int) and i < 0 else i
        if not isinstance(j, int) or not 0 <= j < n:
            raise InvalidArgumentError(
                f"out_indices={tuple(indices)} has {i!r}; this model has {n} feature "
                f"maps, indices 0..{n - 1} (0 is the stem, then one per stage)"
            )
        out.append(j)
    return out


IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def arch_pretrained_cfg(model: "ResNetBase", architecture: str, input_size: tuple[int, int, int]) -> dict[str, Any]:
    """timm's pretrained_cfg of an architecture without weights: timm's ResNet defaults (bilinear,
    crop 0.875, ImageNet mean/std) at ``input_size``, with the model's classes, stem and classifier."""
    reduction = model.feature_info[-1]["reduction"] if model.feature_info else 32
    chans = input_size[0]
    return {
        "url": "",
        "hf_hub_id": "",
        "architecture": architecture,
        "tag": "",
        "custom_load": False,
        "input_size": tuple(input_size),
        "test_input_size": None,
        "fixed_input_size": False,
        "interpolation": "bilinear",
        "crop_pct": 0.875,
        "test_crop_pct": None,
        "crop_mode": "center",
        "mean": IMAGENET_MEAN if chans == 3 else (0.5,) * chans,
        "std": IMAGENET_STD if chans == 3 else (0.5,) * chans,
        "num_classes": model.num_classes,
        "pool_size": (max(1, input_size[1] // reduction), max(1, input_size[2] // reduction)),
        "first_conv": model.first_conv,
        "classifier": model.classifier,
        "label_names": None,
    }


class ResNetBase(nn.Module):
    """Shared by :class:`~resnet_zoo.models.resnet.ResNet` and :class:`~resnet_zoo.models.resnetv2.ResNetV2`.

    Subclasses provide ``_trunk`` (the scriptable stem-and-stages pass), ``feature_taps()`` (the
    same computation as a list of callables: stem, then one entry per stage, for gradient
    checkpointing), ``_make_head``, ``stage_names``, ``feature_info`` and ``num_taps``.
    """

    __jit_unused_properties__ = ["default_cfg"]  # noqa: RUF012  # properties TorchScript skips

    num_classes: int
    num_features: int
    num_taps: int  # feature maps the trunk offers: the stem, then one per stage
    drop_rate: float
    grad_checkpointing: bool
    stage_names: list[str]
    feature_info: list[dict[str, Any]]
    frozen_norms: tuple[str, ...] = ()
    first_conv: str  # the stem convolution's module name (timm's pretrained_cfg["first_conv"])
    classifier: str  # the classifier's module name (timm's pretrained_cfg["classifier"])
    if TYPE_CHECKING:  # not class annotations at runtime: TorchScript would try to type these records
        pretrained_cfg: dict[str, Any]  # timm's keys; set by the registry and the factory
        weights: Any  # the richer record of loaded weights (resnet_zoo.Weights), None for random init

    @property
    def default_cfg(self) -> dict[str, Any]:
        """timm's older name of :attr:`pretrained_cfg`."""
        return self.pretrained_cfg

    @default_cfg.setter
    def default_cfg(self, value: dict[str, Any]) -> None:
        self.pretrained_cfg = value

    # -- classifier ------------------------------------------------------------------------------
    def _make_head(self, num_classes: int, global_pool: str) -> None:
        if num_classes and not global_pool:
            raise InvalidArgumentError(
                f"global_pool='' leaves the features unpooled, which a {num_classes}-class linear classifier "
                "cannot take; use num_classes=0 with global_pool='' (forward_head then returns the unpooled "
                "map), or a pooling such as 'avg'"
            )
        self.num_classes = num_classes
        self.global_pool = GlobalPool(global_pool)
        self.head_hidden_size = self.num_features * self.global_pool.feat_mult()
        self.fc = nn.Linear(self.head_hidden_size, num_classes) if num_classes else nn.Identity()

    def get_classifier(self) -> nn.Module:
        return self.fc

    def reset_classifier(self, num_classes: int, global_pool: str | None = None) -> None:
        """Replace the classifier with a freshly initialised one (``num_classes=0`` removes it;
        ``global_pool=''`` leaves the features unpooled, as timm)."""
        global_pool = self.global_pool.pool_type if global_pool is None else global_pool
        check_head_args(num_classes, global_pool)
        device = next(self.parameters()).device
        self._make_head(num_classes, global_pool)
        self.get_classifier().to(device)
        if hasattr(self, "pretrained_cfg"):
            self.pretrained_cfg = {**self.pretrained_cfg, "num_classes": num_classes}

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        x = self.global_pool(x)
        if self.drop_rate:
            x = F.dropout(x, p=self.drop_rate, training=self.training)
        return x if pre_logits else self.fc(x)

    def set_grad_checkpointing(self, enable: bool = True) -> None:
        """Trade compute for memory: recompute each block's activations during backward."""
        self.grad_checkpointing = enable

    def params_are_meta(self) -> bool:
        return next(self.parameters()).is_meta

    # -- the trunk ----------------------------------------------------------------------------
    def _trunk(self, x: torch.Tensor, take: list[int], last: int) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Stem and stages up to feature index ``last``; returns the output and the maps at ``take``."""
        raise NotImplementedError

    def final_norm(self, x: torch.Tensor) -> torch.Tensor:
        """What follows the last stage before the head (v2: BN-ReLU); nothing for v1."""
        return x

    def forward_trunk(self, x: torch.Tensor, take: list[int], last: int) -> tuple[torch.Tensor, list[torch.Tensor]]:
        if self.grad_checkpointing and not torch.jit.is_scripting():
            return self._trunk_taps(x, take, last)
        return self._trunk(x, take, last)

    def _trunk_taps(self, x: torch.Tensor, take: list[int], last: int) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """The trunk through ``feature_taps()``, each block checkpointed (Python only)."""
        out = []
        for i, tap in enumerate(self.feature_taps()[: last + 1]):
            x = run_blocks(tap, x, self.grad_checkpointing and i > 0)  # the stem is never checkpointed
            if i in take:
                out.append(x)
        return x, out

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        take: list[int] = []
        x, _ = self.forward_trunk(x, take, self.num_taps - 1)
        return self.final_norm(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))

    # -- features -------------------------------------------------------------------------------
    def feature_taps(self) -> list[Tap]:
        raise NotImplementedError

    def group_modules(self, group: str) -> list[nn.Module]:
        """The modules of one freezable group (see :meth:`group_names`)."""
        raise NotImplementedError

    def group_names(self) -> list[str]:
        """Freezable groups, input to output: "stem", the stages, then "head"."""
        return ["stem", *self.stage_names, "head"]

    def forward_intermediates(
        self,
        x: torch.Tensor,
        indices: int | Sequence[int] | None = None,
        norm: bool = False,
        stop_early: bool = False,
        output_fmt: str = "NCHW",
        intermediates_only: bool = False,
    ) -> list[torch.Tensor] | tuple[torch.Tensor, list[torch.Tensor]]:
        """timm's: the feature maps at ``indices`` (0: the stem, then one per stage; an int takes the
        last n), with the final features unless ``intermediates_only``. ``norm`` applies the final
        norm (v2) to the last stage's map; ``stop_early`` stops after the last index taken."""
        if output_fmt != "NCHW":
            raise InvalidArgumentError(f"output_fmt={output_fmt!r}: ResNet feature maps are 'NCHW' only")
        take = take_indices(indices, self.num_taps)
        end = self.num_taps - 1
        x, out = self.forward_trunk(x, take, max(take) if stop_early or intermediates_only else end)
        if norm and end in take:
            out[-1] = self.final_norm(out[-1])
        if intermediates_only:
            return out
        return (self.final_norm(x) if max(take) == end or not stop_early else x), out

    def prune_intermediate_layers(
        self, indices: int | Sequence[int] = 1, prune_norm: bool = False, prune_head: bool = True
    ) -> list[int]:
        """timm's: drop every stage past the last of ``indices`` (and the final norm with
        ``prune_norm``, the classifier with ``prune_head``); returns the indices kept."""
        take = take_indices(indices, self.num_taps)
        max_index = max(take)
        prune_end = max_index < self.num_taps - 1
        for name in self.stage_names[max_index:]:  # stage i is feature index i + 1
            parent, _, child = name.rpartition(".")
            setattr(self.get_submodule(parent) if parent else self, child, self.empty_stage())
        if max_index == 0:
            self.prune_stem_pool()
        if prune_norm or prune_end:
            self.prune_trunk_end()
        if prune_end:
            self.num_features = self.head_hidden_size = self.feature_info[max_index]["num_chs"]
        if prune_head or prune_end:
            self.reset_classifier(0, "")
        return take

    def as_backbone(self, out_indices: Sequence[int] | None = None) -> "ResNetBase":
        """Turn this model into a ``features_only`` backbone: ``forward`` returns the feature maps
        at ``out_indices``; the head and every stage past the last index are removed, so nothing
        unused is left for DDP to complain about."""
        take = sorted(set(take_indices(out_indices, self.num_taps)))
        self.prune_intermediate_layers(take, prune_norm=True, prune_head=True)
        self.feature_indices = take
        self.feature_info = FeatureInfo(self.feature_info[i] for i in take)
        self.__class__ = backbone_class(type(self))
        return self

    def empty_stage(self) -> nn.Module:
        return nn.Sequential()

    def prune_stem_pool(self) -> None:
        """Drop the stem's pooling (taken only after the stem feature)."""

    def prune_trunk_end(self) -> None:
        """Drop modules used only after the last stage (v2: the final norm)."""

    # -- frozen norms stay in eval mode ----------------------------------------------------------
    def train(self, mode: bool = True) -> "ResNetBase":
        super().train(mode)
        for name in self.frozen_norms:
            self.get_submodule(name).eval()
        return self


class BackboneMixin:
    """``forward`` of a ``features_only`` model: the list of feature maps at ``feature_indices``
    (mixed in before the model's class, so its own trunk runs)."""

    feature_indices: list[int]

    if TYPE_CHECKING:  # provided by the ResNetBase subclass it is mixed into

        def forward_trunk(
            self, x: torch.Tensor, take: list[int], last: int
        ) -> tuple[torch.Tensor, list[torch.Tensor]]: ...

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        return self.forward_trunk(x, self.feature_indices, self.feature_indices[-1])[1]


_BACKBONE_CLASSES: dict[type, type] = {}


def backbone_class(cls: type[ResNetBase]) -> type[ResNetBase]:
    """``cls`` with :class:`BackboneMixin`'s forward, one class per model class (so a scripted
    backbone has a single return type); registered in ``cls``'s module so that pickle finds it."""

    if cls not in _BACKBONE_CLASSES:
        name = f"{cls.__name__}Features"
        features = type(name, (BackboneMixin, cls), {"__module__": cls.__module__, "__qualname__": name})
        setattr(sys.modules[cls.__module__], name, features)
        _BACKBONE_CLASSES[cls] = features
    return _BACKBONE_CLASSES[cls]
