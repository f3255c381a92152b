"""ResNet v1 family (He et al. 2015, "Deep Residual Learning for Image Recognition") and its
descendants: ResNet-B/C/D/S/T stems and shortcuts (He et al. 2018, "Bag of Tricks"), ResNeXt (Xie
et al. 2017), wide ResNets (Zagoruyko & Komodakis 2016), SE and ECA attention, ResNet-RS (Bello et
al. 2021) and the CIFAR ResNets of the original paper's section 4.2.

One configurable :class:`ResNet` builds all of them. Module names equal timm's (and so
torchvision's for the shared variants): ``conv1``, ``bn1``, ``layer1.0.conv1``, ``downsample.0/1``,
``fc``; deep stems ``conv1.0/1/3/4/6``; avg-down ``downsample.1/2``; SE ``se.fc1/fc2``.
"""

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import torch
import torch.nn as nn

from ..errors import InvalidArgumentError
from ..nn.checks import check_common_args, check_v1_args
from ..nn.conventions import CONVENTIONS, TIMM, Convention
from ..nn.layers import (
    DropPath,
    ZeroPadShortcut,
    conv1x1,
    conv3x3,
    drop_path_rates,
    make_attention,
    projection_shortcut,
)
from .base import ResNetBase, Tap, arch_pretrained_cfg


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with a residual connection (ResNet-18/34)."""

    expansion = 1
    conv_bn_pairs = (("conv1", "bn1"), ("conv2", "bn2"))  # BN applied straight to the conv output

    def __init__(
        self,
        in_chs: int,
        planes: int,
        stride: int = 1,
        shortcut: nn.Module | None = None,
        dilation: int = 1,
        first_dilation: int = 1,
        cardinality: int = 1,
        base_width: int = 64,
        attention: str | None = None,
        se_ratio: float = 1 / 16,
        drop_path: float = 0.0,
        convention: Convention = TIMM,
    ) -> None:
        super().__init__()
        if cardinality != 1 or base_width != 64:
            raise InvalidArgumentError(
                f"BasicBlock supports cardinality=1 and base_width=64 only (got {cardinality}, {base_width});"
                " use block='bottleneck' for ResNeXt or wide variants"
            )
        out_chs, bias, eps = planes * self.expansion, convention.conv_bias, convention.bn_eps
        self.conv1 = conv3x3(in_chs, planes, stride, first_dilation, bias=bias)
        self.bn1 = nn.BatchNorm2d(planes, eps=eps)
        self.act1 = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, out_chs, dilation=dilation, bias=bias)
        self.bn2 = nn.BatchNorm2d(out_chs, eps=eps)
        self.se = make_attention(attention, out_chs, se_ratio)
        self.act2 = nn.ReLU(inplace=True)
        self.downsample = shortcut
        self.drop_path = DropPath(drop_path) if drop_path > 0 else None

    def zero_init_last(self) -> None:
        nn.init.zeros_(self.bn2.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        x = self.act1(self.bn1(self.conv1(x)))
        x = self.bn2(self.conv2(x))
        if self.se is not None:
            x = self.se(x)
        if self.drop_path is not None:
            x = self.drop_path(x)
        return self.act2(x + shortcut)


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3 (grouped for ResNeXt, carrying the stride: "v1.5"), 1x1 expand by 4.

    With the "keras" convention the first 1x1 carries the stride (the original v1) and convs are biased."""

    expansion = 4
    conv_bn_pairs = (("conv1", "bn1"), ("conv2", "bn2"), ("conv3", "bn3"))

    def __init__(
        self,
        in_chs: int,
        planes: int,
        stride: int = 1,
        shortcut: nn.Module | None = None,
        dilation: int = 1,
        first_dilation: int = 1,
        cardinality: int = 1,
        base_width: int = 64,
        attention: str | None = None,
        se_ratio: float = 1 / 16,
        drop_path: float = 0.0,
        convention: Convention = TIMM,
    ) -> None:
        super().__init__()
        width = int(math.floor(planes * (base_width / 64)) * cardinality)
        out_chs, bias, eps = planes * self.expansion, convention.conv_bias, convention.bn_eps
        stride_1x1, stride_3x3 = (stride, 1) if convention.stride_in_1x1 else (1, stride)
        self.conv1 = conv1x1(in_chs, width, stride_1x1, bias=bias)
        self.bn1 = nn.BatchNorm2d(width, eps=eps)
        self.act1 = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(width, width, stride_3x3, first_dilation, groups=cardinality, bias=bias)
        self.bn2 = nn.BatchNorm2d(width, eps=eps)
        self.act2 = nn.ReLU(inplace=True)
        self.conv3 = conv1x1(width, out_chs, bias=bias)
        self.bn3 = nn.BatchNorm2d(out_chs, eps=eps)
        self.se = make_attention(attention, out_chs, se_ratio)
        self.act3 = nn.ReLU(inplace=True)
        self.downsample = shortcut
        self.drop_path = DropPath(drop_path) if drop_path > 0 else None

    def zero_init_last(self) -> None:
        nn.init.zeros_(self.bn3.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        x = self.act1(self.bn1(self.conv1(x)))
        x = self.act2(self.bn2(self.conv2(x)))
        x = self.bn3(self.conv3(x))
        if self.se is not None:
            x = self.se(x)
        if self.drop_path is not None:
            x = self.drop_path(x)
        return self.act3(x + shortcut)


class ResNet(ResNetBase):
    """The configurable ResNet v1 (and CIFAR ResNet) of the zoo.

    Args:
        block: "basic" (two 3x3 convs) or "bottleneck" (1x1-3x3-1x1, expansion 4).
        layers: blocks per stage, e.g. (3, 4, 6, 3) for ResNet-50; three stages for CIFAR nets.
        channels: planes per stage (before the block's expansion).
        cardinality, base_width: groups and width of the bottleneck's 3x3 conv (ResNeXt, wide).
        stem_type: "" (7x7 conv), "deep" (3x3 stem_width-stem_width-2*stem_width: ResNet-C/D/S),
            "tiered" (3x3 3/4*stem_width-stem_width-2*stem_width: ResNet-T), or "cifar"
            (one 3x3 conv of channels[0], stride 1, no pooling).
        stem_width: width of the deep stem's first convolutions.
        replace_stem_pool: a strided 3x3 conv + BN + ReLU instead of the max-pool (ResNet-RS).
        avg_down: 2x2 average pool before the shortcut's 1x1 conv (ResNet-D) instead of a stride.
        shortcut: "projection" (1x1 conv + BN where shapes change: option B) or "zero_pad"
            (parameter-free identity with subsampling and zero-filled channels: option A).
        attention: None, "se" (squeeze-excitation, reduction ``se_ratio``) or "eca".
        output_stride: 32, 16 or 8; the last stages trade stride for dilation.
        global_pool: "avg", "max", "avgmax", "catavgmax", or "" (unpooled; with ``num_classes=0``).
        drop_rate: dropout before the classifier; drop_path_rate: stochastic depth, linear by block.
        zero_init_last: zero the last BN's scale in each residual branch (identity at init).
        convention: "timm" (timm's and torchvision's) or "keras" (Keras Applications':
            the stride on the bottleneck's first 1x1, biased convs, BN eps 1.001e-5).
        num_classes: classifier outputs, 0 for none; in_chans: input channels.
    """

    if TYPE_CHECKING:  # the stages, added by name in _make_stages (CIFAR nets have three)
        layer1: nn.Module
        layer2: nn.Module
        layer3: nn.Module
        layer4: nn.Module

    def __init__(
        self,
        block: str,
        layers: Sequence[int],
        channels: Sequence[int] = (64, 128, 256, 512),
        num_classes: int = 1000,
        in_chans: int = 3,
        cardinality: int = 1,
        base_width: int = 64,
        stem_type: str = "",
        stem_width: int = 64,
        replace_stem_pool: bool = False,
        avg_down: bool = False,
        shortcut: str = "projection",
        attention: str | None = None,
        se_ratio: float = 1 / 16,
        output_stride: int = 32,
        global_pool: str = "avg",
        drop_rate: float = 0.0,
        drop_path_rate: float = 0.0,
        zero_init_last: bool = True,
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
        check_v1_args(block, layers, channels, stem_type, shortcut, attention, avg_down, convention)
        super().__init__()
        self.num_classes = num_classes
        self.in_chans = in_chans
        self.drop_rate = drop_rate
        self.grad_checkpointing = False
        self.convention = CONVENTIONS[convention]
        self.first_conv = "conv1.0" if stem_type in ("deep", "tiered") else "conv1"
        self.classifier = "fc"
        inplanes, stem_stride = self._make_stem(in_chans, stem_type, stem_width, channels[0], replace_stem_pool)
        block_args = dict(
            cardinality=cardinality,
            base_width=base_width,
            attention=attention,
            se_ratio=se_ratio,
            convention=self.convention,
        )
        net_stride = stem_stride if stem_type == "cifar" else stem_stride * 2
        self._make_stages(
            BasicBlock if block == "basic" else Bottleneck,
            layers,
            channels,
            inplanes,
            net_stride,
            output_stride,
            shortcut,
            avg_down,
            drop_path_rate,
            block_args,
        )
        self._make_head(num_classes, global_pool)
        self.init_weights(zero_init_last)
        self.pretrained_cfg = arch_pretrained_cfg(self, "", (in_chans, 224, 224))  # the registry names the arch
        self.weights = None

    def _make_stem(
        self, in_chans: int, stem_type: str, stem_width: int, cifar_width: int, replace_stem_pool: bool
    ) -> tuple[int, int]:
        """``conv1`` (a 7x7, a deep 3x3 stack, or CIFAR's single 3x3), ``bn1``, ``act1``, ``maxpool``;
        returns (output channels, stride)."""
        if stem_type == "cifar":
            inplanes, stem_stride = cifar_width, 1
            self.conv1: nn.Module = conv3x3(in_chans, inplanes)
        elif stem_type:
            inplanes, stem_stride = stem_width * 2, 2
            mid = (3 * (stem_width // 4), stem_width) if stem_type == "tiered" else (stem_width, stem_width)
            self.conv1 = nn.Sequential(
                nn.Conv2d(in_chans, mid[0], 3, stride=2, padding=1, bias=False),
                nn.BatchNorm2d(mid[0]),
                nn.ReLU(inplace=True),
                nn.Conv2d(mid[0], mid[1], 3, padding=1, bias=False),
                nn.BatchNorm2d(mid[1]),
                nn.ReLU(inplace=True),
                nn.Conv2d(mid[1], inplanes, 3, padding=1, bias=False),
            )
        else:
            inplanes, stem_stride = 64, 2
            self.conv1 = nn.Conv2d(in_chans, inplanes, 7, stride=2, padding=3, bias=self.convention.conv_bias)
        self.bn1 = nn.BatchNorm2d(inplanes, eps=self.convention.bn_eps)
        self.act1 = nn.ReLU(inplace=True)
        self.feature_info: list[dict[str, Any]] = [dict(num_chs=inplanes, reduction=stem_stride, module="act1")]
        if stem_type == "cifar":
            self.maxpool: nn.Module = nn.Identity()
        elif replace_stem_pool:
            self.maxpool = nn.Sequential(
                nn.Conv2d(inplanes, inplanes, 3, stride=2, padding=1, bias=False),
                nn.BatchNorm2d(inplanes),
                nn.ReLU(inplace=True),
            )
        else:
            self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        return inplanes, stem_stride

    def _make_stages(
        self,
        block_cls: type[BasicBlock] | type[Bottleneck],
        layers: Sequence[int],
        channels: Sequence[int],
        inplanes: int,
        net_stride: int,
        output_stride: int,
        shortcut: str,
        avg_down: bool,
        drop_path_rate: float,
        block_args: dict[str, Any],
    ) -> None:
        """``layer1..layerN``: the first at the stem's stride, each next one halving the resolution
        (or dilating, once ``output_stride`` is reached)."""
        dilation = prev_dilation = 1
        block_dprs = drop_path_rates(drop_path_rate, list(layers))
        self.stage_names: list[str] = []
        for stage_idx, (planes, depth) in enumerate(zip(channels, layers)):
            stride = 1 if stage_idx == 0 else 2
            if net_stride >= output_stride:
                dilation, stride = dilation * stride, 1
            else:
                net_stride *= stride
            out_chs = planes * block_cls.expansion
            blocks = []
            for block_idx in range(depth):
                block_stride = stride if block_idx == 0 else 1
                block_shortcut = None
                if block_idx == 0 and (block_stride != 1 or inplanes != out_chs):
                    block_shortcut = (
                        ZeroPadShortcut(inplanes, out_chs, block_stride)
                        if shortcut == "zero_pad"
                        else projection_shortcut(inplanes, out_chs, block_stride, dilation, avg_down, self.convention)
                    )
                blocks.append(
                    block_cls(
                        inplanes,
                        planes,
                        block_stride,
                        block_shortcut,
                        dilation=dilation,
                        first_dilation=prev_dilation,
                        drop_path=block_dprs[stage_idx][block_idx],
                        **block_args,
                    )
                )
                prev_dilation, inplanes = dilation, out_chs
            name = f"layer{stage_idx + 1}"
            self.add_module(name, nn.Sequential(*blocks))
            self.stage_names.append(name)
            self.feature_info.append(dict(num_chs=inplanes, reduction=net_stride, module=name))
        self.num_features = inplanes
        self.num_taps = len(self.feature_info)

    @torch.no_grad()
    def init_weights(self, zero_init_last: bool = True) -> None:
        """He (fan-out) init for convs, as timm and torchvision; optionally zero each branch's last BN."""
        if self.params_are_meta():
            return  # built on "meta" for weights that follow: nothing to initialise
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        if zero_init_last:
            for m in self.modules():
                if isinstance(m, (BasicBlock, Bottleneck)):
                    m.zero_init_last()

    conv_bn_pairs = (("conv1", "bn1"),)  # the stem conv (a deep stem's last conv) feeds bn1

    def stem(self, x: torch.Tensor) -> torch.Tensor:
        return self.act1(self.bn1(self.conv1(x)))

    def _trunk(self, x: torch.Tensor, take: list[int], last: int) -> tuple[torch.Tensor, list[torch.Tensor]]:
        out: list[torch.Tensor] = []
        x = self.act1(self.bn1(self.conv1(x)))
        if 0 in take:
            out.append(x)
        x = self.maxpool(x)  # as timm: the stem pool runs even when only the stem feature is taken
        if last >= 1:
            x = self.layer1(x)
            if 1 in take:
                out.append(x)
        if last >= 2:
            x = self.layer2(x)
            if 2 in take:
                out.append(x)
        if last >= 3:
            x = self.layer3(x)
            if 3 in take:
                out.append(x)
        if hasattr(self, "layer4"):  # noqa: SIM102  # hasattr is resolved when scripting: CIFAR nets have three stages
            if last >= 4:
                x = self.layer4(x)
                if 4 in take:
                    out.append(x)
        return x, out

    def forward_trunk(self, x: torch.Tensor, take: list[int], last: int) -> tuple[torch.Tensor, list[torch.Tensor]]:
        if (self.grad_checkpointing or self.num_taps > 5) and not torch.jit.is_scripting():
            return self._trunk_taps(x, take, last)  # checkpointed, or a custom net of more than 4 stages
        return self._trunk(x, take, last)

    def prune_stem_pool(self) -> None:
        self.maxpool = nn.Identity()

    def feature_taps(self) -> list[Tap]:
        """Stem (to ``act1``), then each stage; the stem pool opens the first stage's tap."""
        stages = [list(getattr(self, name)) for name in self.stage_names]
        return [[self.stem], [self.maxpool, *stages[0]], *stages[1:]]

    def group_modules(self, group: str) -> list[nn.Module]:
        if group == "stem":
            return [self.conv1, self.bn1, self.maxpool]
        if group == "head":
            return [self.fc]
        return [getattr(self, group)]
