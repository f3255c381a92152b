"""Fine-tuning checkpoints: ``model.safetensors`` + ``config.json`` folders, and resuming from them."""

import hashlib
import json
import logging
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn
from safetensors.torch import save_file

from ..errors import IncompatibleCheckpointError
from ..hub_io import model_config
from ..naming import split_name
from ..version import __version__
from ..weights.load import read_state_dict
from ..weights.repo import OUR_SECTION
from ..weights.transforms import Preprocessing

logger = logging.getLogger(__name__)

CHECKPOINT_CONFIG = "config.json"


def _unwrap(model: nn.Module) -> nn.Module:
    return model.module if isinstance(model, nn.parallel.DistributedDataParallel) else model


def save_checkpoint(
    folder: Path,
    model: nn.Module,
    run_config: dict[str, Any],
    classes: list[str],
    pre: Preprocessing,
    metrics: dict[str, Any],
) -> None:
    """``model.safetensors`` (loadable by ``create_model(arch, pretrained=path)``) + ``config.json``."""
    arch = split_name(run_config["model"])[0]
    folder.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in _unwrap(model).state_dict().items()}
    tmp = folder / ".model.safetensors.tmp"
    save_file(
        state,
        str(tmp),
        metadata={
            "format": "pt",
            "arch": arch,
            "tag": f"{arch}.finetuned",
            "source": f"resnet-zoo finetune from {run_config.get('pretrained') or 'scratch'}",
            "converter": f"resnet_zoo {__version__}",
        },
    )
    os.replace(tmp, folder / "model.safetensors")
    # timm's layout (resnet_zoo, timm and transformers load the folder), plus the 0.1 top-level keys
    source = f"resnet-zoo finetune from {run_config.get('pretrained') or 'scratch'}"
    config = model_config(model, classes, pre, provenance={"source": source, "metrics": metrics})
    config[OUR_SECTION]["tag"] = "finetuned"
    config.update(
        class_names=classes,
        preprocessing=_jsonable(asdict(pre)),
        label_set="custom",
        finetune={k: v for k, v in run_config.items() if k != "progress"},
        metrics=metrics,
    )
    config["pretrained_cfg"]["tag"] = "finetuned"
    (folder / CHECKPOINT_CONFIG).write_text(json.dumps(config, indent=2) + "\n")


def _jsonable(d: dict[str, Any]) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}


def weights_digest(model: nn.Module) -> str:
    h = hashlib.sha256()
    for k, v in sorted(_unwrap(model).state_dict().items()):
        h.update(k.encode())
        h.update(v.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


# -- the loop ----------------------------------------------------------------------------------


def resume(
    model: nn.Module, optimizer: torch.optim.Optimizer, scheduler: Any, out: Path, model_name: str
) -> tuple[int, dict[str, Any], dict[str, torch.Tensor] | None]:
    """Load ``out/last`` into the model, optimiser and schedule; return (epochs done, best metrics,
    the EMA weights or None)."""
    config = json.loads((out / "last" / CHECKPOINT_CONFIG).read_text())
    arch = (config.get(OUR_SECTION) or {}).get("architecture") or config["architecture"]
    if arch != split_name(model_name)[0]:
        raise IncompatibleCheckpointError(
            f"{out}/last holds a {arch!r} checkpoint, not {model_name!r}; use another --out or the same --model"
        )
    model.load_state_dict(read_state_dict(out / "last" / "model.safetensors"), strict=True)
    state = torch.load(out / "last" / "train_state.pt", weights_only=True)
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    logger.info("resumed from %s after epoch %d", out / "last", state["epoch"])
    return int(state["epoch"]), state["best"], state.get("ema")
