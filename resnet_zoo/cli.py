"""The ``resnet-zoo`` command (also ``python -m resnet_zoo``)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from . import __version__
from .errors import ResNetZooError
from .registry import list_models, model_info


def _table(rows: list[list[str]], headers: list[str]) -> str:
    widths = [max(len(str(c)) for c in col) for col in zip(headers, *rows)]
    line = lambda cells: "  ".join(str(c).ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def _cmd_list(args: argparse.Namespace) -> int:
    names = list_models(args.filter or "", exclude=args.exclude or "")
    if args.json:
        print(json.dumps(names))
        return 0
    if args.markdown:
        print(variants_markdown(names))
        return 0
    rows = []
    for name in names:
        info = model_info(name)
        rows.append([name, f"{info.params / 1e6:.2f}", f"{info.gmacs:.2f}", "x".join(map(str, info.input_size[1:])),
                     info.timm_name or "-", info.torchvision_name or "-"])
    print(_table(rows, ["name", "params (M)", "GMACs", "input", "timm", "torchvision"]))
    return 0


def variants_markdown(names: Sequence[str]) -> str:
    """The README's table of variants, generated from the registry."""
    lines = ["| name | params (M) | GMACs | input | timm | torchvision | what it is |",
             "|---|---:|---:|---|---|---|---|"]
    for name in names:
        info = model_info(name)
        lines.append(f"| `{name}` | {info.params / 1e6:.2f} | {info.gmacs:.2f} | "
                     f"{info.input_size[1]}x{info.input_size[2]} | {info.timm_name or '-'} | "
                     f"{info.torchvision_name or '-'} | {info.summary} |")
    return "\n".join(lines)


def _cmd_info(args: argparse.Namespace) -> int:
    info = model_info(args.name)
    out = {
        "name": info.name, "family": info.family, "summary": info.summary, "paper": info.paper,
        "params": info.params, "gmacs": round(info.gmacs, 4), "gflops": round(info.gflops, 4),
        "input_size": list(info.input_size), "feature_info": list(info.feature_info),
        "timm": info.timm_name, "torchvision": info.torchvision_name,
    }
    print(json.dumps(out, indent=2))
    return 0


def _cmd_check(args: argparse.Namespace) -> int:
    from .parity import RTOL, check_parity, has_reference

    selected = args.names or list_models()
    names = [n for n in selected if has_reference(n, args.reference)]
    skipped = [n for n in selected if n not in names]
    if skipped:
        print(f"skipped (no {args.reference} counterpart): {', '.join(skipped)}")
    if not names:
        print(f"no selected model has a {args.reference} counterpart", file=sys.stderr)
        return 2
    # Rows are printed as they finish (a full sweep takes minutes), so widths are fixed up front.
    row = "{:<22} {:>10} {:>7} {:>12} {:>12} {:>10} {:>8} {:>6}".format
    print(row("name", "params (M)", "GMACs", "max|d| eval", "max|d| train", "max|ref|", "result", "time"))
    failures, worst = [], 0.0
    for name in names:
        start = time.perf_counter()
        r = check_parity(name, args.reference, seed=args.seed)
        worst = max(worst, max(r.max_abs_diff_eval, r.max_abs_diff_train) / max(r.reference_scale, 1e-12))
        if not r.ok:
            failures.append(name)
        print(row(name, f"{r.params / 1e6:.2f}", f"{r.gmacs:.2f}", f"{r.max_abs_diff_eval:.2e}",
                  f"{r.max_abs_diff_train:.2e}", f"{r.reference_scale:.2e}", "ok" if r.ok else "MISMATCH",
                  f"{time.perf_counter() - start:.1f}s"), flush=True)
    print(f"\n{len(names) - len(failures)}/{len(names)} match {args.reference} "
          f"(tolerance {RTOL:g} x max|ref|; worst relative |d| {worst:.2e})")
    if failures:
        print(f"MISMATCH: {', '.join(failures)}", file=sys.stderr)
        return 1
    return 0


REPO_ROOT = Path(__file__).resolve().parents[1]


def _cmd_manifest_sync(args: argparse.Namespace) -> int:
    from .manifest import manifest_text, write_manifest
    from .manifest_sync import sync, write_imagenet_labels

    manifest_path = Path(args.manifest)
    entries = sync(manifest_path, Path(args.results))
    if args.check:
        same = manifest_path.exists() and manifest_path.read_text() == manifest_text(entries)
        print(f"{manifest_path}: {'up to date' if same else 'OUT OF DATE: run resnet-zoo manifest sync'}"
              f" ({len(entries)} weights)")
        return 0 if same else 1
    write_manifest(manifest_path, entries)
    write_imagenet_labels(Path(__file__).with_name("data") / "imagenet-1k.txt")
    defaults = sum(e.default for e in entries)
    print(f"wrote {manifest_path}: {len(entries)} weights, {defaults} architectures with a default weight")
    return 0


def _cmd_weights(args: argparse.Namespace) -> int:
    from .manifest import list_pretrained, load_manifest

    specs = load_manifest()
    names = list_pretrained(args.filter or "")
    if args.json:
        print(json.dumps(names))
        return 0
    rows = []
    for name in names:
        s = specs[name]
        top1 = max(s.reported, key=lambda r: r.top1) if s.reported else None
        rows.append([name, "*" if s.default else "", s.license, "x".join(map(str, s.preprocessing.input_size[1:])),
                     f"{top1.top1:.2f}@{top1.img_size}" if top1 else "-",
                     "published" if s.hub.published else ("bundled" if s.source == "bundled" else "origin")])
    print(_table(rows, ["weight", "default", "license", "input", "top-1 (timm)", "source"]))
    return 0


def _cmd_convert(args: argparse.Namespace) -> int:
    from .pipeline import convert

    result = convert(args.tag, args.out, source=args.source, seed=args.seed)
    print(f"{result.spec.name}: wrote {result.out_dir} ({result.size / 2**20:.1f} MiB, sha256 {result.sha256}); "
          f"parity max |d| {result.parity.max_abs_diff:.2e}, top-5 agreement {result.parity.top5_agreement}")
    return 0


def _cmd_publish(args: argparse.Namespace) -> int:
    from .pipeline import publish

    spec = publish(args.dir, repo_id=args.repo_id, to=args.to, manifest_path=args.manifest)
    where = f"local hub {args.to}" if args.to else "the Hugging Face Hub"
    print(f"published {spec.name} to {where} as {spec.hub.repo_id}@{spec.hub.revision} "
          f"(sha256 {spec.hub.sha256}, {spec.hub.size} bytes)")
    return 0


def _cmd_build_hub(args: argparse.Namespace) -> int:
    from .pipeline import build_hub

    rows = build_hub(args.to, args.names, source=args.source, seed=args.seed)
    print(_table([[r.name, f"{r.size_mb:.1f}", r.revision[:12], f"{r.max_abs_diff:.2e}", f"{r.loaded_diff:.2e}",
                   "-" if r.hub_diff is None else f"{r.hub_diff:.2e}"] for r in rows],
                 ["weight", "MiB", "revision", "convert max|d|", "create_model max|d|", "torch.hub max|d|"]))
    print(f"\n{len(rows)} weights converted, published to {args.to}, loaded back and matching their reference (timm for timm weights)")
    return 0


def _cmd_download(args: argparse.Namespace) -> int:
    from .hub import hub_dir_from_env
    from .pipeline import select_tags
    from .weights import fetch_weights, weight_spec

    hub_dir = hub_dir_from_env(args.hub_dir)
    for name in select_tags(args.tags):
        found = fetch_weights(weight_spec(name, hub_dir), hub_dir, verify=True)
        print(f"{name}: {found.path} ({found.source})")
    return 0


def _cmd_verify_cache(args: argparse.Namespace) -> int:
    from .weights import verify_cache

    checks = verify_cache(args.hub_dir)
    for c in checks:
        print(f"{'ok ' if c.ok else 'BAD'} {c.name}: {c.path} ({c.detail})")
    bad = [c for c in checks if not c.ok]
    print(f"{len(checks)} file(s) checked, {len(bad)} bad" + (" (quarantined: the next load fetches them again)"
                                                                if bad else ""))
    return 1 if bad else 0


def _cmd_export_onnx(args: argparse.Namespace) -> int:
    from .export import ONNX_TOLERANCE, export_onnx

    r = export_onnx(args.name, args.out, dynamic_batch=args.dynamic_batch, opset=args.opset, hub_dir=args.hub_dir)
    print(f"wrote {r.path} ({r.path.stat().st_size / 2**20:.1f} MiB); onnxruntime matches PyTorch: max |d| "
          f"{r.max_abs_diff:.2e} at batch {', '.join(map(str, r.batches_checked))} (tolerance {ONNX_TOLERANCE:g})")
    return 0


def _cmd_finetune(args: argparse.Namespace) -> int:
    import logging

    from .finetune import FinetuneConfig, run

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    cfg = FinetuneConfig(model=args.model, data=args.data, out=args.out, pretrained=args.pretrained,
                         epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, warmup_epochs=args.warmup_epochs,
                         weight_decay=args.weight_decay, label_smoothing=args.label_smoothing, freeze=args.freeze,
                         val_fraction=args.val_fraction, amp=args.amp, seed=args.seed, resume=args.resume,
                         hub_dir=args.hub_dir, progress=not args.no_progress, max_steps=args.max_steps)
    best = run(cfg)
    if best.get("epoch"):
        print(f"best: epoch {best['epoch']} val_acc {best['val_acc']:.4f}; checkpoint {Path(args.out) / 'best'}")
    return 0


def _cmd_predict(args: argparse.Namespace) -> int:
    from PIL import Image

    from .predict import load_predictor, write_grid

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


def _cmd_digits_export(args: argparse.Namespace) -> int:
    from .predict import export_digits

    n = export_digits(args.out, split=args.split, rotate=args.rotate, limit=args.limit)
    print(f"wrote {n} digit images to {args.out}/<label>/")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="resnet-zoo", description=__doc__)
    parser.add_argument("--version", action="version", version=f"resnet-zoo {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("list", help="list registered architectures with params and GMACs")
    p.add_argument("filter", nargs="?", help="shell-style wildcard, e.g. 'resnet5*'")
    p.add_argument("--exclude", help="wildcard of names to leave out")
    p.add_argument("--json", action="store_true", help="names only, as JSON")
    p.add_argument("--markdown", action="store_true", help="the README's Markdown table")
    p.set_defaults(func=_cmd_list)

    p = sub.add_parser("info", help="params, GMACs, feature channels of one architecture")
    p.add_argument("name")
    p.set_defaults(func=_cmd_info)

    p = sub.add_parser("check", help="output parity of every variant against timm or torchvision")
    p.add_argument("--reference", choices=("timm", "torchvision"), default="timm")
    p.add_argument("--names", nargs="+", metavar="NAME", help="only these architectures")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_cmd_check)

    p = sub.add_parser("manifest", help="maintain weights_manifest.json")
    msub = p.add_subparsers(dest="manifest_command", required=True)
    m = msub.add_parser("sync", help="regenerate from the installed timm and timm's published results")
    m.add_argument("--manifest", default=str(REPO_ROOT / "weights_manifest.json"))
    m.add_argument("--results", default=str(REPO_ROOT / "data" / "timm-results-imagenet-resnet.csv"))
    m.add_argument("--check", action="store_true", help="exit 1 if the file differs from a fresh sync")
    m.set_defaults(func=_cmd_manifest_sync)

    p = sub.add_parser("weights", help="list pretrained weights (arch.tag)")
    p.add_argument("filter", nargs="?", help="wildcard or arch, e.g. 'resnet50' or '*_in1k'")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_weights)

    p = sub.add_parser("convert", help="origin weights -> model.safetensors + config.json + model card, parity-checked")
    p.add_argument("tag")
    p.add_argument("--out", required=True)
    p.add_argument("--source", choices=("timm", "random"), default="timm",
                   help="timm: the origin's published file; random: seeded random weights (offline)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_cmd_convert)

    p = sub.add_parser("publish", help="publish a converted folder and pin it in the manifest")
    p.add_argument("dir")
    p.add_argument("--repo-id", help="ORG/NAME on the Hub (default resnet-zoo/<tag>)")
    p.add_argument("--to", help="a local hub directory instead of the Hugging Face Hub")
    p.add_argument("--manifest", help="the manifest to record into")
    p.set_defaults(func=_cmd_publish)

    p = sub.add_parser("build-hub", help="convert, check and publish many weights into a local hub, then load them back")
    p.add_argument("--to", required=True)
    p.add_argument("--names", nargs="+", metavar="PATTERN", help="weights (arch = its default, or wildcards)")
    p.add_argument("--source", choices=("timm", "random"), default="random")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_cmd_build_hub)

    p = sub.add_parser("download", help="pre-fetch and verify weights into the cache (for offline use)")
    p.add_argument("tags", nargs="+")
    p.add_argument("--hub-dir", help="a local hub directory")
    p.set_defaults(func=_cmd_download)

    p = sub.add_parser("export", help="export a model for deployment")
    esub = p.add_subparsers(dest="export_format", required=True)
    e = esub.add_parser("onnx", help="ONNX, checked with onnxruntime before it reports success")
    e.add_argument("name", help="architecture (random init) or weight tag (its weights)")
    e.add_argument("--out", required=True)
    e.add_argument("--dynamic-batch", action="store_true")
    e.add_argument("--opset", type=int)
    e.add_argument("--hub-dir")
    e.set_defaults(func=_cmd_export_onnx)

    p = sub.add_parser("verify-cache", help="rehash every cached weight file against its pinned sha256")
    p.add_argument("--hub-dir", help="a local hub directory to check too")
    p.set_defaults(func=_cmd_verify_cache)

    p = sub.add_parser("finetune", help="fine-tune a model on an image folder or the digits (torchrun: DDP)")
    p.add_argument("model", help="architecture or arch.tag")
    p.add_argument("--data", required=True, help="ImageFolder directory (class per sub-folder), or 'digits'")
    p.add_argument("--out", required=True, help="output folder: best/ and last/ checkpoints, metrics.jsonl")
    p.add_argument("--pretrained", nargs="?", const=True, default=False,
                   help="start from weights: the default (no value), a tag, or a .safetensors path")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--warmup-epochs", type=float, default=1.0)
    p.add_argument("--weight-decay", type=float, default=0.05)
    p.add_argument("--label-smoothing", type=float, default=0.1)
    p.add_argument("--freeze", metavar="GROUP", help="freeze the stem and stages up to GROUP, e.g. layer2")
    p.add_argument("--val-fraction", type=float, default=0.2, help="held out per class when there is no val/ folder")
    p.add_argument("--amp", action="store_true", help="mixed precision (bf16 on CPU, fp16/bf16 on CUDA)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--resume", action="store_true", help="continue from --out/last")
    p.add_argument("--hub-dir", help="a local hub directory for --pretrained")
    p.add_argument("--max-steps", type=int, help="at most this many batches per epoch")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_cmd_finetune)

    p = sub.add_parser("predict", help="top-k labels of images, with the weight's own transform")
    p.add_argument("images", nargs="+")
    p.add_argument("--model", required=True, help="weight tag, architecture, or a finetune checkpoint")
    p.add_argument("--topk", type=int, default=5)
    p.add_argument("--grid", help="also write a PNG of the images with their top-1 label")
    p.add_argument("--hub-dir")
    p.set_defaults(func=_cmd_predict)

    p = sub.add_parser("digits", help="the built-in digits dataset")
    dsub = p.add_subparsers(dest="digits_command", required=True)
    d = dsub.add_parser("export", help="write digits as PNGs in ImageFolder layout")
    d.add_argument("out")
    d.add_argument("--split", choices=("test", "train"), default="test")
    d.add_argument("--rotate", type=int, default=0, help="rotate by this many degrees (a derived task)")
    d.add_argument("--limit", type=int)
    d.set_defaults(func=_cmd_digits_export)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ResNetZooError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
