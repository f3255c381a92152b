"""Datasets for fine-tuning: an ImageFolder-layout directory (Pillow decoding) or the built-in
``digits`` set (scikit-learn's 1,797 real 8x8 handwritten digits)."""

import logging
import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ..errors import InvalidArgumentError

logger = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm")
DIGITS_SPLIT = dict(test_size=0.25, random_state=0)  # stratified by label


def digit_image(values: Any) -> Any:
    """One 8x8 digit (values 0..16) as the 8-bit grayscale PIL image the transforms take."""
    from PIL import Image

    pixels = bytes(int(round(float(v) * 255 / 16)) for v in values)
    return Image.frombytes("L", (8, 8), pixels)


def load_digits_split() -> tuple[list[Any], list[int], list[Any], list[int]]:
    """(train images, train labels, held-out images, held-out labels): scikit-learn's digits with
    ``train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)``."""
    try:
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split
    except ImportError:
        raise InvalidArgumentError("the digits dataset needs scikit-learn: pip install scikit-learn") from None
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, **DIGITS_SPLIT)
    return (
        [digit_image(r) for r in X_train],
        [int(v) for v in y_train],
        [digit_image(r) for r in X_test],
        [int(v) for v in y_test],
    )


@dataclass
class Split:
    """Images (PIL, or paths decoded on access) with integer labels."""

    items: list[Any]
    labels: list[int]


def image_mode(item: Any) -> str:
    """The PIL mode of an item of a :class:`Split` ("L", "RGB", ...), opening a path lazily."""
    if isinstance(item, Path):
        from PIL import Image

        with Image.open(item) as img:
            return str(img.mode)
    return str(item.mode)


class ImageDataset(torch.utils.data.Dataset):
    def __init__(self, split: Split, transform: Callable[[Any], torch.Tensor]) -> None:
        self.split = split
        self.transform = transform

    def __len__(self) -> int:
        return len(self.split.items)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        item = self.split.items[index]
        if isinstance(item, Path):
            from PIL import Image

            with Image.open(item) as img:
                item = img.convert("RGB")
        return self.transform(item), self.split.labels[index]


def _readable(path: Path) -> bool:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            img.verify()
        return True
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return False


def _scan_classes(root: Path) -> tuple[list[str], list[Path], list[int], int]:
    classes = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    paths, labels, skipped = [], [], 0
    unreadable: list[Path] = []
    for index, name in enumerate(classes):
        for f in sorted((root / name).rglob("*")):
            if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES:
                if _readable(f):
                    paths.append(f)
                    labels.append(index)
                else:
                    skipped += 1
                    unreadable.append(f)
    for f in unreadable:
        logger.warning("skipped unreadable image %s", f)
    return classes, paths, labels, skipped


def load_image_folder(
    root: str | Path, val_fraction: float = 0.2, seed: int = 0
) -> tuple[list[str], Split, Split, int]:
    """(class names, train split, val split, unreadable files skipped) of an ImageFolder directory:
    ``root/<class>/*.jpg`` split by ``val_fraction`` per class, or ``root/train`` + ``root/val``."""
    root = Path(root)
    if not root.is_dir():
        raise InvalidArgumentError(
            f"data folder {str(root)!r} does not exist; give a directory with one "
            "sub-folder of images per class, or --data digits"
        )
    if (root / "train").is_dir() and (root / "val").is_dir():
        classes, train_paths, train_labels, skipped = _scan_classes(root / "train")
        val_classes, val_paths, val_labels, val_skipped = _scan_classes(root / "val")
        if val_classes != classes:
            raise InvalidArgumentError(
                f"{root}/train and {root}/val have different classes: {classes} vs {val_classes}"
            )
        train, val, skipped = Split(train_paths, train_labels), Split(val_paths, val_labels), skipped + val_skipped
    else:
        classes, paths, labels, skipped = _scan_classes(root)
        rng = random.Random(seed)
        train, val = Split([], []), Split([], [])
        for label in range(len(classes)):
            members = [p for p, y in zip(paths, labels) if y == label]
            rng.shuffle(members)
            n_val = min(len(members) - 1, max(1, math.floor(len(members) * val_fraction))) if len(members) > 1 else 0
            for i, p in enumerate(members):
                target = val if i < n_val else train
                target.items.append(p)
                target.labels.append(label)
    if not train.items:
        raise InvalidArgumentError(
            f"data folder {str(root)!r} holds no readable images ({skipped} unreadable); "
            f"expected {root}/<class>/<image> with suffixes {', '.join(IMAGE_SUFFIXES[:5])}, ..."
        )
    if len(classes) < 2:
        raise InvalidArgumentError(
            f"data folder {str(root)!r} has {len(classes)} class ({classes}); a classifier "
            "needs at least two class sub-folders"
        )
    if skipped:
        logger.warning("skipped %d unreadable image file(s) under %s", skipped, root)
    return classes, train, val, skipped


def export_digits(out_dir: str | Path, split: str = "test", rotate: int = 0, limit: int | None = None) -> int:
    """Write scikit-learn digits as PNGs, ``out_dir/<label>/<index>.png`` (an ImageFolder), for trying
    ``predict`` and ``finetune``; ``rotate`` (degrees) makes a derived task. Returns the count."""
    xtr, ytr, xte, yte = load_digits_split()
    images, labels = (xte, yte) if split == "test" else (xtr, ytr)
    out = Path(out_dir)
    n = 0
    for index, (img, label) in enumerate(zip(images, labels)):
        if limit is not None and n >= limit:
            break
        folder = out / str(label)
        folder.mkdir(parents=True, exist_ok=True)
        (img.rotate(rotate) if rotate else img).save(folder / f"{index:04d}.png")
        n += 1
    return n
