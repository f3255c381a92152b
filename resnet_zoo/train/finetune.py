"""``resnet-zoo finetune``: fine-tune any registered model, from any of its weights or from
scratch, on an image folder or the built-in digits; one process or many under torchrun (DDP)."""

import json
import logging
import math
import os
import random
import time
import warnings
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
from ..weights.manifest import Weights, get_weights
from ..weights.repo import is_repo_ref, is_weight_folder, weights_record
from ..weights.transforms import Preprocessing, eval_transform
from ..zoo import get_spec
from .augment import TrainTransform
from .checkpoint import CHECKPOINT_CONFIG, resume, save_checkpoint, weights_digest
from .datasets import ImageDataset, Split, load_digits_split, load_image_folder
from .tuning import freeze, param_groups

logger = logging.getLogger(__name__)

IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
DIGITS_PREPROCESSING = Preprocessing(
    input_size=(1, 32, 32), interpolation="bilinear", mean=(0.5,), std=(0.5,), crop_pct=1.0
)


@dataclass
class FinetuneConfig:
    model: str
    data: str = "digits"  # an ImageFolder directory, or "digits"
    out: str = "finetune_out"
    pretrained: bool | str = False  # True: the arch's default weight; a tag; a .safetensors path
    epochs: int = 10
    batch_size: int = 32
    lr: float = 1e-3
    warmup_epochs: float = 1.0
    weight_decay: float = 0.05
    label_smoothing: float = 0.1
    freeze: str | None = None  # freeze the stem and stages up to this one ("layer2")
    val_fraction: float = 0.2
    amp: bool = False
    seed: int = 0
    resume: bool = False
    hub_dir: str | None = None
    progress: bool = True
    max_steps: int | None = None  # stop each epoch early (smoke runs)


# -- distributed -------------------------------------------------------------------------------


def _init_distributed() -> tuple[int, int, torch.device]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend)
    rank = dist.get_rank() if dist.is_initialized() else 0
    if torch.cuda.is_available():
        local = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local)
        return rank, world, torch.device("cuda", local)
    return rank, world, torch.device("cpu")


def _all_sum(values: list[float], device: torch.device) -> list[float]:
    if not dist.is_initialized():
        return values
    t = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return t.tolist()


# -- model and data ----------------------------------------------------------------------------


def _preprocessing(cfg: FinetuneConfig, in_chans_hint: int | None) -> tuple[Preprocessing, Weights | None]:
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
    size = get_spec(arch).input_size
    chans = in_chans_hint or 3
    return Preprocessing(
        input_size=(chans, size[1], size[2]),
        interpolation="bilinear",
        mean=IMAGENET_MEAN[:chans] if chans == 3 else (0.5,) * chans,
        std=IMAGENET_STD[:chans] if chans == 3 else (0.5,) * chans,
        crop_pct=0.875 if size[1] >= 128 else 1.0,
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


# -- checkpoints -------------------------------------------------------------------------------


def evaluate(
    model: nn.Module, loader: torch.utils.data.DataLoader, device: torch.device, autocast: Any
) -> tuple[float, float]:
    model.eval()
    loss_sum, correct, seen = 0.0, 0.0, 0.0
    with torch.no_grad():
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            with autocast():
                logits = model(x)
            loss_sum += nn.functional.cross_entropy(logits.float(), y, reduction="sum").item()
            correct += (logits.argmax(1) == y).sum().item()
            seen += len(y)
    loss_sum, correct, seen = _all_sum([loss_sum, correct, seen], device)
    return loss_sum / max(seen, 1), correct / max(seen, 1)


@dataclass
class Loaders:
    train: torch.utils.data.DataLoader
    val: torch.utils.data.DataLoader
    train_sampler: torch.utils.data.Sampler
    steps_per_epoch: int


def _make_loaders(cfg: FinetuneConfig, train_split: Split, val_split: Split, pre: Preprocessing, world: int) -> Loaders:
    eval_tf = eval_transform(pre)
    train_tf = TrainTransform(
        eval_tf, mode="small_affine" if cfg.data == "digits" else "random_resized_crop", hflip=cfg.data != "digits"
    )
    train_ds, val_ds = ImageDataset(train_split, train_tf), ImageDataset(val_split, eval_tf)
    train_sampler: torch.utils.data.Sampler
    if world > 1:
        train_sampler = torch.utils.data.DistributedSampler(train_ds, shuffle=True, seed=cfg.seed)
        val_sampler: torch.utils.data.Sampler | None = torch.utils.data.DistributedSampler(val_ds, shuffle=False)
    else:
        train_sampler = torch.utils.data.RandomSampler(train_ds, generator=torch.Generator().manual_seed(cfg.seed))
        val_sampler = None
    train = torch.utils.data.DataLoader(train_ds, batch_size=cfg.batch_size, sampler=train_sampler, drop_last=False)
    val = torch.utils.data.DataLoader(val_ds, batch_size=cfg.batch_size * 2, sampler=val_sampler)
    return Loaders(train, val, train_sampler, min(len(train), cfg.max_steps or len(train)))


def _autocast_for(cfg: FinetuneConfig, device: torch.device) -> Any:
    use_amp = cfg.amp and (device.type == "cuda" or torch.backends.mkldnn.is_available())
    amp_dtype = torch.bfloat16 if device.type == "cpu" or torch.cuda.is_bf16_supported() else torch.float16
    return (lambda: torch.autocast(device.type, dtype=amp_dtype)) if use_amp else _no_autocast


def _train_epoch(
    model: nn.Module,
    loaders: Loaders,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    loss_fn: nn.Module,
    autocast: Any,
    device: torch.device,
    bar: Any,
) -> tuple[float, int, int]:
    """One pass over at most ``steps_per_epoch`` batches; returns (loss sum, correct, seen)."""
    model.train()
    loss_sum, correct, seen = 0.0, 0, 0
    for step, (x, y) in enumerate(bar):
        if step >= loaders.steps_per_epoch:
            break
        x, y = x.to(device), y.to(device)
        with autocast():
            logits = model(x)
            loss = loss_fn(logits.float(), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        loss_sum += loss.item() * len(y)
        correct += (logits.argmax(1) == y).sum().item()
        seen += len(y)
        bar.set_postfix(loss=f"{loss.item():.3f}")
    return loss_sum, correct, seen


def _record_epoch(
    out: Path,
    model: nn.Module,
    cfg: FinetuneConfig,
    classes: list[str],
    pre: Preprocessing,
    metrics: dict[str, Any],
    best: dict[str, Any],
    state: dict[str, Any],
) -> dict[str, Any]:
    """Rank 0: append the metrics, write ``best/`` (when better) and ``last/``; return the best."""
    print(" ".join(f"{k}={v}" for k, v in metrics.items()), flush=True)
    with open(out / "metrics.jsonl", "a") as f:
        f.write(json.dumps(metrics) + "\n")
    if metrics["val_acc"] > best["val_acc"]:
        best = metrics
        save_checkpoint(out / "best", model, asdict(cfg), classes, pre, metrics)
    save_checkpoint(out / "last", model, asdict(cfg), classes, pre, metrics)
    torch.save({**state, "best": best}, out / "last" / "train_state.pt")
    return best


@dataclass
class RunState:
    """What every epoch of one run uses."""

    cfg: FinetuneConfig
    model: nn.Module
    loaders: Loaders
    optimizer: torch.optim.Optimizer
    scheduler: Any
    autocast: Any
    device: torch.device
    rank: int
    world: int


def _one_epoch(rs: RunState, epoch: int) -> dict[str, Any]:
    """Train one epoch, evaluate, and return the epoch's metrics (summed over every rank)."""
    from tqdm.auto import tqdm

    if isinstance(rs.loaders.train_sampler, torch.utils.data.DistributedSampler):
        rs.loaders.train_sampler.set_epoch(epoch)
    bar = tqdm(
        rs.loaders.train,
        total=rs.loaders.steps_per_epoch,
        desc=f"epoch {epoch + 1}/{rs.cfg.epochs}",
        unit="batch",
        disable=not rs.cfg.progress or rs.rank != 0,
        leave=False,
    )
    loss_fn = nn.CrossEntropyLoss(label_smoothing=rs.cfg.label_smoothing)
    started = time.perf_counter()
    totals = _train_epoch(rs.model, rs.loaders, rs.optimizer, rs.scheduler, loss_fn, rs.autocast, rs.device, bar)
    loss_sum, correct, seen = _all_sum(list(totals), rs.device)
    elapsed = time.perf_counter() - started
    val_loss, val_acc = evaluate(rs.model, rs.loaders.val, rs.device, rs.autocast)
    return {
        "epoch": epoch + 1,
        "train_loss": round(loss_sum / seen, 5),
        "train_acc": round(correct / seen, 5),
        "val_loss": round(val_loss, 5),
        "val_acc": round(val_acc, 5),
        "lr": rs.optimizer.param_groups[0]["lr"],
        "images_per_s": round(seen / elapsed, 1),
        "seconds": round(elapsed, 2),
        "world_size": rs.world,
    }


def run(cfg: FinetuneConfig) -> dict[str, Any]:
    """Train; return the best epoch's metrics. Rank 0 writes ``out/``: ``best/`` and ``last/``
    checkpoints, ``metrics.jsonl``; every rank ends with the same weights."""
    check_config(cfg)
    rank, world, device = _init_distributed()
    random.seed(cfg.seed + rank)
    torch.manual_seed(cfg.seed)  # same init on every rank; DDP also broadcasts rank 0's weights
    classes, train_split, val_split, skipped = _load_data(cfg)
    pre, _ = _preprocessing(cfg, None)
    model = build_model(cfg, len(classes), pre).to(device)
    if cfg.freeze:
        freeze(model, up_to=cfg.freeze)
    out = Path(cfg.out)
    loaders = _make_loaders(cfg, train_split, val_split, pre, world)
    optimizer = torch.optim.AdamW(param_groups(model, weight_decay=cfg.weight_decay, lr=cfg.lr), lr=cfg.lr)
    steps = loaders.steps_per_epoch
    scheduler = cosine_with_warmup(optimizer, round(cfg.warmup_epochs * steps), cfg.epochs * steps)
    start_epoch, best = 0, {"val_acc": -1.0}
    if cfg.resume and (out / "last" / "train_state.pt").exists():
        start_epoch, best = resume(model, optimizer, scheduler, out, cfg.model)
    if world > 1:
        model = nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    run_state = RunState(cfg, model, loaders, optimizer, scheduler, _autocast_for(cfg, device), device, rank, world)
    if rank == 0:
        out.mkdir(parents=True, exist_ok=True)
        logger.info(
            "%d classes, %d train / %d val images, %d unreadable skipped",
            len(classes),
            len(train_split.items),
            len(val_split.items),
            skipped,
        )
    for epoch in range(start_epoch, cfg.epochs):
        metrics = _one_epoch(run_state, epoch)
        if rank == 0:
            state = {"epoch": epoch + 1, "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()}
            best = _record_epoch(out, model, cfg, classes, pre, metrics, best, state)
    print(f"rank {rank} weights sha256 {weights_digest(model)}", flush=True)
    if dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
    return best


class _no_autocast:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> None:
        return None


def check_config(cfg: FinetuneConfig) -> None:
    for name in ("epochs", "batch_size"):
        if getattr(cfg, name) < 1:
            raise InvalidArgumentError(f"--{name.replace('_', '-')}={getattr(cfg, name)} must be >= 1")
    if not cfg.lr > 0:
        raise InvalidArgumentError(f"--lr={cfg.lr} must be > 0")
    if not 0 <= cfg.label_smoothing < 1:
        raise InvalidArgumentError(f"--label-smoothing={cfg.label_smoothing} must be in [0, 1)")
