"""The ``--out`` folder of a fine-tuning run: refuse to mix two runs, resume only what fits.

A folder *holds a run* when it has ``metrics.jsonl``, ``best/`` or ``last/``. Starting into such a
folder needs ``--resume`` (continue it) or ``--overwrite`` (replace it); ``--resume`` needs
``last/train_state.pt``; a resumed run must have the same architecture, class count and class
names; ``metrics.jsonl`` is cut back to the resumed epoch so that no epoch is listed twice.
"""

import json
import logging
import shutil
from pathlib import Path
from typing import Any

from ..errors import IncompatibleCheckpointError, InvalidArgumentError
from ..naming import split_name

logger = logging.getLogger(__name__)

METRICS = "metrics.jsonl"
RUN_ITEMS = ("best", "last", METRICS)
TRAIN_STATE = "train_state.pt"


def holds_run(out: Path) -> bool:
    return any((out / item).exists() for item in RUN_ITEMS)


def _describe(out: Path) -> str:
    epochs = [r["epoch"] for r in read_metrics(out)]
    config = last_config(out)
    arch = f"{config['architecture']}, " if config else ""
    return f"{arch}epochs {epochs[0]}-{epochs[-1]}" if epochs else f"{arch}no finished epoch"


def check_out(out: Path, resume: bool, overwrite: bool) -> None:
    """Before anything is trained or written: is ``out`` free, resumable or to be replaced?"""
    if out.exists() and not out.is_dir():
        raise InvalidArgumentError(f"--out {str(out)!r} is a file; give a folder")
    if resume:
        if not (out / "last" / TRAIN_STATE).exists():
            raise InvalidArgumentError(
                f"--resume: nothing to resume in {str(out)!r} (no last/{TRAIN_STATE}); "
                "leave out --resume to start a new run there"
            )
        return
    if holds_run(out) and not overwrite:
        raise InvalidArgumentError(
            f"--out {str(out)!r} already holds a run ({_describe(out)}); add --resume to continue it, "
            "--overwrite to replace it, or choose another --out"
        )


def clear_run(out: Path) -> None:
    """``--overwrite``: remove what a run wrote (``best/``, ``last/``, ``metrics.jsonl``), nothing else."""
    for item in RUN_ITEMS:
        path = out / item
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    logger.info("--overwrite: removed the previous run's best/, last/ and %s from %s", METRICS, out)


def last_config(out: Path) -> dict[str, Any] | None:
    path = out / "last" / "config.json"
    return json.loads(path.read_text()) if path.exists() else None


def check_resumable(out: Path, model_name: str, classes: list[str]) -> None:
    """The run in ``out/last`` and this one: the same architecture, class count and class names."""
    config = last_config(out) or {}
    arch = split_name(model_name)[0]
    theirs = config.get("architecture")
    if theirs != arch:
        raise IncompatibleCheckpointError(
            f"--resume: {out}/last holds a {theirs!r} checkpoint, this run is {arch!r} ({model_name!r}); "
            "use the same model, or another --out"
        )
    their_classes = list(config.get("class_names") or [])
    if len(their_classes) != len(classes):
        raise IncompatibleCheckpointError(
            f"--resume: {out}/last was trained on {len(their_classes)} classes, this data has {len(classes)} "
            f"({_preview(their_classes)} vs {_preview(classes)}); use the same data, or another --out"
        )
    if their_classes != classes:
        differ = [(a, b) for a, b in zip(their_classes, classes) if a != b]
        raise IncompatibleCheckpointError(
            f"--resume: {out}/last was trained on classes {_preview(their_classes)}, this data has "
            f"{_preview(classes)} (first difference: {differ[0][0]!r} vs {differ[0][1]!r}); "
            "use the same data, or another --out"
        )


def _preview(names: list[str], n: int = 5) -> str:
    shown = ", ".join(names[:n])
    return f"[{shown}{', ...' if len(names) > n else ''}]"


def read_metrics(out: Path) -> list[dict[str, Any]]:
    path = out / METRICS
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def truncate_metrics(out: Path, epoch: int) -> None:
    """Keep the lines of epochs up to ``epoch`` (the resumed checkpoint's): a run that stopped after
    writing a later line never lists an epoch twice once resumed."""
    rows = read_metrics(out)
    kept = [r for r in rows if int(r.get("epoch", 0)) <= epoch]
    if len(kept) != len(rows):
        logger.info("%s: dropped %d line(s) after epoch %d, which is resumed", METRICS, len(rows) - len(kept), epoch)
        (out / METRICS).write_text("".join(json.dumps(r) + "\n" for r in kept))


def append_metrics(out: Path, metrics: dict[str, Any]) -> None:
    with open(out / METRICS, "a") as f:
        f.write(json.dumps(metrics) + "\n")
