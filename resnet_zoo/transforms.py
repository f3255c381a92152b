"""Eval preprocessing of a weight, from its manifest entry: PIL image -> normalised CHW tensor.

Written with PIL and torch alone, step for step what timm's ``create_transform(**resolve_data_config(
...))`` does through torchvision for a PIL input (resize the shorter side to size / crop_pct,
centre crop, to [0, 1], normalise), so the tensors are identical without torchvision at runtime.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch

from .manifest import Preprocessing


def _resample(interpolation: str) -> int:
    from PIL import Image

    return {"bilinear": Image.Resampling.BILINEAR, "bicubic": Image.Resampling.BICUBIC,
            "nearest": Image.Resampling.NEAREST}[interpolation]


@dataclass(frozen=True)
class EvalTransform:
    size: tuple[int, int]            # (height, width) of the crop
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
            return img.resize((scale_w, scale_h), _resample(self.interpolation))
        if scale_h != scale_w:
            return img.resize((scale_w, scale_h), _resample(self.interpolation))
        # torchvision's Resize(int): the shorter side becomes scale_h, the longer keeps the aspect ratio
        width, height = img.size
        short, long = (width, height) if width <= height else (height, width)
        if short == scale_h:
            return img
        new_short, new_long = scale_h, int(scale_h * long / short)
        new_w, new_h = (new_short, new_long) if width <= height else (new_long, new_short)
        return img.resize((new_w, new_h), _resample(self.interpolation))

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
        x = self.to_tensor(self.center_crop(self.resize(img)))
        mean = torch.tensor(self.mean).view(-1, 1, 1)
        std = torch.tensor(self.std).view(-1, 1, 1)
        return (x - mean) / std


def eval_transform(pre: Preprocessing, test_size: bool = False) -> EvalTransform:
    size = pre.test_input_size if test_size and pre.test_input_size else pre.input_size
    crop_pct = pre.test_crop_pct if test_size and pre.test_crop_pct else pre.crop_pct
    return EvalTransform(size=(size[1], size[2]), crop_pct=crop_pct, crop_mode=pre.crop_mode,
                         interpolation=pre.interpolation, mean=tuple(pre.mean), std=tuple(pre.std),
                         channels=size[0], channel_order=pre.channel_order, scale=pre.scale)


@dataclass(frozen=True)
class TrainTransform:
    """Light augmentation for fine-tuning, then the weight's own tensor conversion.

    ``random_resized_crop``: a random box of 25-100 % of the area and aspect 3/4-4/3, resized to
    the input size (+ optional horizontal flip). ``small_affine``: rotate up to 10 degrees and shift
    up to 12 % of the size, for centred inputs such as digits, where flips and crops change the label.
    """

    eval: EvalTransform
    mode: str = "random_resized_crop"
    hflip: bool = True

    def __call__(self, img: Any) -> torch.Tensor:
        import random

        if self.mode == "small_affine":
            w, h = img.size
            shift = (round(random.uniform(-0.12, 0.12) * w), round(random.uniform(-0.12, 0.12) * h))
            img = img.rotate(random.uniform(-10, 10), resample=_resample("bilinear"), translate=shift)
            x = self.eval(img)
        else:
            width, height = img.size
            area = width * height
            box = (0, 0, width, height)
            for _ in range(10):
                target = area * random.uniform(0.25, 1.0)
                ratio = math.exp(random.uniform(math.log(3 / 4), math.log(4 / 3)))
                w, h = round(math.sqrt(target * ratio)), round(math.sqrt(target / ratio))
                if 0 < w <= width and 0 < h <= height:
                    left, top = random.randint(0, width - w), random.randint(0, height - h)
                    box = (left, top, left + w, top + h)
                    break
            th, tw = self.eval.size
            img = img.resize((tw, th), _resample(self.eval.interpolation), box=box)
            x = self.eval.to_tensor(img)
            mean = torch.tensor(self.eval.mean).view(-1, 1, 1)
            x = (x - mean) / torch.tensor(self.eval.std).view(-1, 1, 1)
        if self.hflip and self.mode != "small_affine" and random.random() < 0.5:
            x = x.flip(-1)
        return x
