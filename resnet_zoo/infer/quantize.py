"""int8 static post-training quantisation through PT2E (torchao's X86 Inductor quantizer).

Per-channel symmetric int8 weights, per-tensor uint8 activations observed on calibration batches.
torchao is an optional extra (``pip install 'resnet-zoo[quantize]'``).
"""

import itertools
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn

from ..errors import InvalidArgumentError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm")
# What calibration data may be: a DataLoader or any iterable of x / (x, y) batches, one tensor batch,
# or an ImageFolder-style directory (images read through the weight's own eval transform).
Calibration = Iterable[Any] | torch.Tensor | str | Path


def calibration_batches(
    calibration: Calibration,
    max_batches: int,
    transform: Callable[[Any], torch.Tensor] | None = None,
    batch_size: int = 25,
) -> Iterator[torch.Tensor]:
    """Float32 NCHW batches from a tensor, an iterable of tensors or ``(x, y)`` pairs, or a folder."""
    if isinstance(calibration, (str, Path)):
        calibration = _folder_batches(Path(calibration), transform, batch_size)
    elif isinstance(calibration, torch.Tensor):
        calibration = [calibration]
    for batch in itertools.islice(calibration, max_batches):
        x = batch[0] if isinstance(batch, (tuple, list)) else batch
        if not isinstance(x, torch.Tensor) or x.dim() != 4:
            raise InvalidArgumentError(
                f"calibration yielded a {type(x).__name__}{tuple(getattr(x, 'shape', ()))}; give NCHW tensor "
                "batches, (x, y) pairs (a DataLoader), or a folder of images"
            )
        yield x.float()


def _folder_batches(
    root: Path, transform: Callable[[Any], torch.Tensor] | None, batch_size: int
) -> Iterator[torch.Tensor]:
    """Images under ``root`` (recursively, sorted) through ``transform``, in batches."""
    if not root.is_dir():
        raise InvalidArgumentError(
            f"calibration folder {str(root)!r} does not exist; give a folder of images "
            "(an ImageFolder works), a DataLoader or tensor batches"
        )
    if transform is None:
        raise InvalidArgumentError(
            "calibration from a folder needs the weight's eval transform: load the model "
            "with pretrained weights, or pass transform="
        )
    try:
        from PIL import Image
    except ImportError:
        raise InvalidArgumentError(
            "calibration from a folder reads images with Pillow: pip install 'resnet-zoo[finetune]'"
        ) from None
    paths = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not paths:
        raise InvalidArgumentError(f"calibration folder {str(root)!r} holds no images ({', '.join(IMAGE_SUFFIXES)})")
    for start in range(0, len(paths), batch_size):
        images = []
        for p in paths[start : start + batch_size]:
            with Image.open(p) as img:
                images.append(transform(img.convert("RGB") if img.mode not in ("L", "RGB") else img.copy()))
        yield torch.stack(images)


def quantize_int8(model: nn.Module, batches: list[torch.Tensor]) -> nn.Module:
    """The PT2E-quantised graph of an eval-mode ``model``, calibrated on ``batches``.

    Exported with a symbolic batch dimension, so one quantisation serves every batch size.
    """
    try:
        from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e
        from torchao.quantization.pt2e.quantizer.x86_inductor_quantizer import (  # importing it also
            X86InductorQuantizer,  # registers the int8 fusion passes with Inductor (a global side effect)
            get_default_x86_inductor_quantization_config,
        )
    except ImportError:
        raise InvalidArgumentError(
            "precision=\"int8\" quantises with torchao: pip install 'resnet-zoo[quantize]'"
        ) from None
    batch = torch.export.Dim("batch", min=1, max=4096)
    example = batches[0] if batches[0].shape[0] > 1 else batches[0].repeat(2, 1, 1, 1)  # a batch of 1 would
    graph = torch.export.export(model, (example,), dynamic_shapes=({0: batch},)).module()  # be specialised
    # without VNNI, uint8 x int8 products can overflow the 16-bit intermediate: use 7-bit activations
    config = get_default_x86_inductor_quantization_config(reduce_range=not torch.cpu._is_vnni_supported())
    prepared = prepare_pt2e(graph, X86InductorQuantizer().set_global(config))
    with torch.no_grad():
        for x in batches:
            prepared(x)
    return convert_pt2e(prepared)
