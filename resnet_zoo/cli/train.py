"""``finetune``, ``digits``: training on a folder of images or the built-in digits."""

import argparse
import logging
from pathlib import Path
from typing import Any

from ..train.datasets import export_digits
from ..train.finetune import FinetuneConfig, run
from .common import add_command


def cmd_finetune(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    cfg = FinetuneConfig(
        model=args.model,
        data=args.data,
        out=args.out,
        pretrained=args.pretrained,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        warmup_epochs=args.warmup_epochs,
        weight_decay=args.weight_decay,
        label_smoothing=args.label_smoothing,
        freeze=args.freeze,
        val_fraction=args.val_fraction,
        amp=args.amp,
        seed=args.seed,
        resume=args.resume,
        hub_dir=args.hub_dir,
        progress=not args.no_progress,
        max_steps=args.max_steps,
    )
    best = run(cfg)
    if best.get("epoch"):
        print(f"best: epoch {best['epoch']} val_acc {best['val_acc']:.4f}; checkpoint {Path(args.out) / 'best'}")
    return 0


def cmd_digits_export(args: argparse.Namespace) -> int:
    n = export_digits(args.out, split=args.split, rotate=args.rotate, limit=args.limit)
    print(f"wrote {n} digit images to {args.out}/<label>/")
    return 0


def add_parsers(sub: Any) -> None:
    p = add_command(
        sub,
        "finetune",
        "fine-tune a model on an image folder or the digits (torchrun: DDP)",
        "  resnet-zoo finetune cifar_resnet20 --data digits --out runs/digits --epochs 5\n"
        "  torchrun --nproc-per-node 2 -m resnet_zoo finetune resnet18 --data DIR --out runs/x --pretrained",
    )
    p.add_argument("model", help="architecture or arch.tag")
    p.add_argument("--data", required=True, help="ImageFolder directory (class per sub-folder), or 'digits'")
    p.add_argument("--out", required=True, help="output folder: best/ and last/ checkpoints, metrics.jsonl")
    p.add_argument(
        "--pretrained",
        nargs="?",
        const=True,
        default=False,
        help="start from weights: the default (no value), a tag, or a .safetensors path",
    )
    p.add_argument("--epochs", type=int, default=10, help="passes over the training set")
    p.add_argument("--batch-size", type=int, default=32, help="images per batch (per process)")
    p.add_argument("--lr", type=float, default=1e-3, help="peak learning rate (AdamW, cosine schedule)")
    p.add_argument("--warmup-epochs", type=float, default=1.0, help="linear warm-up length")
    p.add_argument("--weight-decay", type=float, default=0.05, help="AdamW weight decay (not on norms and biases)")
    p.add_argument("--label-smoothing", type=float, default=0.1, help="cross-entropy label smoothing")
    p.add_argument("--freeze", metavar="GROUP", help="freeze the stem and stages up to GROUP, e.g. layer2")
    p.add_argument("--val-fraction", type=float, default=0.2, help="held out per class when there is no val/ folder")
    p.add_argument("--amp", action="store_true", help="mixed precision (bf16 on CPU, fp16/bf16 on CUDA)")
    p.add_argument("--seed", type=int, default=0, help="seed of initialisation, shuffling and augmentation")
    p.add_argument("--resume", action="store_true", help="continue from --out/last")
    p.add_argument("--hub-dir", help="a local hub directory for --pretrained")
    p.add_argument("--max-steps", type=int, help="at most this many batches per epoch")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_finetune)

    p = add_command(sub, "digits", "the built-in digits dataset (scikit-learn's 1,797 real 8x8 digits)")
    dsub = p.add_subparsers(dest="digits_command", required=True)
    d = add_command(
        dsub,
        "export",
        "write digits as PNGs in ImageFolder layout",
        "  resnet-zoo digits export digits_test --split test",
    )
    d.add_argument("out", help="the folder to write (<label>/<index>.png)")
    d.add_argument("--split", choices=("test", "train"), default="test", help="the held-out or the training split")
    d.add_argument("--rotate", type=int, default=0, help="rotate by this many degrees (a derived task)")
    d.add_argument("--limit", type=int, help="write at most this many images")
    d.set_defaults(func=cmd_digits_export)
