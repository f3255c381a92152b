"""``export``, ``validate``: a model for deployment, checked against PyTorch before success is
reported, and its accuracy on a labelled folder."""

import argparse
from typing import Any

from ..infer.export import (
    ONNX_DEFAULT_OPSET,
    ONNX_MAX_OPSET,
    ONNX_MIN_OPSET,
    ONNX_TOLERANCE,
    export_onnx,
    export_program,
    export_torchscript,
)
from ..infer.validate import validate, write_results
from .common import add_command


def cmd_export_onnx(args: argparse.Namespace) -> int:
    r = export_onnx(
        args.name,
        args.out,
        dynamic_batch=args.dynamic_batch,
        opset=args.opset,
        hub_dir=args.hub_dir,
        dynamic_shape=args.dynamic_shape,
    )
    dynamic = any(isinstance(d, str) for d in r.input_shape)
    shape = (" x " if dynamic else "x").join(map(str, r.input_shape))
    checked = ", ".join("x".join(map(str, s)) for s in r.shapes_checked)
    print(
        f"wrote {r.path} ({r.path.stat().st_size / 2**20:.1f} MiB): format ONNX, opset {r.opset}, input "
        f"{shape}; onnxruntime matches PyTorch: max |Δ| {r.max_abs_diff:.2e} "
        f"at {checked} (tolerance {ONNX_TOLERANCE:g})"
    )
    return 0


def cmd_export_torch(args: argparse.Namespace) -> int:
    export = export_torchscript if args.export_format == "torchscript" else export_program
    r = export(args.name, args.out, hub_dir=args.hub_dir)
    print(
        f"wrote {r.path} ({r.path.stat().st_size / 2**20:.1f} MiB); loaded back, it matches eager PyTorch: "
        f"max |d| {r.max_abs_diff:.2e} at batch {', '.join(map(str, r.batches_checked))} (tolerance {ONNX_TOLERANCE:g})"
    )
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from ..tools.tables import text_table

    r = validate(
        args.model,
        args.data,
        batch_size=args.batch_size,
        workers=args.workers,
        channels_last=args.channels_last,
        amp=args.amp,
        test_size=args.test_size,
        img_size=args.img_size,
        crop_pct=args.crop_pct,
        class_map=args.class_map,
        hub_dir=args.hub_dir,
        device=args.device,
        progress=not args.no_progress,
    )
    reported = "-" if r.reported_top1 is None else f"{r.reported_top1:.3f}"
    row = [r.model, str(r.img_size), f"{r.top1:.3f}", f"{r.top5:.3f}", f"{r.loss:.4f}", str(r.images), reported]
    print(text_table([row], ["model", "img_size", "top1", "top5", "loss", "images", "reported top1"]))
    write_results(r, args.results_csv, args.results_json)
    if args.json:
        print(r.to_json())
    return 0


def add_parsers(sub: Any) -> None:
    p = add_command(
        sub,
        "export",
        "export a model for deployment",
        "  resnet-zoo export onnx cifar_resnet20.digits --out digits.onnx --dynamic-shape",
    )
    esub = p.add_subparsers(dest="export_format", required=True, metavar="FORMAT")
    e = add_command(
        esub,
        "onnx",
        "ONNX with labels and preprocessing in its metadata, checked with onnxruntime before it reports success",
        "  resnet-zoo export onnx cifar_resnet20.digits --out digits.onnx --dynamic-shape\n"
        "  resnet-zoo export onnx resnet18 --out resnet18.onnx --opset 20 --dynamic-batch",
    )
    e.add_argument("name", help="architecture (random init) or weight tag (its weights)")
    e.add_argument("--out", required=True, help="the .onnx file to write")
    e.add_argument("--dynamic-batch", action="store_true", help="a variable batch dimension")
    e.add_argument(
        "--dynamic-shape", action="store_true", help="variable batch, height and width (checked at two sizes)"
    )
    e.add_argument(
        "--opset",
        type=int,
        help=f"ONNX opset, {ONNX_MIN_OPSET} to {ONNX_MAX_OPSET} (default: the exporter's, {ONNX_DEFAULT_OPSET})",
    )
    e.add_argument("--hub-dir", help="a local hub directory to load weights from")
    e.set_defaults(func=cmd_export_onnx)

    for fmt, what, suffix in (
        ("torchscript", "TorchScript (torch.jit.script), loaded back and checked against eager", "pt"),
        ("exported-program", "torch.export program with a dynamic batch, loaded back and checked", "pt2"),
    ):
        e = add_command(esub, fmt, what, f"  resnet-zoo export {fmt} cifar_resnet20.digits --out digits.{suffix}")
        e.add_argument(
            "name", help="architecture (random init), weight tag, hf-hub:/local-dir: repo or finetune folder"
        )
        e.add_argument("--out", required=True, help="the file to write")
        e.add_argument("--hub-dir", help="a local hub directory to load weights from")
        e.set_defaults(func=cmd_export_torch)

    add_validate_parser(sub)


def add_validate_parser(sub: Any) -> None:
    p = add_command(
        sub,
        "validate",
        "top-1/top-5 and loss on a labelled ImageFolder, with the weight's eval transform (timm's validate.py)",
        "  resnet-zoo digits export --out heldout && resnet-zoo validate cifar_resnet20.digits --data heldout\n"
        "  resnet-zoo validate resnet50.a1_in1k --data imagenet/val --test-size --amp bf16 --results-csv r.csv",
    )
    p.add_argument(
        "model", help="weight tag, architecture (its default weight), hf-hub:/local-dir: repo or finetune folder"
    )
    p.add_argument("--data", required=True, help="ImageFolder: one sub-folder per class (class names or synset ids)")
    p.add_argument("--batch-size", type=int, default=64, help="images per batch")
    p.add_argument("--workers", type=int, default=0, help="data-loading worker processes")
    p.add_argument("--channels-last", action="store_true", help="run in channels-last memory format")
    p.add_argument("--amp", choices=("bf16", "fp16"), help="autocast to this dtype")
    p.add_argument("--test-size", action="store_true", help="evaluate at the weight's test_input_size")
    p.add_argument("--img-size", type=int, help="override the crop size")
    p.add_argument("--crop-pct", type=float, help="override the crop fraction")
    p.add_argument("--class-map", help="a file naming the model's classes in order, one folder name a line")
    p.add_argument("--device", default="cpu", help="torch device")
    p.add_argument("--results-csv", help="append the row to this CSV (timm's results-*.csv columns)")
    p.add_argument("--results-json", help="write the result as JSON to this file")
    p.add_argument("--json", action="store_true", help="also print the result as JSON")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--hub-dir", help="a local hub directory to load weights from")
    p.set_defaults(func=cmd_validate)
