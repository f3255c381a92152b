"""``export``: a model for deployment, checked against PyTorch before success is reported."""

import argparse
from typing import Any

from ..infer.export import ONNX_DEFAULT_OPSET, ONNX_MAX_OPSET, ONNX_MIN_OPSET, ONNX_TOLERANCE, export_onnx
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
