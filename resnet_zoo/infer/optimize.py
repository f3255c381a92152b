"""``optimize_for_inference``: BatchNorm folded into the convolutions before it, channels-last,
``torch.compile`` with Inductor's freezing, in fp32, bf16 or int8 (PT2E static quantisation).

Freezing turns weights into constants (oneDNN weight prepacking, conv+bias+ReLU fusion, int8
qconv fusion); Inductor only freezes when grad is off, so the returned module runs under
``torch.no_grad()``. Contract: float32 NCHW in, float32 logits out, eval only.
"""

import copy
import time
import types
import warnings
from collections.abc import Callable
from typing import Any, Literal

import torch
import torch.nn as nn

from ..errors import InvalidArgumentError
from ..models import ResNetBase
from .quantize import Calibration, calibration_batches, quantize_int8

Precision = Literal["fp32", "bf16", "fp16", "int8"]
PRECISIONS = ("fp32", "bf16", "fp16", "int8")
_BN = nn.modules.batchnorm._BatchNorm
# Patched around every call rather than passed as torch.compile(options=...): Dynamo reads ``freezing``
# while tracing to make tensor attributes (the quantised weights) constants; recompiles happen inside too.
INDUCTOR_CONFIG = {"freezing": True}


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


def fold_batchnorm(model: ResNetBase, inplace: bool = False) -> ResNetBase:
    """An eval-mode, grad-free model with every conv-following BatchNorm folded away.

    Pre-activation BNs (ResNet v2's ``norm1`` and final ``norm``) act on a block's input, not on a
    conv output, and stay."""
    model = (model if inplace else copy.deepcopy(model)).eval()
    for conv, owner, bn_name in conv_bn_pairs(model):
        fold_conv_bn(conv, getattr(owner, bn_name))
        setattr(owner, bn_name, nn.Identity())
    return model.requires_grad_(False)


def bf16_unsupported_reason(device: torch.device) -> str | None:
    """Why bf16 would not pay off here, or None when the hardware computes it natively."""
    if device.type == "cuda":
        return None if torch.cuda.is_bf16_supported() else "this GPU has no native bf16"
    if not torch.backends.mkldnn.is_available():
        return "this PyTorch build has no oneDNN (mkldnn)"
    # oneDNN reports bf16 "supported" on any AVX-512 CPU by emulating it, which is slower than fp32
    if not (torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()):
        return "the CPU has neither AVX512_BF16 nor AMX (oneDNN would emulate bf16, slower than fp32)"
    return None


class _Graph(nn.Module):
    """What gets compiled: the input in the compute dtype and memory layout, float32 logits out."""

    def __init__(self, model: nn.Module, dtype: torch.dtype, channels_last: bool) -> None:
        super().__init__()
        self.model, self.dtype, self.channels_last = model, dtype, channels_last
        # Dynamo keys its cache, recompile limit (8) and automatic-dynamic state on the code object;
        # frozen weights make each model instance its own entry, so each instance gets its own code.
        fn = _Graph.forward
        self.forward = types.MethodType(  # type: ignore[method-assign]  # a per-instance copy, see above
            types.FunctionType(fn.__code__.replace(), fn.__globals__, fn.__name__), self
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return self.model(x.to(self.dtype)).float()


class InferenceModule(nn.Module):
    """The result of :func:`optimize_for_inference`: eval only; ``precision`` says what runs,
    ``build_seconds`` what folding, quantising and compiling cost."""

    def __init__(self, graph: nn.Module, precision: str, compiled: bool, num_classes: int) -> None:
        super().__init__()
        self.graph = graph
        self.precision, self.compiled, self.num_classes = precision, compiled, num_classes
        self.build_seconds = 0.0
        self.training = False

    def train(self, mode: bool = True) -> "InferenceModule":
        if mode:
            raise InvalidArgumentError("an optimized model is inference-only; fine-tune the original model")
        return self  # children stay as they are (exported graphs refuse .eval())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            if not self.compiled:
                return self.graph(x)
            with torch._inductor.config.patch(INDUCTOR_CONFIG):
                return self.graph(x)


def _weight_transform(model: nn.Module) -> Callable[[Any], torch.Tensor] | None:
    """The eval transform of the weight a model was loaded with, if it has one."""
    for attr in ("weights", "pretrained_cfg"):
        record = getattr(model, attr, None)
        if hasattr(record, "transforms"):
            return record.transforms()  # type: ignore[union-attr]  # a Weights record
    return None


def _resolve_precision(precision: str, device: torch.device) -> str:
    if precision not in PRECISIONS:
        raise InvalidArgumentError(f"precision={precision!r} is not supported; choose one of {list(PRECISIONS)}")
    if precision == "bf16" and (reason := bf16_unsupported_reason(device)):
        warnings.warn(f"bf16 requested but {reason}; running fp32 instead", RuntimeWarning, stacklevel=3)
        return "fp32"
    if precision == "fp16" and device.type != "cuda":
        raise InvalidArgumentError('precision="fp16" is for GPUs; on a CPU use "bf16" or "int8"')
    if precision == "int8" and device.type != "cpu":
        raise InvalidArgumentError('precision="int8" (oneDNN kernels) runs on the CPU; on a GPU use "bf16"')
    return precision


def optimize_for_inference(
    model: nn.Module,
    precision: Precision = "fp32",
    calibration: Calibration | None = None,
    compile: bool = True,
    example_input: torch.Tensor | None = None,
    channels_last: bool = True,
    inplace: bool = False,
    transform: Callable[[Any], torch.Tensor] | None = None,
    max_calibration_batches: int = 32,
) -> InferenceModule:
    """A fast, eval-only version of a resnet_zoo ``model`` with the same input/output contract.

    Args:
        precision: "fp32"; "bf16" (weights and activations, on CPUs with AVX512_BF16/AMX or GPUs;
            falls back to fp32 with a warning elsewhere); "fp16" (GPUs); "int8" (CPU, static PTQ
            through PT2E: needs ``calibration``; fast only compiled).
        calibration: int8's calibration data: a DataLoader (``x`` or ``(x, y)`` batches), tensor
            batches, or a folder of images read through ``transform`` (default: the weight's own).
        compile: ``torch.compile`` with Inductor freezing; the first call at each new batch size
            compiles (``example_input`` makes that happen here). Compiled kernels are cached by
            Inductor across processes (``TORCHINDUCTOR_CACHE_DIR``).
        channels_last, inplace: memory layout of the input; fold into ``model`` itself.
    """
    if not isinstance(model, ResNetBase):
        raise TypeError(f"optimize_for_inference expects a resnet_zoo model, got {type(model).__name__}")
    start = time.perf_counter()
    device = next(model.parameters()).device
    precision = _resolve_precision(precision, device)  # type: ignore[assignment]  # checked against PRECISIONS
    folded: nn.Module = fold_batchnorm(model, inplace=inplace)
    if channels_last:
        folded = folded.to(memory_format=torch.channels_last)
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision, torch.float32)
    if precision == "int8":
        if calibration is None:
            raise InvalidArgumentError(
                'precision="int8" needs calibration= data: a DataLoader, tensor batches '
                "or a folder of images (a few hundred representative inputs)"
            )
        batches = list(calibration_batches(calibration, max_calibration_batches, transform or _weight_transform(model)))
        if not batches:
            raise InvalidArgumentError("calibration= gave no batch; int8 needs at least one")
        example_input = batches[0] if example_input is None else example_input
        folded = quantize_int8(folded, batches)
        if not compile:  # correct, but the quantise/dequantise graph runs as slow reference ops
            warnings.warn(
                'precision="int8" without compile=True runs reference ops (slow); it is for checking '
                "outputs, not for speed",
                RuntimeWarning,
                stacklevel=2,
            )
    graph: nn.Module = _Graph(folded.to(dtype), dtype, channels_last)
    if compile:
        # torch 2.14 Inductor: freezing + a symbolic batch + a 1-channel input gets the first conv's
        # output strides wrong at run time; there, compile one static graph per batch size
        one_channel = getattr(model, "in_chans", 3) == 1
        graph = torch.compile(graph, dynamic=False if one_channel else None)  # type: ignore[assignment]  # a compiled module is a module
    out = InferenceModule(graph, precision, compile, getattr(model, "num_classes", 0))
    if compile and example_input is not None:
        out(example_input.to(device))  # compile now, not on the first user call
    out.build_seconds = time.perf_counter() - start
    return out
