"""Training-time augmentation for fine-tuning, ending in a weight's own tensor conversion."""

import math
import random
from dataclasses import dataclass
from typing import Any

import torch

from ..weights.transforms import EvalTransform, resample


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
        if self.mode == "small_affine":
            w, h = img.size
            shift = (round(random.uniform(-0.12, 0.12) * w), round(random.uniform(-0.12, 0.12) * h))
            img = img.rotate(random.uniform(-10, 10), resample=resample("bilinear"), translate=shift)
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
            img = img.resize((tw, th), resample(self.eval.interpolation), box=box)
            x = self.eval.to_tensor(img)
            mean = torch.tensor(self.eval.mean).view(-1, 1, 1)
            x = (x - mean) / torch.tensor(self.eval.std).view(-1, 1, 1)
        if self.hflip and self.mode != "small_affine" and random.random() < 0.5:
            x = x.flip(-1)
        return x
