"""Training-time augmentation for fine-tuning, ending in a weight's own tensor conversion."""

import math
import random
from dataclasses import dataclass
from typing import Any

import torch

from ..weights.transforms import EvalTransform, check_image, resample
from .autoaugment import AutoAugment


@dataclass(frozen=True)
class TrainTransform:
    """Augmentation for fine-tuning, then the weight's own tensor conversion.

    ``random_resized_crop``: a random box of ``scale`` of the area and aspect ``ratio``, resized
    to the input size, a horizontal flip with probability ``hflip``, colour jitter of strength
    ``color_jitter`` and an ``--aa`` policy (RandAugment / TrivialAugment). ``small_affine``:
    rotate up to 10 degrees and shift up to 12 % of the size, for centred inputs such as digits,
    where flips and crops change the label.
    """

    eval: EvalTransform
    mode: str = "random_resized_crop"
    hflip: float = 0.5
    scale: tuple[float, float] = (0.25, 1.0)
    ratio: tuple[float, float] = (3 / 4, 4 / 3)
    color_jitter: float = 0.0
    auto_augment: AutoAugment | None = None

    def __call__(self, img: Any) -> torch.Tensor:
        check_image(img, "TrainTransform")
        if self.mode == "small_affine":
            w, h = img.size
            shift = (round(random.uniform(-0.12, 0.12) * w), round(random.uniform(-0.12, 0.12) * h))
            img = img.rotate(random.uniform(-10, 10), resample=resample("bilinear"), translate=shift)
            img = self._photometric(img)
            return self.eval(img)
        img = self._photometric(self._crop(img))
        x = self.eval.to_tensor(img)
        mean = torch.tensor(self.eval.mean).view(-1, 1, 1)
        x = (x - mean) / torch.tensor(self.eval.std).view(-1, 1, 1)
        if random.random() < self.hflip:
            x = x.flip(-1)
        return x

    def _crop(self, img: Any) -> Any:
        width, height = img.size
        area = width * height
        box = (0, 0, width, height)
        for _ in range(10):
            target = area * random.uniform(*self.scale)
            ratio = math.exp(random.uniform(math.log(self.ratio[0]), math.log(self.ratio[1])))
            w, h = round(math.sqrt(target * ratio)), round(math.sqrt(target / ratio))
            if 0 < w <= width and 0 < h <= height:
                left, top = random.randint(0, width - w), random.randint(0, height - h)
                box = (left, top, left + w, top + h)
                break
        th, tw = self.eval.size
        return img.resize((tw, th), resample(self.eval.interpolation), box=box)

    def _photometric(self, img: Any) -> Any:
        if self.color_jitter > 0:
            from PIL import ImageEnhance

            for kind in random.sample(("Brightness", "Contrast", "Color"), 3):
                factor = random.uniform(max(0.0, 1 - self.color_jitter), 1 + self.color_jitter)
                img = getattr(ImageEnhance, kind)(img).enhance(factor)
        if self.auto_augment is not None:
            img = self.auto_augment(img)
        return img
