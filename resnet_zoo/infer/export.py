"""``resnet-zoo export onnx|torchscript|exported-program``: a deployable model, checked against eager
PyTorch (onnxruntime for ONNX) before it reports success."""

import contextlib
import io
import json
import logging
import math
import os
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from ..errors import ExportMismatchError, InvalidArgumentError
from ..factory import load_reference

logger = logging.getLogger(__name__)
ONNX_TOLERANCE = 1e-4  # max |delta| allowed, as a fraction of max(1, max |PyTorch output|)
# torch.onnx's exporter (torch.export based) writes these opsets; it silently wrote 18 for lower ones
ONNX_MIN_OPSET = 18
ONNX_MAX_OPSET = int(getattr(getattr(torch.onnx, "_constants", None), "ONNX_MAX_OPSET", 23))
ONNX_DEFAULT_OPSET = int(getattr(getattr(torch.onnx, "_constants", None), "ONNX_DEFAULT_OPSET", 20))


@dataclass(frozen=True)
class ExportResult:
    path: Path
    max_abs_diff: float
    batches_checked: tuple[int, ...]
    opset: int | None  # the opset the file declares (read back from it)
    input_shape: tuple[int | str, ...] = ()  # as the file declares it: a name for each dynamic dimension
    shapes_checked: tuple[tuple[int, ...], ...] = ()


def check_opset(opset: int | None) -> None:
    if opset is not None and not ONNX_MIN_OPSET <= opset <= ONNX_MAX_OPSET:
        raise InvalidArgumentError(
            f"--opset {opset} is not supported: torch.onnx's exporter writes opsets {ONNX_MIN_OPSET} to "
            f"{ONNX_MAX_OPSET} (leave --opset out for {ONNX_DEFAULT_OPSET}); for an older runtime, convert the file "
            "with onnx.version_converter and check it yourself"
        )


def _finish_onnx(path: Path, labels: list[str] | None, preprocessing: dict | None, name: str) -> tuple:
    """Store labels and preprocessing in the file's metadata_props, give dynamic dimensions readable
    names (batch, height, width); return (opset, input shape) as the file declares them."""
    import onnx

    model = onnx.load(str(path))
    dims = model.graph.input[0].type.tensor_type.shape.dim
    renames = {d.dim_param: new for d, new in zip(dims, ("batch", "channels", "height", "width")) if d.dim_param}
    for value in [*model.graph.input, *model.graph.output, *model.graph.value_info]:
        for d in value.type.tensor_type.shape.dim:
            if d.dim_param in renames:
                d.dim_param = renames[d.dim_param]
    props = {"model": name, "labels": json.dumps(labels or []), "preprocessing": json.dumps(preprocessing or {})}
    del model.metadata_props[:]
    for key, value in props.items():
        model.metadata_props.add(key=key, value=value)
    onnx.save(model, str(path))
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), None)
    shape = tuple(d.dim_param or d.dim_value for d in dims)
    return opset, shape


def _model_and_input_size(
    name: str, hub_dir: str | None
) -> tuple[torch.nn.Module, tuple[int, int, int], list[str] | None, dict | None]:
    """A weight tag, repo or finetune folder loads its weights (and has labels and preprocessing);
    an architecture name exports the randomly initialised graph."""
    model, weight = load_reference(name, hub_dir=hub_dir, arch_default_weight=False)
    if weight is None:
        return model, tuple(model.pretrained_cfg["input_size"]), None, None
    pre = {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(weight.preprocessing).items()}
    return model, weight.preprocessing.input_size, weight.labels(), pre


def _check_shapes(c: int, h: int, w: int, dynamic_batch: bool, dynamic_shape: bool) -> list[tuple[int, ...]]:
    """The inputs onnxruntime is checked on: the export size, and a second batch/size when dynamic."""
    shapes: list[tuple[int, ...]] = [(1, c, h, w)]
    if dynamic_shape:
        shapes.append((3, c, h + h // 2 + 3, w + w // 4 + 1))  # another batch, and odd spatial sizes
    elif dynamic_batch:
        shapes.append((3, c, h, w))
    return shapes


def export_onnx(
    name: str,
    out: str | os.PathLike[str],
    dynamic_batch: bool = False,
    opset: int | None = None,
    hub_dir: str | None = None,
    dynamic_shape: bool = False,
) -> ExportResult:
    """Export ``name`` to ONNX (opset ``opset``; ``dynamic_batch``: any batch; ``dynamic_shape``: any
    batch, height and width), with the weight's labels and preprocessing in ``metadata_props``, then
    check onnxruntime against PyTorch at one shape, or two when dynamic; a mismatch removes the file."""
    import onnxruntime

    check_opset(opset)
    model, (c, h, w), labels, pre = _model_and_input_size(name, hub_dir)
    model = model.eval()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    example = torch.randn(
        2 if dynamic_batch or dynamic_shape else 1, c, h, w, generator=torch.Generator().manual_seed(0)
    )
    kwargs: dict = {"input_names": ["input"], "output_names": ["logits"], "dynamo": True, "external_data": False}
    if opset is not None:
        kwargs["opset_version"] = opset
    if dynamic_shape:
        kwargs["dynamic_shapes"] = {
            "x": {0: torch.export.Dim.DYNAMIC, 2: torch.export.Dim.DYNAMIC, 3: torch.export.Dim.DYNAMIC}
        }
    elif dynamic_batch:
        kwargs["dynamic_shapes"] = {"x": {0: torch.export.Dim("batch", min=1, max=1024)}}
    chatter = io.StringIO()
    with contextlib.redirect_stdout(chatter):  # the exporter prints its progress; the library does not
        torch.onnx.export(model, (example,), str(out), **kwargs)
    logger.debug("torch.onnx.export: %s", chatter.getvalue().strip())
    file_opset, input_shape = _finish_onnx(out, labels, pre, name)
    if opset is not None and file_opset != opset:
        out.unlink(missing_ok=True)
        raise ExportMismatchError(
            f"{name}: asked for opset {opset}, the exporter wrote {file_opset}; {out} was removed"
        )
    session = onnxruntime.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    shapes = _check_shapes(c, h, w, dynamic_batch, dynamic_shape)
    worst = 0.0
    for shape in shapes:
        x = torch.randn(*shape, generator=torch.Generator().manual_seed(shape[0]))
        with torch.no_grad():
            expected = model(x)
        got = torch.from_numpy(session.run(["logits"], {"input": x.numpy()})[0])
        diff = (got - expected).abs().max().item()
        worst = max(worst, diff)
        if got.shape != expected.shape or diff > ONNX_TOLERANCE * max(1.0, expected.abs().max().item()):
            out.unlink(missing_ok=True)
            raise ExportMismatchError(
                f"{name}: onnxruntime output {tuple(got.shape)} differs from PyTorch "
                f"{tuple(expected.shape)} by max |delta| {diff:.2e} at input {'x'.join(map(str, shape))}; "
                f"{out} was removed"
            )
    batches = tuple(s[0] for s in shapes)
    return ExportResult(out, worst, batches, file_opset, input_shape, tuple(shapes))


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
    model, size, _, _ = _model_and_input_size(name, hub_dir)
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
    model, size, _, _ = _model_and_input_size(name, hub_dir)
    model = model.eval()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    example = torch.randn(2, *size, generator=torch.Generator().manual_seed(0))
    batch = torch.export.Dim("batch", min=1, max=1024)
    program = torch.export.export(model, (example,), dynamic_shapes={"x": {0: batch}})
    torch.export.save(program, str(out))
    loaded = torch.export.load(str(out)).module()
    return ExportResult(out, _check_against_eager(name, model, loaded, size, out), (1, 3), None)
