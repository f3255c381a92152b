"""Building blocks shared by every ResNet in the zoo.

Convolution/normalisation helpers, the three shortcut kinds (1x1 projection, average-pool
"avg-down" projection, and the paper's parameter-free zero-padding shortcut), channel attention
(SE, ECA), stochastic depth and global pooling. Module and parameter names follow timm's, so
state_dict keys line up with timm and torchvision checkpoints.
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from .conventions import TIMM, Convention


def make_divisible(value: float, divisor: int = 8, round_limit: float = 0.9) -> int:
    """Round ``value`` to a multiple of ``divisor`` without dropping more than 1 - round_limit."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    if rounded < round_limit * value:
        rounded += divisor
    return rounded


def conv_padding(kernel_size: int, stride: int = 1, dilation: int = 1) -> int:
    """PyTorch-style symmetric padding that keeps ``size / stride`` for odd kernels."""
    return ((stride - 1) + dilation * (kernel_size - 1)) // 2


def conv3x3(
    in_chs: int, out_chs: int, stride: int = 1, dilation: int = 1, groups: int = 1, bias: bool = False
) -> nn.Conv2d:
    return nn.Conv2d(in_chs, out_chs, 3, stride=stride, padding=dilation, dilation=dilation, groups=groups, bias=bias)


def conv1x1(in_chs: int, out_chs: int, stride: int = 1, bias: bool = False) -> nn.Conv2d:
    return nn.Conv2d(in_chs, out_chs, 1, stride=stride, bias=bias)


class AvgPool2dSame(nn.AvgPool2d):
    """2x2 average pool with TF 'SAME' padding, used by avg-down shortcuts inside dilated stages."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        kh, kw = self.kernel_size if isinstance(self.kernel_size, tuple) else (self.kernel_size,) * 2
        sh, sw = self.stride if isinstance(self.stride, tuple) else (self.stride,) * 2
        pad_h = max((math.ceil(x.shape[-2] / sh) - 1) * sh + kh - x.shape[-2], 0)
        pad_w = max((math.ceil(x.shape[-1] / sw) - 1) * sw + kw - x.shape[-1], 0)
        x = F.pad(x, [pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2])
        return F.avg_pool2d(x, self.kernel_size, self.stride, 0, self.ceil_mode, self.count_include_pad)


def avg_down_pool(stride: int, dilation: int) -> nn.Module:
    """The pooling half of an avg-down shortcut (ResNet-D): 2x2 average before a 1x1 conv."""
    if stride == 1 and dilation == 1:
        return nn.Identity()
    avg_stride = stride if dilation == 1 else 1
    pool_cls = AvgPool2dSame if avg_stride == 1 and dilation > 1 else nn.AvgPool2d
    return pool_cls(2, avg_stride, ceil_mode=True, count_include_pad=False)


def projection_shortcut(
    in_chs: int, out_chs: int, stride: int, dilation: int, avg_down: bool, convention: Convention = TIMM
) -> nn.Sequential:
    """Option B: a strided 1x1 conv + BN (``downsample.0/1``), or ResNet-D's pool + conv + BN
    (``downsample.1/2``) when ``avg_down``."""
    norm = nn.BatchNorm2d(out_chs, eps=convention.bn_eps)
    if avg_down:
        return nn.Sequential(avg_down_pool(stride, dilation), conv1x1(in_chs, out_chs, bias=convention.conv_bias), norm)
    return nn.Sequential(conv1x1(in_chs, out_chs, stride, bias=convention.conv_bias), norm)


class ZeroPadShortcut(nn.Module):
    """Option A of He et al. (2015): identity with stride subsampling and zero-filled extra channels.

    Parameter-free, so it adds nothing to the state_dict.
    """

    takes_preact = False  # in a pre-activation block it subsamples the raw input (Keras' ResNetV2)

    def __init__(self, in_chs: int, out_chs: int, stride: int) -> None:
        super().__init__()
        if out_chs < in_chs:
            raise ValueError(f"zero-pad shortcut cannot shrink channels ({in_chs} -> {out_chs})")
        self.extra_chs = out_chs - in_chs
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride > 1:
            x = x[:, :, :: self.stride, :: self.stride]
        if self.extra_chs:
            x = F.pad(x, (0, 0, 0, 0, 0, self.extra_chs))
        return x

    def extra_repr(self) -> str:
        return f"extra_chs={self.extra_chs}, stride={self.stride}"


class SEModule(nn.Module):
    """Squeeze-and-Excitation (Hu et al. 2018) with timm's channel rounding (``se.fc1``/``se.fc2``)."""

    def __init__(self, channels: int, rd_ratio: float = 1.0 / 16, rd_divisor: int = 8) -> None:
        super().__init__()
        rd_channels = make_divisible(channels * rd_ratio, rd_divisor, round_limit=0.0)
        self.fc1 = nn.Conv2d(channels, rd_channels, 1, bias=True)
        self.act = nn.ReLU(inplace=True)
        self.fc2 = nn.Conv2d(rd_channels, channels, 1, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = self.fc2(self.act(self.fc1(x.mean((2, 3), keepdim=True))))
        return x * scale.sigmoid()


class EcaModule(nn.Module):
    """Efficient Channel Attention (Wang et al. 2020): a 1-D conv across channels, adaptive kernel."""

    def __init__(self, channels: int, gamma: float = 2, beta: float = 1) -> None:
        super().__init__()
        t = int(abs(math.log(channels, 2) + beta) / gamma)
        kernel_size = max(t if t % 2 else t + 1, 3)
        self.conv = nn.Conv1d(1, 1, kernel_size, padding=(kernel_size - 1) // 2, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x.mean((2, 3)).view(x.shape[0], 1, -1))
        return x * y.sigmoid().view(x.shape[0], -1, 1, 1)


def make_attention(kind: str | None, channels: int, se_ratio: float) -> nn.Module | None:
    if kind is None:
        return None
    if kind == "se":
        return SEModule(channels, rd_ratio=se_ratio)
    return EcaModule(channels)


class DropPath(nn.Module):
    """Stochastic depth (Huang et al. 2016): drop a sample's whole residual branch in training."""

    def __init__(self, drop_prob: float) -> None:
        super().__init__()
        self.drop_prob = drop_prob

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.drop_prob == 0.0 or not self.training:
            return x
        keep = 1.0 - self.drop_prob
        shape = [x.shape[0]] + [1] * (x.dim() - 1)  # a list: TorchScript cannot repeat a tuple
        mask = x.new_empty(shape).bernoulli_(keep)
        return x * mask.div_(keep)

    def extra_repr(self) -> str:
        return f"drop_prob={self.drop_prob:.3f}"


class GlobalPool(nn.Module):
    """Global pooling to (N, C * feat_mult), or (N, C * feat_mult, 1, 1) with ``flatten=False``;
    ``pool_type=""`` passes the map through unpooled."""

    def __init__(self, pool_type: str = "avg", flatten: bool = True) -> None:
        super().__init__()
        self.pool_type = pool_type
        self.flatten = flatten

    def feat_mult(self) -> int:
        return 2 if self.pool_type == "catavgmax" else 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.pool_type:  # timm's "": no pooling, no flattening
            return x
        if self.pool_type == "avg":
            x = x.mean((2, 3), keepdim=True)
        elif self.pool_type == "max":
            x = x.amax((2, 3), keepdim=True)
        else:
            avg, mx = x.mean((2, 3), keepdim=True), x.amax((2, 3), keepdim=True)
            x = 0.5 * (avg + mx) if self.pool_type == "avgmax" else torch.cat((avg, mx), 1)
        return x.flatten(1) if self.flatten else x

    def extra_repr(self) -> str:
        return f"pool_type={self.pool_type}, flatten={self.flatten}"


def drop_path_rates(drop_path_rate: float, depths: list[int]) -> list[list[float]]:
    """Linearly increasing stochastic-depth rate per block (0 at the first, the rate at the last)."""
    total = sum(depths)
    rates = [drop_path_rate * i / max(total - 1, 1) for i in range(total)]
    out, start = [], 0
    for d in depths:
        out.append(rates[start : start + d])
        start += d
    return out
