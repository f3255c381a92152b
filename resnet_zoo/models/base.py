"""What every ResNet of the zoo offers beyond its layers: timm's classifier contract, stage-wise
feature taps (``forward_intermediates``, ``features_only`` backbones) and frozen norm layers."""

from collections.abc import Callable, Sequence
from typing import Any

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


class ResNetBase(nn.Module):
    """Shared by :class:`~resnet_zoo.models.resnet.ResNet` and :class:`~resnet_zoo.models.resnetv2.ResNetV2`.

    Subclasses provide ``feature_taps()`` (the computation between consecutive feature outputs:
    stem, then one entry per stage), ``_make_head``, ``stage_names`` and ``feature_info``.
    """

    num_classes: int
    num_features: int
    drop_rate: float
    grad_checkpointing: bool
    stage_names: list[str]
    feature_info: list[dict[str, Any]]
    feature_indices: tuple[int, ...] | None = None  # set in backbone (features_only) mode
    frozen_norms: tuple[str, ...] = ()
    first_conv: str  # the stem convolution's module name (timm's pretrained_cfg["first_conv"])
    classifier: str  # the classifier's module name (timm's pretrained_cfg["classifier"])

    # -- classifier ------------------------------------------------------------------------------
    def _make_head(self, num_classes: int, global_pool: str) -> None:
        self.num_classes = num_classes
        self.global_pool = GlobalPool(global_pool)
        self.head_hidden_size = self.num_features * self.global_pool.feat_mult()
        self.fc = nn.Linear(self.head_hidden_size, num_classes) if num_classes else nn.Identity()

    def get_classifier(self) -> nn.Module:
        return self.fc

    def reset_classifier(self, num_classes: int, global_pool: str | None = None) -> None:
        """Replace the classifier with a freshly initialised one (``num_classes=0`` removes it)."""
        global_pool = self.global_pool.pool_type if global_pool is None else global_pool
        check_head_args(num_classes, global_pool)
        device = next(self.parameters()).device
        self._make_head(num_classes, global_pool)
        self.get_classifier().to(device)

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

    # -- features -------------------------------------------------------------------------------
    def feature_taps(self) -> list[Tap]:
        raise NotImplementedError

    def group_modules(self, group: str) -> list[nn.Module]:
        """The modules of one freezable group (see :meth:`group_names`)."""
        raise NotImplementedError

    def group_names(self) -> list[str]:
        """Freezable groups, input to output: "stem", the stages, then "head"."""
        return ["stem", *self.stage_names, "head"]

    def _take_indices(self, indices: int | Sequence[int] | None, n: int) -> list[int]:
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
        return sorted(set(out))

    def forward_intermediates(
        self,
        x: torch.Tensor,
        indices: int | Sequence[int] | None = None,
    ) -> list[torch.Tensor]:
        """Feature maps at ``indices`` (0: stem, then one per stage), in order."""
        taps = self.feature_taps()
        take = self._take_indices(indices, len(taps))
        out = []
        for i, tap in enumerate(taps[: take[-1] + 1]):
            x = run_blocks(tap, x, self.grad_checkpointing and i > 0)  # the stem is never checkpointed
            if i in take:
                out.append(x)
        return out

    def as_backbone(self, out_indices: Sequence[int] | None = None) -> "ResNetBase":
        """Turn this model into a ``features_only`` backbone: ``forward`` returns the feature maps
        at ``out_indices``; the head and every stage past the last index are removed, so nothing
        unused is left for DDP to complain about."""
        taps = self.feature_taps()
        take = self._take_indices(out_indices, len(taps))
        self.feature_indices = tuple(take)
        self.reset_classifier(0)
        self._prune_after(take[-1])
        self.feature_info = FeatureInfo(self.feature_info[i] for i in take)
        return self

    def _prune_after(self, last_index: int) -> None:
        for name in self.stage_names[last_index:]:  # stage i is feature index i + 1
            parent, _, child = name.rpartition(".")
            setattr(self.get_submodule(parent) if parent else self, child, self.empty_stage())
        self.prune_trunk_end()

    def empty_stage(self) -> nn.Module:
        return nn.Sequential()

    def prune_trunk_end(self) -> None:
        """Drop modules used only after the last stage (v2: the final norm)."""

    # -- frozen norms stay in eval mode ----------------------------------------------------------
    def train(self, mode: bool = True) -> "ResNetBase":
        super().train(mode)
        for name in self.frozen_norms:
            self.get_submodule(name).eval()
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor | list[torch.Tensor]:
        if self.feature_indices is not None:
            return self.forward_intermediates(x, self.feature_indices)
        return self.forward_head(self.forward_features(x))

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        for i, tap in enumerate(self.feature_taps()):
            x = run_blocks(tap, x, self.grad_checkpointing and i > 0)  # the stem is never checkpointed
        return x
