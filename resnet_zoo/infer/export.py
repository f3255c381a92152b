"""``resnet-zoo export onnx``: an ONNX graph of a model, checked with onnxruntime before success."""

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import torch

from ..errors import ExportMismatchError
from ..factory import create_model
from ..naming import split_name
from ..weights.fetch import weight_entry
from ..weights.load import resolve_weight_name
from ..weights.localhub import hub_dir_from_env
from ..weights.manifest import load_manifest
from ..zoo import get_spec

logger = logging.getLogger(__name__)
ONNX_TOLERANCE = 1e-4  # max |delta| allowed, as a fraction of max(1, max |PyTorch output|)


@dataclass(frozen=True)
class ExportResult:
    path: Path
    max_abs_diff: float
    batches_checked: tuple[int, ...]
    opset: int | None


def _model_and_input_size(name: str, hub_dir: str | None) -> tuple[torch.nn.Module, tuple[int, int, int]]:
    """A weight tag loads its weights; an architecture name exports the randomly initialised graph."""
    _, tag = split_name(name)
    if tag is not None or name in load_manifest():
        spec = weight_entry(resolve_weight_name(name, True), hub_dir_from_env(hub_dir))
        return create_model(spec.name, pretrained=True, hub_dir=hub_dir), spec.preprocessing.input_size
    return create_model(name), get_spec(name).input_size


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
