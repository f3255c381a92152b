"""``optimize_for_inference``: BatchNorm folded into the convolutions before it, channels-last
memory layout, and optionally ``torch.compile``. Outputs stay within 1e-4 of the original."""

import copy

import torch
import torch.nn as nn

from ..models import ResNetBase

_BN = nn.modules.batchnorm._BatchNorm


@torch.no_grad()
def fold_conv_bn(conv: nn.Module, bn: _BN) -> None:
    """Fold an eval-mode BN that directly follows ``conv`` into conv's weight and bias."""
    assert isinstance(conv, nn.Conv2d), f"BN folding needs a Conv2d, got {type(conv).__name__}"
    assert bn.running_var is not None and bn.running_mean is not None, "BN folding needs running statistics"
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    conv.weight.mul_(scale.view(-1, 1, 1, 1).to(conv.weight.dtype))
    bias = conv.bias if conv.bias is not None else torch.zeros_like(bn.running_mean)
    new_bias = (bias - bn.running_mean) * scale + bn.bias
    conv.bias = nn.Parameter(new_bias.to(conv.weight.dtype))


def conv_bn_pairs(model: nn.Module) -> list[tuple[nn.Module, nn.Module, str]]:
    """Every (conv, BN owner, BN attribute name) where the BN is applied directly to the conv's output.

    Two sources, both exact by construction: consecutive Conv2d -> BatchNorm inside an
    ``nn.Sequential`` (which applies them in order), and the (conv, bn) names each block or model
    class declares in ``conv_bn_pairs`` (its forward applies that BN to that conv's output).
    """
    pairs: list[tuple[nn.Module, nn.Module, str]] = []
    for parent in model.modules():
        if isinstance(parent, nn.Sequential):
            names = list(parent._modules)
            for a, b in zip(names, names[1:]):
                conv, bn = parent._modules[a], parent._modules[b]
                if isinstance(conv, nn.Conv2d) and isinstance(bn, _BN):
                    pairs.append((conv, parent, b))
        for conv_name, bn_name in getattr(type(parent), "conv_bn_pairs", ()):
            target = parent.get_submodule(conv_name)
            if isinstance(target, nn.Sequential):  # a deep stem: its last conv feeds the BN
                target = list(target.children())[-1]
            pairs.append((target, parent, bn_name))
    return pairs


class ChannelsLast(nn.Module):
    """Feeds the wrapped model channels-last inputs (oneDNN's and cuDNN's fast layout)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x.contiguous(memory_format=torch.channels_last))


def optimize_for_inference(
    model: nn.Module, channels_last: bool = True, compile: bool = False, inplace: bool = False
) -> nn.Module:
    """An eval-only copy of ``model`` with every BatchNorm that follows a convolution folded into it.

    Pre-activation BNs (ResNet v2's ``norm1`` and final ``norm``) act on a block's input, not on a
    conv output, and stay. ``compile=True`` adds ``torch.compile`` on top.
    """
    if not isinstance(model, ResNetBase):
        raise TypeError(f"optimize_for_inference expects a resnet_zoo model, got {type(model).__name__}")
    model = (model if inplace else copy.deepcopy(model)).eval()
    for conv, owner, bn_name in conv_bn_pairs(model):
        fold_conv_bn(conv, getattr(owner, bn_name))
        setattr(owner, bn_name, nn.Identity())
    for p in model.parameters():
        p.requires_grad_(False)
    out: nn.Module = model
    if channels_last:
        out = ChannelsLast(model.to(memory_format=torch.channels_last))
    return torch.compile(out) if compile else out  # type: ignore[return-value]  # a compiled module is a module
