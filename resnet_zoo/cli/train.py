"""``finetune``, ``digits``: training on a folder of images or the built-in digits."""

import argparse
from typing import Any

from ..train.datasets import export_digits
from ..train.finetune import FinetuneConfig, finetune
from ..train.options import DEVICES
from .common import add_command

DEFAULTS = FinetuneConfig(model="-")


def _print_epoch(metrics: dict[str, Any]) -> None:
    print(" ".join(f"{k}={v}" for k, v in metrics.items()), flush=True)


def cmd_finetune(args: argparse.Namespace) -> int:
    options = {
        k: v for k, v in vars(args).items() if k not in ("model", "data", "out", "func", "command", "no_progress")
    }
    options = {k: v for k, v in options.items() if k in FinetuneConfig.__dataclass_fields__}
    result = finetune(args.model, args.data, args.out, on_epoch=_print_epoch, progress=not args.no_progress, **options)
    best = result.best
    if best.get("epoch"):
        stop = " (stopped early: --patience)" if result.stopped_early else ""
        print(f"best: epoch {best['epoch']} val_acc {best['val_acc']:.4f}; checkpoint {result.best_dir}{stop}")
    return 0


def _model_and_data(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "model", help="architecture (from scratch unless --pretrained) or arch.tag (starts from those weights)"
    )
    p.add_argument("--data", required=True, help="ImageFolder directory (class per sub-folder), or 'digits'")
    p.add_argument("--out", required=True, help="output folder: best/ and last/ checkpoints, metrics.jsonl")
    p.add_argument("--resume", action="store_true", help="continue the run in --out (its last/ checkpoint)")
    p.add_argument("--overwrite", action="store_true", help="replace the run --out holds (best/, last/, metrics)")
    p.add_argument(
        "--pretrained",
        nargs="?",
        const=True,
        default=False,
        help="start from weights: the arch's default (no value), a tag, or a .safetensors path",
    )
    p.add_argument("--hub-dir", help="a local hub directory for --pretrained")
    p.add_argument(
        "--img-size",
        type=int,
        metavar="PX",
        help="train and evaluate at PX x PX (default: the weight's input size; from scratch, the "
        "arch's, or the data's size for CIFAR-style archs)",
    )
    p.add_argument("--val-fraction", type=float, default=DEFAULTS.val_fraction, help="held out per class without val/")
    p.add_argument("--workers", type=int, default=DEFAULTS.workers, help="data-loading worker processes (0: inline)")
    p.add_argument("--device", choices=DEVICES, default=DEFAULTS.device, help="auto: CUDA when visible, else CPU")
    p.add_argument("--seed", type=int, default=DEFAULTS.seed, help="seed of initialisation, shuffling, augmentation")


def _optimisation(p: argparse.ArgumentParser) -> None:
    p.add_argument("--epochs", type=int, default=DEFAULTS.epochs, help="passes over the training set")
    p.add_argument("--batch-size", type=int, default=DEFAULTS.batch_size, help="images per batch (per process)")
    p.add_argument("--lr", type=float, default=DEFAULTS.lr, help="peak learning rate (AdamW, cosine schedule)")
    p.add_argument("--warmup-epochs", type=float, default=DEFAULTS.warmup_epochs, help="linear warm-up length")
    p.add_argument("--weight-decay", type=float, default=DEFAULTS.weight_decay, help="AdamW decay (not norms/biases)")
    p.add_argument("--freeze", metavar="GROUP", help="freeze the stem and stages up to GROUP, e.g. layer2")
    p.add_argument("--amp", action="store_true", help="mixed precision (bf16 on CPU, fp16/bf16 on CUDA)")
    p.add_argument("--model-ema", "--ema", action="store_true", help="validate and keep an EMA of the weights")
    p.add_argument("--model-ema-decay", type=float, default=DEFAULTS.model_ema_decay, help="EMA decay per step")
    p.add_argument("--patience", type=int, metavar="EPOCHS", help="stop after EPOCHS epochs with no better val_acc")
    p.add_argument("--max-steps", type=int, help="at most this many batches per epoch (smoke runs)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def _augmentation(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("augmentation (timm's train.py names; digits: small rotations/shifts, no crop or flip)")
    g.add_argument(
        "--scale", type=float, nargs=2, metavar=("MIN", "MAX"), default=DEFAULTS.scale, help="random-resized-crop area"
    )
    g.add_argument(
        "--ratio", type=float, nargs=2, metavar=("MIN", "MAX"), default=DEFAULTS.ratio, help="crop aspect ratio range"
    )
    g.add_argument("--hflip", type=float, default=DEFAULTS.hflip, help="horizontal-flip probability")
    g.add_argument("--color-jitter", type=float, default=DEFAULTS.color_jitter, help="brightness/contrast/colour")
    g.add_argument("--aa", metavar="POLICY", help="'rand-m9-n2' (RandAugment, -mstd0.5 optional) or 'trivial'")
    g.add_argument("--mixup", type=float, default=DEFAULTS.mixup, help="mixup Beta alpha (0: off)")
    g.add_argument("--cutmix", type=float, default=DEFAULTS.cutmix, help="cutmix Beta alpha (0: off)")
    g.add_argument("--mixup-prob", type=float, default=DEFAULTS.mixup_prob, help="chance a batch is mixed")
    g.add_argument(
        "--mixup-switch-prob", type=float, default=DEFAULTS.mixup_switch_prob, help="cutmix's share when both on"
    )
    g.add_argument(
        "--smoothing",
        "--label-smoothing",
        dest="label_smoothing",
        type=float,
        default=DEFAULTS.label_smoothing,
        help="label smoothing of the targets",
    )


def add_parsers(sub: Any) -> None:
    p = add_command(
        sub,
        "finetune",
        "fine-tune a model on an image folder or the digits (torchrun: DDP)",
        "  resnet-zoo finetune cifar_resnet20.digits --data digits --out runs/digits --epochs 5\n"
        "  resnet-zoo finetune resnet18 --pretrained --data shapes/ --out runs/shapes --img-size 64 --aa rand-m9-n2\n"
        "  resnet-zoo finetune resnet18 --data shapes/ --out runs/shapes --resume --epochs 20\n"
        "  torchrun --nproc-per-node 2 -m resnet_zoo finetune resnet18 --data DIR --out runs/x --pretrained",
    )
    _model_and_data(p)
    _optimisation(p)
    _augmentation(p)
    p.set_defaults(func=cmd_finetune)

    p = add_command(
        sub,
        "digits",
        "the built-in digits dataset (scikit-learn's 1,797 real 8x8 digits)",
        "  resnet-zoo digits export digits_test --split test",
    )
    dsub = p.add_subparsers(dest="digits_command", required=True)
    d = add_command(
        dsub,
        "export",
        "write digits as PNGs in ImageFolder layout",
        "  resnet-zoo digits export digits_test --split test\n  resnet-zoo digits export rot90 --rotate 90 --limit 100",
    )
    d.add_argument("out", help="the folder to write (<label>/<index>.png)")
    d.add_argument("--split", choices=("test", "train"), default="test", help="the held-out or the training split")
    d.add_argument("--rotate", type=int, default=0, help="rotate by this many degrees (a derived task)")
    d.add_argument("--limit", type=int, help="write at most this many images")
    d.set_defaults(func=cmd_digits_export)


def cmd_digits_export(args: argparse.Namespace) -> int:
    n = export_digits(args.out, split=args.split, rotate=args.rotate, limit=args.limit)
    print(f"wrote {n} digit images to {args.out}/<label>/")
    return 0
