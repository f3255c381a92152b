"""Pre-activation ResNet v2 (He et al. 2016, "Identity Mappings in Deep Residual Networks").

BN-ReLU comes before each convolution, the shortcut takes the pre-activated input where it needs
a projection, and one final BN-ReLU closes the trunk. Module names equal timm's ``resnetv2_*``
(BatchNorm variants): ``stem.conv`` (or ``stem.conv1/2/3``), ``stages.0.blocks.0.norm1``,
``downsample.conv``, ``norm``, ``head.fc`` (a 1x1 conv). timm's ``BatchNormAct2d`` has plain
BatchNorm keys, so here a BatchNorm2d and a separate ReLU load the same checkpoints, and
``torch.nn.SyncBatchNorm.convert_sync_batchnorm`` cannot drop the activation.
"""

from collections import OrderedDict
from collections.abc import Sequence
from typing import Any, cast

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..nn.checks import check_common_args, check_head_args, check_v2_args
from ..nn.conventions import CONVENTIONS, TIMM, Convention
from ..nn.layers import (
    DropPath,
    GlobalPool,
    ZeroPadShortcut,
    avg_down_pool,
    conv_padding,
    drop_path_rates,
    make_divisible,
)
from .base import ResNetBase, Tap, arch_pretrained_cfg


def _conv(
    in_chs: int, out_chs: int, kernel_size: int, stride: int = 1, dilation: int = 1, bias: bool = False
) -> nn.Conv2d:
    return nn.Conv2d(
        in_chs,
        out_chs,
        kernel_size,
        stride=stride,
        dilation=dilation,
        padding=conv_padding(kernel_size, stride, dilation),
        bias=bias,
    )


class PreActShortcut(nn.Module):
    """Projection of the pre-activated input: 1x1 conv with stride, or avg-pool then 1x1 conv."""

    takes_preact = True  # a block feeds it its BN-ReLU'd input (a ZeroPadShortcut takes the raw input)

    def __init__(
        self, in_chs: int, out_chs: int, stride: int, dilation: int, avg_down: bool, bias: bool = False
    ) -> None:
        super().__init__()
        if avg_down:
            self.pool = avg_down_pool(stride, dilation)
        self.conv = _conv(in_chs, out_chs, 1, stride=1 if avg_down else stride, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(self.pool(x) if hasattr(self, "pool") else x)


class PreActBasic(nn.Module):
    """Pre-activation basic block: BN-ReLU-3x3, BN-ReLU-3x3."""

    conv_bn_pairs = (("conv1", "norm2"),)  # norm1 acts on the block input (also the shortcut): not foldable

    def __init__(
        self,
        in_chs: int,
        out_chs: int,
        stride: int,
        dilation: int,
        first_dilation: int,
        shortcut: nn.Module | None,
        drop_path: float,
        convention: Convention = TIMM,
    ) -> None:
        super().__init__()
        self.downsample = shortcut
        self.preact_shortcut = bool(getattr(shortcut, "takes_preact", False))  # a plain bool: scriptable
        self.norm1 = nn.BatchNorm2d(in_chs, eps=convention.bn_eps)
        self.conv1 = _conv(in_chs, out_chs, 3, stride, first_dilation)
        self.norm2 = nn.BatchNorm2d(out_chs, eps=convention.bn_eps)
        self.conv2 = _conv(out_chs, out_chs, 3, dilation=dilation, bias=convention.conv_bias)
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()

    def zero_init_last(self) -> None:
        nn.init.zeros_(self.conv2.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x_preact = F.relu(self.norm1(x))
        shortcut = x if self.downsample is None else self.downsample(x_preact if self.preact_shortcut else x)
        x = self.conv2(F.relu(self.norm2(self.conv1(x_preact))))
        return self.drop_path(x) + shortcut


class PreActBottleneck(nn.Module):
    """Pre-activation bottleneck: BN-ReLU-1x1, BN-ReLU-3x3 (with the stride), BN-ReLU-1x1."""

    conv_bn_pairs = (("conv1", "norm2"), ("conv2", "norm3"))

    def __init__(
        self,
        in_chs: int,
        out_chs: int,
        stride: int,
        dilation: int,
        first_dilation: int,
        shortcut: nn.Module | None,
        drop_path: float,
        convention: Convention = TIMM,
    ) -> None:
        super().__init__()
        mid_chs = make_divisible(out_chs * 0.25)
        eps = convention.bn_eps
        self.downsample = shortcut
        self.preact_shortcut = bool(getattr(shortcut, "takes_preact", False))  # a plain bool: scriptable
        self.norm1 = nn.BatchNorm2d(in_chs, eps=eps)
        self.conv1 = _conv(in_chs, mid_chs, 1)
        self.norm2 = nn.BatchNorm2d(mid_chs, eps=eps)
        self.conv2 = _conv(mid_chs, mid_chs, 3, stride, first_dilation)
        self.norm3 = nn.BatchNorm2d(mid_chs, eps=eps)
        self.conv3 = _conv(mid_chs, out_chs, 1, bias=convention.conv_bias)
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()

    def zero_init_last(self) -> None:
        nn.init.zeros_(self.conv3.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x_preact = F.relu(self.norm1(x))
        shortcut = x if self.downsample is None else self.downsample(x_preact if self.preact_shortcut else x)
        x = self.conv1(x_preact)
        x = self.conv2(F.relu(self.norm2(x)))
        x = self.conv3(F.relu(self.norm3(x)))
        return self.drop_path(x) + shortcut


class ResNetStage(nn.Module):
    def __init__(self, blocks: Sequence[nn.Module]) -> None:
        super().__init__()
        self.blocks = nn.Sequential(*blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.blocks(x)


class ClassifierHead(nn.Module):
    """Global pool, dropout and a 1x1-conv classifier, as timm's ``ClassifierHead(use_conv=True)``."""

    def __init__(self, in_chs: int, num_classes: int, pool_type: str, drop_rate: float) -> None:
        super().__init__()
        self.global_pool = GlobalPool(pool_type, flatten=False)
        self.drop_rate = drop_rate
        self.num_features = in_chs * self.global_pool.feat_mult()
        self.fc = nn.Conv2d(self.num_features, num_classes, 1) if num_classes else nn.Identity()

    def forward(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        x = self.global_pool(x)
        if self.drop_rate:
            x = F.dropout(x, p=self.drop_rate, training=self.training)
        if not pre_logits:
            x = self.fc(x)
        return x.flatten(1) if self.global_pool.pool_type else x  # unpooled ('') stays a map, as timm


class ResNetV2(ResNetBase):
    """Pre-activation ResNet with BatchNorm.

    Args:
        layers: blocks per stage; basic: two 3x3 convs per block (v2-18/34) instead of bottlenecks.
        channels: output channels per stage (256..2048 for bottlenecks, 64..512 for basic).
        stem_type: "" (7x7), "deep" (3x3 32-32-64) or "tiered" (3x3 24-32-64), then a max-pool.
        avg_down: average-pool shortcuts (the "d" variants).
        convention: "timm", or "keras" (Keras Applications' ResNetV2: each stage strides its last block,
            whose shortcut subsamples the raw input; biased stem, projection and last 1x1 convs;
            BN eps 1.001e-5). Other args as :class:`ResNet`.
    """

    __jit_unused_properties__ = ["default_cfg", "global_pool", "fc"]  # noqa: RUF012  # properties TorchScript skips

    def __init__(
        self,
        layers: Sequence[int],
        channels: Sequence[int] = (256, 512, 1024, 2048),
        basic: bool = False,
        num_classes: int = 1000,
        in_chans: int = 3,
        stem_type: str = "",
        stem_width: int = 64,
        avg_down: bool = False,
        shortcut: str = "projection",
        output_stride: int = 32,
        global_pool: str = "avg",
        drop_rate: float = 0.0,
        drop_path_rate: float = 0.0,
        zero_init_last: bool = False,
        convention: str = "timm",
    ) -> None:
        check_common_args(
            num_classes=num_classes,
            in_chans=in_chans,
            output_stride=output_stride,
            global_pool=global_pool,
            drop_rate=drop_rate,
            drop_path_rate=drop_path_rate,
        )
        check_v2_args(layers, channels, stem_type, shortcut, convention)
        super().__init__()
        self.num_classes = num_classes
        self.in_chans = in_chans
        self.drop_rate = drop_rate
        self.grad_checkpointing = False
        self.convention = CONVENTIONS[convention]
        self.first_conv = "stem.conv1" if stem_type else "stem.conv"
        self.classifier = "head.fc"
        self._make_stem(in_chans, stem_type, stem_width)
        self._make_stages(layers, channels, basic, stem_width, output_stride, avg_down, drop_path_rate)
        self.norm = nn.BatchNorm2d(self.num_features, eps=self.convention.bn_eps)
        self.final_act = True  # the final norm is BN-ReLU (timm's BatchNormAct2d); pruned together
        self._make_head(num_classes, global_pool)
        self.init_weights(zero_init_last)
        self.pretrained_cfg = arch_pretrained_cfg(self, "", (in_chans, 224, 224))  # the registry names the arch
        self.weights = None

    def _make_stem(self, in_chans: int, stem_type: str, stem_width: int) -> None:
        stem: OrderedDict[str, nn.Module] = OrderedDict()
        if stem_type:
            mid = (3 * stem_width // 8, stem_width // 2) if stem_type == "tiered" else (stem_width // 2,) * 2
            stem["conv1"] = _conv(in_chans, mid[0], 3, stride=2)
            stem["norm1"] = nn.BatchNorm2d(mid[0])
            stem["act1"] = nn.ReLU(inplace=True)
            stem["conv2"] = _conv(mid[0], mid[1], 3)
            stem["norm2"] = nn.BatchNorm2d(mid[1])
            stem["act2"] = nn.ReLU(inplace=True)
            stem["conv3"] = _conv(mid[1], stem_width, 3)
        else:
            stem["conv"] = _conv(in_chans, stem_width, 7, stride=2, bias=self.convention.conv_bias)
        if self.convention.name == "keras":  # Keras pads with zeros before pooling a not-yet-activated map
            stem["pad"] = nn.ZeroPad2d(1)
            stem["pool"] = nn.MaxPool2d(kernel_size=3, stride=2)
        else:
            stem["pool"] = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.stem = nn.Sequential(stem)
        self.stem_pool_index = list(stem).index("pad" if "pad" in stem else "pool")  # the stem feature comes before
        self.feature_info: list[dict[str, Any]] = [
            dict(num_chs=stem_width, reduction=2, module="stem.conv3" if stem_type else "stem.conv")
        ]

    def _make_stages(
        self,
        layers: Sequence[int],
        channels: Sequence[int],
        basic: bool,
        stem_width: int,
        output_stride: int,
        avg_down: bool,
        drop_path_rate: float,
    ) -> None:
        block_cls = PreActBasic if basic else PreActBottleneck
        conventions = self.convention
        # timm strides a stage's first block (stages 2-4); Keras strides its last one (stages 1-3)
        n = len(layers)
        stage_strides = [2] * (n - 1) + [1] if conventions.stride_in_last_block else [1] + [2] * (n - 1)
        prev_chs, net_stride, dilation = stem_width, 4, 1
        block_dprs = drop_path_rates(drop_path_rate, list(layers))
        stages = []
        for stage_idx, (depth, out_chs) in enumerate(zip(layers, channels)):
            stride = stage_strides[stage_idx]
            if stride > 1 and net_stride >= output_stride:
                dilation, stride = dilation * stride, 1
            first_dilation = 1 if dilation in (1, 2) else 2
            strided_block = depth - 1 if conventions.stride_in_last_block else 0
            blocks = []
            for block_idx in range(depth):
                block_stride = stride if block_idx == strided_block else 1
                proj: nn.Module | None = None
                if block_idx == 0 and (
                    not basic or block_stride != 1 or first_dilation != dilation or prev_chs != out_chs
                ):
                    proj = PreActShortcut(
                        prev_chs, out_chs, block_stride, dilation, avg_down, bias=conventions.conv_bias
                    )
                elif block_stride != 1:  # Keras: the strided last block subsamples its raw input
                    proj = ZeroPadShortcut(prev_chs, out_chs, block_stride)
                blocks.append(
                    block_cls(
                        prev_chs,
                        out_chs,
                        block_stride,
                        dilation,
                        first_dilation,
                        proj,
                        block_dprs[stage_idx][block_idx],
                        convention=conventions,
                    )
                )
                prev_chs, first_dilation = out_chs, dilation
            net_stride *= stride
            stages.append(ResNetStage(blocks))
            self.feature_info.append(dict(num_chs=prev_chs, reduction=net_stride, module=f"stages.{stage_idx}"))
        self.stages = nn.Sequential(*stages)
        self.stage_names = [f"stages.{i}" for i in range(len(stages))]
        self.num_features = prev_chs
        self.num_taps = len(self.feature_info)

    # The v2 head lives in ``self.head`` (keys ``head.fc``); expose it through the shared contract.
    def _make_head(self, num_classes: int, global_pool: str) -> None:  # a conv classifier: '' gives a logit map
        self.num_classes = num_classes
        self.head = ClassifierHead(self.num_features, num_classes, global_pool, self.drop_rate)
        self.head_hidden_size = self.head.num_features

    @property
    def global_pool(self) -> GlobalPool:  # type: ignore[override]
        return self.head.global_pool

    @property
    def fc(self) -> nn.Module:  # type: ignore[override]
        return self.head.fc

    def reset_classifier(self, num_classes: int, global_pool: str | None = None) -> None:
        global_pool = self.head.global_pool.pool_type if global_pool is None else global_pool
        check_head_args(num_classes, global_pool)
        device = next(self.stem.parameters()).device
        self._make_head(num_classes, global_pool)
        self.head.to(device)

    @torch.no_grad()
    def init_weights(self, zero_init_last: bool = False) -> None:
        if self.params_are_meta():
            return  # built on "meta" for weights that follow: nothing to initialise
        for name, m in self.named_modules():
            if isinstance(m, nn.Conv2d) and name == "head.fc":
                nn.init.normal_(m.weight, std=0.01)
                nn.init.zeros_(m.bias)  # type: ignore[arg-type]  # a classifier conv has a bias
            elif isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif zero_init_last and isinstance(m, (PreActBasic, PreActBottleneck)):
                m.zero_init_last()

    def feature_taps(self) -> list[Tap]:
        """Stem up to its last conv (before the pool), then each stage (pre final norm), as timm."""
        pooling = ("pad", "pool")
        stem = [m for name, m in self.stem.named_children() if name not in pooling]
        pool = [m for name, m in self.stem.named_children() if name in pooling]
        stages = [list(cast(ResNetStage, stage).blocks) for stage in self.stages]
        return [stem, [*pool, *stages[0]], *stages[1:]]

    def _trunk(self, x: torch.Tensor, take: list[int], last: int) -> tuple[torch.Tensor, list[torch.Tensor]]:
        out: list[torch.Tensor] = []
        x_stem = x
        for i, layer in enumerate(self.stem):
            if i == self.stem_pool_index:
                x_stem = x
            x = layer(x)
        if self.stem_pool_index < 0:  # the pool was pruned
            x_stem = x
        if 0 in take:
            out.append(x_stem)
        for i, stage in enumerate(self.stages):
            if i < last:
                x = stage(x)
                if i + 1 in take:
                    out.append(x)
        return x, out

    def final_norm(self, x: torch.Tensor) -> torch.Tensor:
        x = self.norm(x)
        return F.relu(x) if self.final_act else x

    def empty_stage(self) -> nn.Module:
        return ResNetStage([])

    def prune_stem_pool(self) -> None:
        if self.stem_pool_index >= 0:
            self.stem = self.stem[: self.stem_pool_index]
            self.stem_pool_index = -1

    def prune_trunk_end(self) -> None:
        self.norm = nn.Identity()  # type: ignore[assignment]  # the final norm (BN-ReLU) goes as a whole
        self.final_act = False

    def group_modules(self, group: str) -> list[nn.Module]:
        if group == "stem":
            return [self.stem]
        if group == "head":
            return [self.norm, self.head]
        return [self.get_submodule(group)]

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        return self.head(x, pre_logits=pre_logits)
