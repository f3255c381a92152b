"""``resnet-zoo export onnx|torchscript|exported-program``: a deployable model, checked against eager
PyTorch (onnxruntime for ONNX) before it reports success."""

import logging
import math
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ..errors import ExportMismatchError
from ..factory import load_reference

logger = logging.getLogger(__name__)
ONNX_TOLERANCE = 1e-4  # max |delta| allowed, as a fraction of max(1, max |PyTorch output|)


@dataclass(frozen=True)
class ExportResult:
    path: Path
    max_abs_diff: float
    batches_checked: tuple[int, ...]
    opset: int | None


def _model_and_input_size(name: str, hub_dir: str | None) -> tuple[torch.nn.Module, tuple[int, int, int]]:
    """A weight tag, repo or finetune folder loads its weights; an architecture name exports the
    randomly initialised graph."""
    model, weight = load_reference(name, hub_dir=hub_dir, arch_default_weight=False)
    size = weight.preprocessing.input_size if weight is not None else model.pretrained_cfg["input_size"]
    return model, tuple(size)


def export_onnx(
    name: str,
    out: str | os.PathLike[str],
    dynamic_batch: bool = False,
    opset: int | None = None,
    hub_dir: str | None = None,
) -> ExportResult:
    import onnxruntime

    model, (c, h, w) = _model_and_input_size(name, hub_dir)
    model = model.eval()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    example = torch.randn(2 if dynamic_batch else 1, c, h, w, generator=torch.Generator().manual_seed(0))
    kwargs: dict = {"input_names": ["input"], "output_names": ["logits"], "dynamo": True, "external_data": False}
    if opset is not None:
        kwargs["opset_version"] = opset
    if dynamic_batch:
        kwargs["dynamic_shapes"] = {"x": {0: torch.export.Dim("batch", min=1, max=1024)}}
    torch.onnx.export(model, (example,), str(out), **kwargs)
    session = onnxruntime.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    batches = (1, 3) if dynamic_batch else (1,)
    worst = 0.0
    for batch in batches:
        x = torch.randn(batch, c, h, w, generator=torch.Generator().manual_seed(batch))
        with torch.no_grad():
            expected = model(x)
        got = torch.from_numpy(session.run(["logits"], {"input": x.numpy()})[0])
        diff = (got - expected).abs().max().item()
        worst = max(worst, diff)
        if got.shape != expected.shape or diff > ONNX_TOLERANCE * max(1.0, expected.abs().max().item()):
            out.unlink(missing_ok=True)
            raise ExportMismatchError(
                f"{name}: onnxruntime output {tuple(got.shape)} differs from PyTorch "
                f"{tuple(expected.shape)} by max |delta| {diff:.2e} at batch {batch}; "
                f"{out} was removed"
            )
    return ExportResult(out, worst, batches, opset)


def _check_against_eager(name: str, model: torch.nn.Module, run: Any, size: tuple[int, int, int], out: Path) -> float:
    """Max |delta| of ``run`` against eager ``model`` at batch 1 and 3; removes ``out`` on a mismatch."""
    worst = 0.0
    for batch in (1, 3):
        x = torch.randn(batch, *size, generator=torch.Generator().manual_seed(batch))
        with torch.no_grad():
            expected, got = model(x), run(x)
        diff = (got - expected).abs().max().item() if got.shape == expected.shape else math.inf
        worst = max(worst, diff)
        if diff > ONNX_TOLERANCE * max(1.0, expected.abs().max().item()):
            out.unlink(missing_ok=True)
            raise ExportMismatchError(
                f"{name}: the exported model's output {tuple(got.shape)} differs from eager PyTorch "
                f"{tuple(expected.shape)} by max |delta| {diff:.2e} at batch {batch}; {out} was removed"
            )
    return worst


def export_torchscript(name: str, out: str | os.PathLike[str], hub_dir: str | None = None) -> ExportResult:
    """``torch.jit.script`` of the model (any batch, any size), saved and loaded back, checked against eager."""
    model, size = _model_and_input_size(name, hub_dir)
    model = model.eval()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch.jit's deprecation notice
        torch.jit.save(torch.jit.script(model), str(out))
        loaded = torch.jit.load(str(out))
    return ExportResult(out, _check_against_eager(name, model, loaded, size, out), (1, 3), None)


def export_program(name: str, out: str | os.PathLike[str], hub_dir: str | None = None) -> ExportResult:
    """``torch.export.export`` with a dynamic batch, saved (``.pt2``) and loaded back, checked against eager."""
    model, size = _model_and_input_size(name, hub_dir)
    model = model.eval()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    example = torch.randn(2, *size, generator=torch.Generator().manual_seed(0))
    batch = torch.export.Dim("batch", min=1, max=1024)
    program = torch.export.export(model, (example,), dynamic_shapes={"x": {0: batch}})
    torch.export.save(program, str(out))
    loaded = torch.export.load(str(out)).module()
    return ExportResult(out, _check_against_eager(name, model, loaded, size, out), (1, 3), None)
