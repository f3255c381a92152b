"""RandAugment and TrivialAugment on PIL images, with Pillow alone (no torchvision at runtime).

Policies are named as timm's ``--aa`` names them: ``rand-m9-n2`` (RandAugment: ``n`` ops per
image at magnitude ``m`` of 10, ``-mstd0.5`` adds noise to the magnitude) and ``trivial``
(TrivialAugmentWide: one op per image at a uniformly drawn magnitude).
"""

import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidArgumentError

MAX_MAGNITUDE = 10


def _enhance(kind: str) -> Callable[[Any, float], Any]:
    def op(img: Any, v: float) -> Any:
        from PIL import ImageEnhance

        factor = 1.0 + (v if random.random() < 0.5 else -v) * 0.9
        return getattr(ImageEnhance, kind)(img).enhance(max(0.0, factor))

    return op


def _affine(kind: str) -> Callable[[Any, float], Any]:
    def op(img: Any, v: float) -> Any:
        from PIL import Image

        sign = 1 if random.random() < 0.5 else -1
        w, h = img.size
        fill = (128,) * len(img.getbands())
        if kind == "rotate":
            return img.rotate(sign * v * 30, resample=Image.Resampling.BILINEAR, fillcolor=fill)
        data = {
            "shear_x": (1, sign * v * 0.3, 0, 0, 1, 0),
            "shear_y": (1, 0, 0, sign * v * 0.3, 1, 0),
            "translate_x": (1, 0, sign * v * 0.45 * w, 0, 1, 0),
            "translate_y": (1, 0, 0, 0, 1, sign * v * 0.45 * h),
        }[kind]
        return img.transform(img.size, Image.Transform.AFFINE, data, Image.Resampling.BILINEAR, fillcolor=fill)

    return op


def _ops_op(kind: str) -> Callable[[Any, float], Any]:
    def op(img: Any, v: float) -> Any:
        from PIL import ImageOps

        if kind == "auto_contrast":
            return ImageOps.autocontrast(img)
        if kind == "equalize":
            return ImageOps.equalize(img)
        if kind == "solarize":
            return ImageOps.solarize(img, round(256 - v * 256))
        if kind == "posterize":
            return ImageOps.posterize(img, max(1, 8 - round(v * 4)))
        return img  # identity

    return op


# op name -> f(PIL image, magnitude in [0, 1])
OPS: dict[str, Callable[[Any, float], Any]] = {
    "identity": _ops_op("identity"),
    "auto_contrast": _ops_op("auto_contrast"),
    "equalize": _ops_op("equalize"),
    "solarize": _ops_op("solarize"),
    "posterize": _ops_op("posterize"),
    "brightness": _enhance("Brightness"),
    "color": _enhance("Color"),
    "contrast": _enhance("Contrast"),
    "sharpness": _enhance("Sharpness"),
    "rotate": _affine("rotate"),
    "shear_x": _affine("shear_x"),
    "shear_y": _affine("shear_y"),
    "translate_x": _affine("translate_x"),
    "translate_y": _affine("translate_y"),
}


@dataclass(frozen=True)
class AutoAugment:
    """A parsed ``--aa`` policy; call it on a PIL image."""

    policy: str
    num_ops: int = 2
    magnitude: float = 9
    magnitude_std: float = 0.0

    def __call__(self, img: Any) -> Any:
        mode = img.mode
        if mode not in ("RGB", "L"):
            img = img.convert("RGB")
        if self.policy == "trivial":
            name = random.choice(list(OPS))
            return OPS[name](img, random.random())
        for name in random.choices(list(OPS), k=self.num_ops):
            m = self.magnitude + (random.gauss(0, self.magnitude_std) if self.magnitude_std else 0.0)
            img = OPS[name](img, min(max(m, 0.0), MAX_MAGNITUDE) / MAX_MAGNITUDE)
        return img


def parse_policy(text: str) -> AutoAugment:
    """``rand-m9-n2[-mstd0.5]`` or ``trivial``; anything else is refused with the accepted forms."""
    if text in ("trivial", "trivialaugment", "ta_wide"):
        return AutoAugment("trivial")
    parts = text.split("-")
    if parts[0] == "rand":
        fields = {"m": 9.0, "n": 2.0, "mstd": 0.0}
        for part in parts[1:]:
            match = re.fullmatch(r"(mstd|m|n)(\d+(?:\.\d+)?)", part)
            if not match:
                break
            fields[match.group(1)] = float(match.group(2))
        else:
            if fields["n"] >= 1 and 0 <= fields["m"] <= MAX_MAGNITUDE:
                return AutoAugment("rand", int(fields["n"]), fields["m"], fields["mstd"])
    raise InvalidArgumentError(
        f"--aa {text!r} is not a policy; use 'rand-m9-n2' (RandAugment: n ops at magnitude m of "
        f"{MAX_MAGNITUDE}, optional -mstd0.5) or 'trivial' (TrivialAugmentWide)"
    )
