"""``resnet-zoo validate``: top-1/top-5 and loss of a model on a labelled ImageFolder, with the
weight's own eval transform, reported in timm's ``results-*.csv`` columns beside the accuracy the
weight's manifest entry reports (timm's ``validate.py``, for one weight at a time)."""

import csv
import json
import logging
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from ..errors import InvalidArgumentError
from ..factory import load_reference
from ..weights.manifest import Weights
from ..weights.transforms import eval_transform

logger = logging.getLogger(__name__)
CSV_COLUMNS = ("model", "img_size", "top1", "top1_err", "top5", "top5_err", "param_count", "crop_pct", "interpolation")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")


@dataclass(frozen=True)
class ValidationResult:
    model: str
    img_size: int
    top1: float
    top1_err: float
    top5: float
    top5_err: float
    param_count: float  # millions, as timm's results
    crop_pct: float
    interpolation: str
    loss: float
    images: int
    seconds: float
    reported_top1: float | None = None  # what the weight's manifest entry reports (its own citation)
    reported_top5: float | None = None

    def csv_row(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in CSV_COLUMNS}

    def to_json(self) -> str:
        return json.dumps(asdict(self))


def imagenet_synsets() -> list[str]:
    text = (resources.files("resnet_zoo") / "data" / "imagenet-1k-synsets.txt").read_text()
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def class_mapping(folders: list[str], weight: Weights, class_map: str | None = None) -> dict[str, int]:
    """Folder name -> the model's class index: by ``class_map`` (a file of one name per line, in class
    order), by the weight's class names, or by ImageNet synset ids for ImageNet-1k weights."""
    if class_map:
        names = [line.strip() for line in Path(class_map).read_text().splitlines() if line.strip()]
        mapping = {name: i for i, name in enumerate(names)}
    else:
        mapping = {name: i for i, name in enumerate(weight.labels())}
        if weight.label_set == "imagenet-1k" or weight.num_classes == 1000:
            mapping.update({s: i for i, s in enumerate(imagenet_synsets())})
    unknown = [f for f in folders if f not in mapping]
    if unknown:
        known = list(mapping)[:5]
        raise InvalidArgumentError(
            f"folder(s) {unknown[:5]} match no class of {weight.name} (its classes: {known}...); name the "
            "folders after the weight's classes (or ImageNet synset ids such as n01440764), or give --class-map "
            "FILE with one folder name per line in class order"
        )
    return {f: mapping[f] for f in folders}


def scan_folder(root: Path) -> tuple[list[str], list[tuple[Path, str]]]:
    if not root.is_dir():
        raise InvalidArgumentError(f"--data {str(root)!r} is not a directory of class folders")
    folders = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    items = [
        (f, name)
        for name in folders
        for f in sorted((root / name).rglob("*"))
        if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES
    ]
    if not items:
        raise InvalidArgumentError(f"--data {str(root)!r} holds no images in class sub-folders")
    return folders, items


class _Images(torch.utils.data.Dataset):
    def __init__(self, items: list[tuple[Path, int]], transform: Any) -> None:
        self.items, self.transform = items, transform

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        from PIL import Image

        path, label = self.items[i]
        with Image.open(path) as img:
            return self.transform(img.convert("RGB")), label


def validate(
    model: str,
    data: str | Path,
    batch_size: int = 64,
    workers: int = 0,
    channels_last: bool = False,
    amp: str | None = None,
    test_size: bool = False,
    img_size: int | None = None,
    crop_pct: float | None = None,
    class_map: str | None = None,
    hub_dir: str | None = None,
    device: str = "cpu",
    progress: bool = False,
) -> ValidationResult:
    """Top-1/top-5 (%) and mean cross-entropy of ``model`` (tag, arch, repo or finetune folder) on
    the ImageFolder ``data``. ``amp``: None, "bf16" or "fp16" autocast."""
    net, weight = load_reference(model, hub_dir=hub_dir)
    if weight is None:
        raise InvalidArgumentError(f"{model!r} has no weights to validate; give a weight tag, repo or folder")
    transform = eval_transform(weight.preprocessing, test_size=test_size)
    if img_size is not None:
        transform = replace(transform, size=(img_size, img_size))
    if crop_pct is not None:
        transform = replace(transform, crop_pct=crop_pct)
    folders, files = scan_folder(Path(data))
    mapping = class_mapping(folders, weight, class_map)
    loader = torch.utils.data.DataLoader(
        _Images([(f, mapping[name]) for f, name in files], transform), batch_size=batch_size, num_workers=workers
    )
    net = net.to(device).eval()
    if channels_last:
        net = net.to(memory_format=torch.channels_last)
    start = time.perf_counter()
    correct1, correct5, loss_sum, n = _run(net, loader, device, channels_last, amp, progress)
    top1, top5 = 100.0 * correct1 / n, 100.0 * correct5 / n
    reported = next((r for r in weight.reported if r.img_size == transform.size[0]), None)
    return ValidationResult(
        model=weight.name,
        img_size=transform.size[0],
        top1=round(top1, 3),
        top1_err=round(100 - top1, 3),
        top5=round(top5, 3),
        top5_err=round(100 - top5, 3),
        param_count=round(sum(p.numel() for p in net.parameters()) / 1e6, 2),
        crop_pct=transform.crop_pct,
        interpolation=transform.interpolation,
        loss=round(loss_sum / n, 4),
        images=n,
        seconds=round(time.perf_counter() - start, 2),
        reported_top1=reported.top1 if reported else None,
        reported_top5=reported.top5 if reported else None,
    )


def _run(
    net: Any, loader: Any, device: str, channels_last: bool, amp: str | None, progress: bool
) -> tuple[int, int, float, int]:
    if amp not in (None, "bf16", "fp16"):
        raise InvalidArgumentError(f"amp={amp!r}: use 'bf16' or 'fp16' (or leave it out for float32)")
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(amp or "")
    autocast = torch.autocast(torch.device(device).type, dtype=dtype) if dtype else nullcontext()
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(loader.dataset), unit="img", desc="validate")
    correct1 = correct5 = 0
    loss_sum = 0.0
    with torch.no_grad():
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            if channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            with autocast:
                logits = net(x).float()
            loss_sum += F.cross_entropy(logits, y, reduction="sum").item()
            top = logits.topk(min(5, logits.shape[1]), dim=1).indices
            correct1 += (top[:, 0] == y).sum().item()
            correct5 += (top == y[:, None]).any(dim=1).sum().item()
            if bar is not None:
                bar.update(len(y))
    if bar is not None:
        bar.close()
    return correct1, correct5, loss_sum, len(loader.dataset)


def write_results(result: ValidationResult, csv_path: str | None = None, json_path: str | None = None) -> None:
    """Append the row to a CSV in timm's results columns (header written once) and/or write JSON."""
    if csv_path:
        path = Path(csv_path)
        new = not path.exists() or path.stat().st_size == 0
        with path.open("a", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=CSV_COLUMNS)
            if new:
                writer.writeheader()
            writer.writerow(result.csv_row())
    if json_path:
        Path(json_path).write_text(result.to_json() + "\n")
