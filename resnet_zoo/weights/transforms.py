"""Eval preprocessing of a weight, from its manifest entry: PIL image -> normalised CHW tensor.

Written with PIL and torch alone, step for step what timm's ``create_transform(**resolve_data_config(
...))`` does through torchvision for a PIL input (resize the shorter side to size / crop_pct,
centre crop, to [0, 1], normalise), so the tensors are identical without torchvision at runtime.
"""

import math
from dataclasses import dataclass
from typing import Any

import torch

from ..errors import InvalidArgumentError


@dataclass(frozen=True)
class Preprocessing:
    input_size: tuple[int, int, int]
    interpolation: str
    mean: tuple[float, ...]
    std: tuple[float, ...]
    crop_pct: float
    crop_mode: str = "center"
    test_input_size: tuple[int, int, int] | None = None
    test_crop_pct: float | None = None
    channel_order: str = "RGB"  # Keras' caffe-mode weights expect "BGR"
    scale: float = 1.0  # multiply [0, 1] pixels by this before mean/std (255 for caffe mode)


def resample(interpolation: str) -> int:
    from PIL import Image

    return {
        "bilinear": Image.Resampling.BILINEAR,
        "bicubic": Image.Resampling.BICUBIC,
        "nearest": Image.Resampling.NEAREST,
    }[interpolation]


def check_image(img: Any, what: str = "transforms()") -> None:
    """A transform takes a PIL image; anything else is refused with what to do instead."""
    if isinstance(img, torch.Tensor):
        raise InvalidArgumentError(
            f"{what} takes a PIL image, got a torch.Tensor of shape {tuple(img.shape)}; open the file with "
            "PIL.Image.open(path), or convert a uint8 HWC array with PIL.Image.fromarray(array). A tensor that is "
            "already resized and normalised goes straight to the model"
        )
    if not (hasattr(img, "mode") and isinstance(getattr(img, "size", None), tuple)):
        raise InvalidArgumentError(
            f"{what} takes a PIL image, got {type(img).__module__}.{type(img).__name__}; open the file with "
            "PIL.Image.open(path), or convert an array with PIL.Image.fromarray(array)"
        )


@dataclass(frozen=True)
class EvalTransform:
    size: tuple[int, int]  # (height, width) of the crop
    crop_pct: float
    crop_mode: str
    interpolation: str
    mean: tuple[float, ...]
    std: tuple[float, ...]
    channels: int = 3
    channel_order: str = "RGB"
    scale: float = 1.0

    def resize(self, img: Any) -> Any:
        h, w = self.size
        scale_h, scale_w = math.floor(h / self.crop_pct), math.floor(w / self.crop_pct)
        if self.crop_mode == "squash":
            return img.resize((scale_w, scale_h), resample(self.interpolation))
        if scale_h != scale_w:
            return img.resize((scale_w, scale_h), resample(self.interpolation))
        # torchvision's Resize(int): the shorter side becomes scale_h, the longer keeps the aspect ratio
        width, height = img.size
        short, long = (width, height) if width <= height else (height, width)
        if short == scale_h:
            return img
        new_short, new_long = scale_h, int(scale_h * long / short)
        new_w, new_h = (new_short, new_long) if width <= height else (new_long, new_short)
        return img.resize((new_w, new_h), resample(self.interpolation))

    def center_crop(self, img: Any) -> Any:
        th, tw = self.size
        width, height = img.size
        if tw > width or th > height:  # pad like torchvision's CenterCrop, then crop
            from PIL import Image

            padded = Image.new(img.mode, (max(width, tw), max(height, th)))
            padded.paste(img, ((max(width, tw) - width) // 2, (max(height, th) - height) // 2))
            img, (width, height) = padded, padded.size
        top, left = int(round((height - th) / 2.0)), int(round((width - tw) / 2.0))
        return img.crop((left, top, left + tw, top + th))

    def to_tensor(self, img: Any) -> torch.Tensor:
        mode = "L" if self.channels == 1 else "RGB"
        if img.mode != mode:
            img = img.convert(mode)
        data = torch.frombuffer(bytearray(img.tobytes()), dtype=torch.uint8)
        x = data.view(img.size[1], img.size[0], self.channels).permute(2, 0, 1).float().div(255)
        if self.channel_order == "BGR":
            x = x.flip(0)
        return x * self.scale if self.scale != 1.0 else x

    def __call__(self, img: Any) -> torch.Tensor:
        check_image(img)
        x = self.to_tensor(self.center_crop(self.resize(img)))
        mean = torch.tensor(self.mean).view(-1, 1, 1)
        std = torch.tensor(self.std).view(-1, 1, 1)
        return (x - mean) / std


def eval_transform(pre: Preprocessing, test_size: bool = False) -> EvalTransform:
    size = pre.test_input_size if test_size and pre.test_input_size else pre.input_size
    crop_pct = pre.test_crop_pct if test_size and pre.test_crop_pct else pre.crop_pct
    return EvalTransform(
        size=(size[1], size[2]),
        crop_pct=crop_pct,
        crop_mode=pre.crop_mode,
        interpolation=pre.interpolation,
        mean=tuple(pre.mean),
        std=tuple(pre.std),
        channels=size[0],
        channel_order=pre.channel_order,
        scale=pre.scale,
    )
