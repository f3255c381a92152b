"""``export``, ``predict``: a model for deployment, and its predictions on images."""

import argparse
from typing import Any

from ..errors import ResNetZooError
from ..infer.export import ONNX_TOLERANCE, export_onnx
from ..infer.predict import load_predictor, write_grid
from .common import add_command


def cmd_export_onnx(args: argparse.Namespace) -> int:
    r = export_onnx(args.name, args.out, dynamic_batch=args.dynamic_batch, opset=args.opset, hub_dir=args.hub_dir)
    print(
        f"wrote {r.path} ({r.path.stat().st_size / 2**20:.1f} MiB); onnxruntime matches PyTorch: max |d| "
        f"{r.max_abs_diff:.2e} at batch {', '.join(map(str, r.batches_checked))} (tolerance {ONNX_TOLERANCE:g})"
    )
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    from PIL import Image

    predictor = load_predictor(args.model, hub_dir=args.hub_dir)
    images = []
    for path in args.images:
        try:
            with Image.open(path) as img:
                images.append(img.copy())
        except (OSError, ValueError) as e:
            raise ResNetZooError(f"cannot read image {path!r}: {e}") from None
    results = predictor(images, topk=args.topk)
    for path, preds in zip(args.images, results):
        print(f"{path}: " + ", ".join(f"{label} {prob:.3f}" for label, prob in preds))
    if args.grid:
        width, height = write_grid(images, results, args.grid)
        print(f"wrote {args.grid} ({width}x{height})")
    return 0


def add_parsers(sub: Any) -> None:
    p = add_command(sub, "export", "export a model for deployment")
    esub = p.add_subparsers(dest="export_format", required=True)
    e = add_command(
        esub,
        "onnx",
        "ONNX, checked with onnxruntime before it reports success",
        "  resnet-zoo export onnx cifar_resnet20.digits --out digits.onnx --dynamic-batch",
    )
    e.add_argument("name", help="architecture (random init) or weight tag (its weights)")
    e.add_argument("--out", required=True, help="the .onnx file to write")
    e.add_argument("--dynamic-batch", action="store_true", help="a variable batch dimension")
    e.add_argument("--opset", type=int, help="ONNX opset (default: the exporter's)")
    e.add_argument("--hub-dir", help="a local hub directory to load weights from")
    e.set_defaults(func=cmd_export_onnx)

    p = add_command(
        sub,
        "predict",
        "top-k labels of images, with the weight's own transform",
        "  resnet-zoo predict digits/3/0001.png --model cifar_resnet20.digits",
    )
    p.add_argument("images", nargs="+", help="image files")
    p.add_argument("--model", required=True, help="weight tag, architecture, or a finetune checkpoint")
    p.add_argument("--topk", type=int, default=5, help="how many labels per image")
    p.add_argument("--grid", help="also write a PNG of the images with their top-1 label")
    p.add_argument("--hub-dir", help="a local hub directory to load weights from")
    p.set_defaults(func=cmd_predict)
