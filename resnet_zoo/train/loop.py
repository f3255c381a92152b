"""The training loop of ``finetune``: devices and processes, loaders, one epoch, evaluation."""

import os
import random
import time
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
import torch.nn as nn

from ..errors import InvalidArgumentError
from ..weights.transforms import Preprocessing, eval_transform
from .augment import TrainTransform
from .autoaugment import parse_policy
from .datasets import ImageDataset, Split
from .ema import ModelEma
from .mixup import Mixup, SoftTargetCrossEntropy
from .options import FinetuneConfig

# -- devices and processes ---------------------------------------------------------------------


def init_distributed(device: str) -> tuple[int, int, torch.device]:
    """(rank, world size, this process's device) for ``--device auto|cpu|cuda``; under torchrun,
    one process group (nccl on CUDA, gloo on CPU)."""
    if device == "cuda" and not torch.cuda.is_available():
        raise InvalidArgumentError("--device cuda: no CUDA device is visible to PyTorch; use --device cpu or auto")
    use_cuda = device == "cuda" or (device == "auto" and torch.cuda.is_available())
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if use_cuda else "gloo")
    rank = dist.get_rank() if dist.is_initialized() else 0
    if use_cuda:
        local = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local)
        return rank, world, torch.device("cuda", local)
    return rank, world, torch.device("cpu")


def all_sum(values: list[float], device: torch.device) -> list[float]:
    if not dist.is_initialized():
        return values
    t = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return t.tolist()


class _no_autocast:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> None:
        return None


def autocast_for(cfg: FinetuneConfig, device: torch.device) -> Any:
    use_amp = cfg.amp and (device.type == "cuda" or torch.backends.mkldnn.is_available())
    amp_dtype = torch.bfloat16 if device.type == "cpu" or torch.cuda.is_bf16_supported() else torch.float16
    return (lambda: torch.autocast(device.type, dtype=amp_dtype)) if use_amp else _no_autocast


# -- data --------------------------------------------------------------------------------------


@dataclass
class Loaders:
    train: torch.utils.data.DataLoader
    val: torch.utils.data.DataLoader
    train_sampler: torch.utils.data.Sampler
    steps_per_epoch: int


def train_transform(cfg: FinetuneConfig, pre: Preprocessing) -> TrainTransform:
    eval_tf = eval_transform(pre)
    policy = parse_policy(cfg.aa) if cfg.aa else None
    if cfg.data == "digits":  # centred digits: flips and crops change the label
        return TrainTransform(eval_tf, "small_affine", 0.0, color_jitter=cfg.color_jitter, auto_augment=policy)
    return TrainTransform(eval_tf, "random_resized_crop", cfg.hflip, cfg.scale, cfg.ratio, cfg.color_jitter, policy)


def make_loaders(cfg: FinetuneConfig, train_split: Split, val_split: Split, pre: Preprocessing, world: int) -> Loaders:
    train_ds = ImageDataset(train_split, train_transform(cfg, pre))
    val_ds = ImageDataset(val_split, eval_transform(pre))
    train_sampler: torch.utils.data.Sampler
    if world > 1:
        train_sampler = torch.utils.data.DistributedSampler(train_ds, shuffle=True, seed=cfg.seed)
        val_sampler: torch.utils.data.Sampler | None = torch.utils.data.DistributedSampler(val_ds, shuffle=False)
    else:
        train_sampler = torch.utils.data.RandomSampler(train_ds, generator=torch.Generator().manual_seed(cfg.seed))
        val_sampler = None
    common: dict[str, Any] = {"num_workers": cfg.workers, "persistent_workers": cfg.workers > 0}
    if cfg.workers > 0:
        common["worker_init_fn"] = _seed_worker
    train = torch.utils.data.DataLoader(train_ds, batch_size=cfg.batch_size, sampler=train_sampler, **common)
    val = torch.utils.data.DataLoader(val_ds, batch_size=cfg.batch_size * 2, sampler=val_sampler, **common)
    return Loaders(train, val, train_sampler, min(len(train), cfg.max_steps or len(train)))


def _seed_worker(worker_id: int) -> None:
    random.seed(torch.initial_seed() % 2**32)


# -- one epoch ---------------------------------------------------------------------------------


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
    mixup: Mixup
    ema: ModelEma | None = None


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
    loss_sum, correct, seen = all_sum([loss_sum, correct, seen], device)
    return loss_sum / max(seen, 1), correct / max(seen, 1)


def _train_epoch(rs: RunState, bar: Any) -> tuple[float, int, int]:
    """One pass over at most ``steps_per_epoch`` batches; returns (loss sum, correct, seen)."""
    rs.model.train()
    loss_fn = SoftTargetCrossEntropy()
    loss_sum, correct, seen = 0.0, 0, 0
    for step, (x, y) in enumerate(bar):
        if step >= rs.loaders.steps_per_epoch:
            break
        x, y = x.to(rs.device, non_blocking=True), y.to(rs.device, non_blocking=True)
        x, target = rs.mixup(x, y)
        with rs.autocast():
            logits = rs.model(x)
            loss = loss_fn(logits.float(), target)
        rs.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        rs.optimizer.step()
        rs.scheduler.step()
        if rs.ema is not None:
            rs.ema.update(rs.model)
        loss_sum += loss.item() * len(y)
        correct += (logits.argmax(1) == y).sum().item()
        seen += len(y)
        bar.set_postfix(loss=f"{loss.item():.3f}")
    return loss_sum, correct, seen


def one_epoch(rs: RunState, epoch: int) -> dict[str, Any]:
    """Train one epoch, evaluate (the EMA weights with ``--model-ema``), and return the epoch's
    metrics, summed over every rank."""
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
    started = time.perf_counter()
    loss_sum, correct, seen = all_sum(list(_train_epoch(rs, bar)), rs.device)
    elapsed = time.perf_counter() - started
    val_loss, val_acc = evaluate(rs.model, rs.loaders.val, rs.device, rs.autocast)
    metrics = {
        "epoch": epoch + 1,
        "train_loss": round(loss_sum / seen, 5),
        "train_acc": round(correct / seen, 5),
        "val_loss": round(val_loss, 5),
        "val_acc": round(val_acc, 5),
    }
    if rs.ema is not None:
        ema_loss, ema_acc = evaluate(rs.ema.module, rs.loaders.val, rs.device, rs.autocast)
        metrics.update(val_loss=round(ema_loss, 5), val_acc=round(ema_acc, 5), val_acc_raw=round(val_acc, 5))
    return {
        **metrics,
        "lr": rs.optimizer.param_groups[0]["lr"],
        "images_per_s": round(seen / elapsed, 1),
        "seconds": round(elapsed, 2),
        "world_size": rs.world,
    }
