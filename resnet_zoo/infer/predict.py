"""``resnet-zoo predict``: top-k labels of images under a weight's own transform, and a picture."""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn

from ..errors import InvalidArgumentError
from ..factory import load_reference

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm")
GRID_CELL = 160  # each image is drawn in a GRID_CELL square
GRID_CAPTION = 24  # with a caption strip below it
GRID_COLUMNS = 4


@dataclass(frozen=True)
class Predictor:
    model: nn.Module
    transform: Any
    labels: list[str]

    def __call__(self, images: list[Any], topk: int = 5) -> list[list[tuple[str, float]]]:
        if not isinstance(topk, int) or topk < 1:
            raise InvalidArgumentError(f"--topk {topk!r} must be a whole number >= 1 (1 gives the top label)")
        if not images:
            return []
        batch = torch.stack([self.transform(img) for img in images])
        with torch.no_grad():
            probs = self.model.eval()(batch).softmax(-1)
        k = min(topk, probs.shape[1])
        values, indices = probs.topk(k, dim=1)
        return [
            [(self.labels[i], float(p)) for p, i in zip(row_p.tolist(), row_i.tolist())]
            for row_p, row_i in zip(values, indices)
        ]


def load_predictor(model_ref: str, hub_dir: str | None = None) -> Predictor:
    """A weight tag / arch name (its default weight), ``hf-hub:``/``local-dir:`` repos, or a
    ``finetune`` output (folder or its ``model.safetensors``): the model with its own transform
    and class names."""
    model, weight = load_reference(model_ref, hub_dir=hub_dir)
    if weight is None:
        raise InvalidArgumentError(
            f"--model {model_ref!r} has no weights to predict with; give a weight tag, an architecture with "
            "weights, a finetune output folder or an hf-hub:/local-dir: repo"
        )
    return Predictor(model, weight.transforms(), weight.labels())


def image_files(paths: list[str]) -> list[tuple[str, str | None]]:
    """Files to predict on: each file as given, each directory's image files (recursively, sorted).
    Returns (path, error) pairs: error is None, or why the path cannot be used (missing, empty folder)."""
    found: list[tuple[str, str | None]] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            inside = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
            if not inside:
                found.append((given, f"folder holds no image files ({', '.join(IMAGE_SUFFIXES[:4])}, ...)"))
            found += [(str(p), None) for p in inside]
        elif not path.exists():
            found.append((given, "no such file or folder"))
        else:
            found.append((given, None))
    return found


def write_grid(images: list[Any], results: list[list[tuple[str, float]]], out: str | Path) -> tuple[int, int]:
    """A PNG of the images (GRID_COLUMNS per row) each captioned with its top-1 label and probability;
    returns its (width, height)."""
    from PIL import Image, ImageDraw

    cols = min(GRID_COLUMNS, len(images))
    rows = -(-len(images) // cols)
    width, height = cols * GRID_CELL, rows * (GRID_CELL + GRID_CAPTION)
    grid = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(grid)
    for i, (img, preds) in enumerate(zip(images, results)):
        x, y = (i % cols) * GRID_CELL, (i // cols) * (GRID_CELL + GRID_CAPTION)
        thumb = img.convert("RGB")
        scale = (GRID_CELL - 8) / max(thumb.size)
        thumb = thumb.resize(
            (max(1, round(thumb.width * scale)), max(1, round(thumb.height * scale))),
            Image.Resampling.NEAREST if max(img.size) < 64 else Image.Resampling.BILINEAR,
        )
        grid.paste(thumb, (x + (GRID_CELL - thumb.width) // 2, y + (GRID_CELL - thumb.height) // 2))
        label, prob = preds[0]
        draw.text((x + 4, y + GRID_CELL + 4), f"{label[:22]} {prob:.2f}", fill="black")
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    grid.save(out, format="PNG")
    return width, height
