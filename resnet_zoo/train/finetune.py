"""``resnet-zoo finetune`` and ``resnet_zoo.finetune(...)``: fine-tune any registered model, from
any of its weights or from scratch, on an image folder or the built-in digits; one process or many
under torchrun (DDP)."""

import dataclasses
import json
import logging
import math
import random
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
import torch.nn as nn

from ..errors import InvalidArgumentError
from ..factory import create_model
from ..naming import split_name
from ..weights.load import resolve_weight_name
from ..weights.manifest import Weights, get_weights, list_pretrained
from ..weights.repo import is_repo_ref, is_weight_folder, weights_record
from ..weights.transforms import Preprocessing
from ..zoo import get_spec
from .checkpoint import CHECKPOINT_CONFIG, resume, save_checkpoint, weights_digest
from .datasets import Split, image_mode, load_digits_split, load_image_folder
from .ema import ModelEma
from .loop import RunState, autocast_for, init_distributed, make_loaders, one_epoch
from .mixup import Mixup
from .options import FinetuneConfig, check_config
from .outdir import (
    TRAIN_STATE,
    append_metrics,
    check_out,
    check_resumable,
    clear_run,
    holds_run,
    read_metrics,
    truncate_metrics,
)
from .tuning import freeze, param_groups

logger = logging.getLogger(__name__)

IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
DIGITS_PREPROCESSING = Preprocessing(
    input_size=(1, 32, 32), interpolation="bilinear", mean=(0.5,), std=(0.5,), crop_pct=1.0
)
EpochCallback = Callable[[dict[str, Any]], None]

__all__ = ["FinetuneConfig", "FinetuneResult", "check_config", "finetune", "run"]


# -- model and data ----------------------------------------------------------------------------


def resolved(cfg: FinetuneConfig) -> FinetuneConfig:
    """An ``arch.tag`` model means its weights: ``pretrained`` becomes True unless it names them."""
    get_spec(cfg.model)  # an unknown name fails here, with close matches, before any data is read
    if split_name(cfg.model)[1] is not None and cfg.pretrained is False:
        return dataclasses.replace(cfg, pretrained=True)
    return cfg


def _preprocessing(cfg: FinetuneConfig, data_size: int | None) -> tuple[Preprocessing, Weights | None]:
    pre, weight = _base_preprocessing(cfg, data_size)
    if cfg.img_size is not None:
        pre = dataclasses.replace(pre, input_size=(pre.input_size[0], cfg.img_size, cfg.img_size))
    return pre, weight


def _base_preprocessing(cfg: FinetuneConfig, data_size: int | None) -> tuple[Preprocessing, Weights | None]:
    arch = split_name(cfg.model)[0]
    if isinstance(cfg.pretrained, str) and (is_weight_folder(cfg.pretrained) or is_repo_ref(cfg.pretrained)):
        folder = weights_record(cfg.pretrained)  # a finetune output or a repo: its own transform
        return folder.preprocessing, folder
    from_file = isinstance(cfg.pretrained, str) and Path(cfg.pretrained).exists()
    if from_file:
        config_path = Path(str(cfg.pretrained)).with_name(CHECKPOINT_CONFIG)
        if config_path.exists():
            return Preprocessing(**_tuples(json.loads(config_path.read_text())["preprocessing"])), None
    elif cfg.pretrained:
        spec = get_weights(resolve_weight_name(cfg.model, cfg.pretrained))
        return spec.preprocessing, spec
    if cfg.data == "digits":
        return DIGITS_PREPROCESSING, None
    spec_size = get_spec(arch).input_size
    size = data_size if get_spec(arch).family == "cifar" and data_size else spec_size[1]
    return Preprocessing(
        input_size=(3, size, size),
        interpolation="bilinear",
        mean=IMAGENET_MEAN,
        std=IMAGENET_STD,
        crop_pct=0.875 if size >= 128 else 1.0,
    ), None


def _tuples(d: dict[str, Any]) -> dict[str, Any]:
    return {k: tuple(v) if isinstance(v, list) else v for k, v in d.items()}


def _load_data(cfg: FinetuneConfig) -> tuple[list[str], Split, Split, int]:
    if cfg.data == "digits":
        xtr, ytr, xte, yte = load_digits_split()
        return [str(d) for d in range(10)], Split(xtr, ytr), Split(xte, yte), 0
    return load_image_folder(cfg.data, cfg.val_fraction, cfg.seed)


def build_model(cfg: FinetuneConfig, num_classes: int, pre: Preprocessing) -> nn.Module:
    in_chans = pre.input_size[0]
    if cfg.pretrained:
        with warnings.catch_warnings():  # a new head is the point of fine-tuning: no warning for it
            warnings.filterwarnings("ignore", message=".*new .*-class classifier")
            return create_model(
                cfg.model, pretrained=cfg.pretrained, num_classes=num_classes, in_chans=in_chans, hub_dir=cfg.hub_dir
            )
    return create_model(cfg.model, num_classes=num_classes, in_chans=in_chans)


def cosine_with_warmup(optimizer: torch.optim.Optimizer, warmup_steps: int, total_steps: int):
    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / max(1, warmup_steps)
        progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
        return 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def _log_start(cfg: FinetuneConfig, classes: list[str], splits: tuple[Split, Split, int], pre: Preprocessing) -> None:
    """What the run is about to do: data, start weights, input size and any channel conversion."""
    train_split, val_split, skipped = splits
    logger.info(
        "%d classes, %d train / %d val images, %d unreadable skipped",
        len(classes),
        len(train_split.items),
        len(val_split.items),
        skipped,
    )
    arch = split_name(cfg.model)[0]
    if cfg.pretrained:
        start = cfg.pretrained if isinstance(cfg.pretrained, str) else resolve_weight_name(cfg.model, True)
        logger.info("starting from the weights %s", start)
    else:
        tags = list_pretrained(f"{arch}.*")
        hint = f"; --pretrained (or the model {tags[0]}) starts from weights" if tags else ""
        logger.info("training %s from scratch (random init)%s", arch, hint)
    chans, h, w = pre.input_size
    mode = image_mode(train_split.items[0])
    conversion = ""
    if chans == 1 and mode != "L":
        conversion = f"; {mode} images are converted to 1-channel grayscale (L), the model's input"
    elif chans == 3 and mode != "RGB":
        conversion = f"; {mode} images are converted to 3-channel RGB, the model's input"
    logger.info("input %dx%dx%d (%s)%s", chans, h, w, "--img-size" if cfg.img_size else "default", conversion)


# -- the run -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FinetuneResult:
    """What ``finetune`` leaves: the folders it wrote and the metrics of every epoch."""

    out: Path
    best_dir: Path  # model.safetensors + config.json of the best epoch (by val_acc)
    last_dir: Path  # ... of the last epoch, with train_state.pt for --resume
    metrics_path: Path  # one JSON line per epoch
    best: dict[str, Any]  # the best epoch's metrics
    history: list[dict[str, Any]]  # every epoch's metrics, resumed ones included
    stopped_early: bool = False


def _setup(cfg: FinetuneConfig, rank: int, world: int, device: torch.device) -> tuple[RunState, dict[str, Any]]:
    """Data, model, optimiser, schedule; the state resumed from ``out/last``; and the run's facts."""
    random.seed(cfg.seed + rank)
    torch.manual_seed(cfg.seed)  # same init on every rank; DDP also broadcasts rank 0's weights
    classes, train_split, val_split, skipped = _load_data(cfg)
    out = Path(cfg.out)
    if cfg.resume:
        check_resumable(out, cfg.model, classes)
    pre, _ = _preprocessing(cfg, _data_size(train_split))
    if rank == 0:
        _log_start(cfg, classes, (train_split, val_split, skipped), pre)
    model = build_model(cfg, len(classes), pre).to(device)
    if cfg.freeze:
        freeze(model, up_to=cfg.freeze)
    loaders = make_loaders(cfg, train_split, val_split, pre, world)
    optimizer = torch.optim.AdamW(param_groups(model, weight_decay=cfg.weight_decay, lr=cfg.lr), lr=cfg.lr)
    steps = loaders.steps_per_epoch
    scheduler = cosine_with_warmup(optimizer, round(cfg.warmup_epochs * steps), cfg.epochs * steps)
    facts: dict[str, Any] = {"start_epoch": 0, "best": {"val_acc": -1.0}, "classes": classes, "pre": pre}
    ema_state = None
    if cfg.resume:
        facts["start_epoch"], facts["best"], ema_state = resume(model, optimizer, scheduler, out, cfg.model)
    ema = ModelEma(model, cfg.model_ema_decay) if cfg.model_ema else None
    if ema is not None and ema_state is not None:
        ema.load_state_dict(ema_state)
    if world > 1:
        model = nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    mix = Mixup(cfg.mixup, cfg.cutmix, len(classes), cfg.mixup_prob, cfg.mixup_switch_prob, cfg.label_smoothing)
    rs = RunState(cfg, model, loaders, optimizer, scheduler, autocast_for(cfg, device), device, rank, world, mix, ema)
    return rs, facts


def _data_size(split: Split) -> int | None:
    """The shorter side of the first training image: CIFAR-style archs train at the data's size."""
    size = getattr(split.items[0], "size", None) if split.items else None
    if size is None and split.items:
        from PIL import Image

        with Image.open(split.items[0]) as img:
            size = img.size
    return min(size) if size else None


def _save_epoch(rs: RunState, facts: dict[str, Any], metrics: dict[str, Any], epoch: int) -> None:
    """Rank 0: append the metrics, write ``best/`` (when better) and ``last/``."""
    out, cfg, model = Path(rs.cfg.out), rs.cfg, rs.ema.module if rs.ema is not None else rs.model
    append_metrics(out, metrics)
    args = (asdict(cfg), facts["classes"], facts["pre"], metrics)
    if metrics["val_acc"] > facts["best"]["val_acc"]:
        facts["best"] = metrics
        save_checkpoint(out / "best", model, *args)
    save_checkpoint(out / "last", rs.model, *args)  # the raw weights, which --resume continues
    state = {"epoch": epoch + 1, "optimizer": rs.optimizer.state_dict(), "scheduler": rs.scheduler.state_dict()}
    if rs.ema is not None:
        state["ema"] = rs.ema.state_dict()
    torch.save({**state, "best": facts["best"]}, out / "last" / TRAIN_STATE)


def run(cfg: FinetuneConfig, on_epoch: EpochCallback | None = None) -> dict[str, Any]:
    """Train; return the best epoch's metrics (see :func:`finetune` for the whole result)."""
    return _run(cfg, on_epoch).best


def _run(cfg: FinetuneConfig, on_epoch: EpochCallback | None) -> FinetuneResult:
    cfg = resolved(cfg)
    check_config(cfg)
    out = Path(cfg.out)
    check_out(out, cfg.resume, cfg.overwrite)
    rank, world, device = init_distributed(cfg.device)
    rs, facts = _setup(cfg, rank, world, device)
    if rank == 0:
        if cfg.overwrite and holds_run(out):
            clear_run(out)
        out.mkdir(parents=True, exist_ok=True)
        truncate_metrics(out, facts["start_epoch"])
    stopped_early = False
    for epoch in range(facts["start_epoch"], cfg.epochs):
        metrics = one_epoch(rs, epoch)
        if rank == 0:
            _save_epoch(rs, facts, metrics, epoch)
            logger.info(" ".join(f"{k}={v}" for k, v in metrics.items()))
            if on_epoch is not None:
                on_epoch(metrics)
        since_best = epoch + 1 - int(facts["best"].get("epoch", 0))
        if cfg.patience is not None and since_best >= cfg.patience and epoch + 1 < cfg.epochs:
            logger.info("early stop after epoch %d: no better val_acc for %d epoch(s)", epoch + 1, cfg.patience)
            stopped_early = True
            break
    logger.info("rank %d weights sha256 %s", rank, weights_digest(rs.model))
    if dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
    return FinetuneResult(
        out, out / "best", out / "last", out / "metrics.jsonl", facts["best"], read_metrics(out), stopped_early
    )


def finetune(
    model: str,
    data: str = "digits",
    out: str = "finetune_out",
    on_epoch: EpochCallback | None = None,
    **options: Any,
) -> FinetuneResult:
    """Fine-tune ``model`` (an architecture, from scratch unless ``pretrained=``; or ``arch.tag``, from
    those weights) on ``data`` (an ImageFolder directory or ``"digits"``), writing ``out``.

    ``options`` are :class:`FinetuneConfig`'s fields, named as the command line names them
    (``epochs``, ``batch_size``, ``lr``, ``img_size``, ``workers``, ``device``, ``seed``, ``scale``,
    ``hflip``, ``color_jitter``, ``aa``, ``mixup``, ``cutmix``, ``label_smoothing``, ``model_ema``,
    ``patience``, ``resume``, ``overwrite``, ...). Returns the folders written and every epoch's
    metrics; the best weights load with ``create_model(arch, pretrained=str(result.best_dir /
    "model.safetensors"))``.
    """
    fields = {f.name for f in dataclasses.fields(FinetuneConfig)}
    aliases = {"smoothing": "label_smoothing", "ema": "model_ema"}
    options = {aliases.get(k, k): v for k, v in options.items()}
    unknown = sorted(set(options) - fields)
    if unknown:
        raise InvalidArgumentError(
            f"finetune() got unknown option(s) {', '.join(unknown)}; the options are {', '.join(sorted(fields))}"
        )
    for key in ("scale", "ratio"):
        if key in options:
            options[key] = tuple(options[key])
    return _run(FinetuneConfig(model=model, data=str(data), out=str(out), **options), on_epoch)
