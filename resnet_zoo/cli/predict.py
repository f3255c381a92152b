"""``predict``: top-k labels of image files and folders, in batches, as text or JSON."""

import argparse
import json
import sys
from typing import Any

from ..errors import InvalidArgumentError
from ..infer.predict import image_files, load_predictor, write_grid
from .common import add_command


def _open(path: str) -> Any:
    from PIL import Image

    with Image.open(path) as img:
        img.load()
        return img.copy()


def cmd_predict(args: argparse.Namespace) -> int:
    if args.topk < 1:
        raise InvalidArgumentError(f"--topk {args.topk} must be >= 1 (1 gives the top label only)")
    if args.batch_size < 1:
        raise InvalidArgumentError(f"--batch-size {args.batch_size} must be >= 1")
    predictor = load_predictor(args.model, hub_dir=args.hub_dir)
    files = image_files(args.images)
    errors = {path: why for path, why in files if why is not None}
    todo = [path for path, why in files if why is None]
    results: dict[str, list[tuple[str, float]]] = {}
    shown: list[Any] = []
    for start in range(0, len(todo), args.batch_size):
        batch: list[tuple[str, Any]] = []
        for path in todo[start : start + args.batch_size]:
            try:
                batch.append((path, _open(path)))
            except (OSError, ValueError, SyntaxError) as e:
                errors[path] = f"cannot read image: {e}"
        for (path, img), preds in zip(batch, predictor([img for _, img in batch], topk=args.topk)):
            results[path] = preds
            if args.grid:
                shown.append((img, preds))
            if not args.json:
                print(f"{path}: " + ", ".join(f"{label} {prob:.3f}" for label, prob in preds), flush=True)
    if args.json:
        rows = [{"path": p, "top": [{"label": lb, "prob": round(pr, 6)} for lb, pr in r]} for p, r in results.items()]
        rows += [{"path": p, "error": why} for p, why in errors.items()]
        print(json.dumps(rows, indent=1))
    for path, why in errors.items():
        print(f"error: {path}: {why}", file=sys.stderr)
    if args.grid and shown:
        width, height = write_grid([i for i, _ in shown], [r for _, r in shown], args.grid)
        print(f"wrote {args.grid} ({width}x{height})", file=sys.stderr if args.json else sys.stdout)
    if errors:
        print(f"{len(errors)} of {len(files)} input(s) failed; {len(results)} predicted", file=sys.stderr)
    return 1 if errors else 0


def add_parsers(sub: Any) -> None:
    p = add_command(
        sub,
        "predict",
        "top-k labels of images and folders of images, with the weight's own transform",
        "  resnet-zoo predict digits_png/ --model cifar_resnet20.digits --topk 3\n"
        "  resnet-zoo predict a.jpg b.png --model resnet50.a1_in1k --json\n"
        "  resnet-zoo predict photos/ --model runs/photos/best --batch-size 64 --grid grid.png",
    )
    p.add_argument("images", nargs="+", help="image files and folders (searched recursively for images)")
    p.add_argument(
        "--model", required=True, help="weight tag, architecture (its default weight) or a finetune output folder"
    )
    p.add_argument("--topk", type=int, default=5, help="how many labels per image (>= 1)")
    p.add_argument("--batch-size", type=int, default=32, help="images per forward pass")
    p.add_argument("--json", action="store_true", help="one JSON list: path with top labels, or path with error")
    p.add_argument("--grid", help="also write a PNG of the images with their top-1 label")
    p.add_argument("--hub-dir", help="a local hub directory to load weights from")
    p.set_defaults(func=cmd_predict)
