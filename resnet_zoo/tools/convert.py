"""convert -> check: an origin weight to a parity-checked ``model.safetensors`` + ``config.json`` + model card.

Tool-time code (``resnet-zoo convert``): it builds the origin implementation (timm, transformers,
Keras), so it imports them; loading weights never comes here.
"""

import json
import shutil
import tempfile
import warnings
import zlib
from dataclasses import dataclass, replace
from pathlib import Path

import torch
from safetensors.torch import save_file

from ..convert import convert_checkpoint
from ..errors import ParityMismatchError, ResNetZooError, SyntheticWeightsWarning, WeightsNotAvailableError
from ..factory import create_model, keys_of
from ..version import __version__
from ..weights.cache import sha256_file
from ..weights.fetch import ORIGIN_SOURCES, fetch_weights
from ..weights.load import read_state_dict
from ..weights.manifest import Parity, Weights, get_weights
from ..zoo import build_model
from . import interop
from .modelcard import write_config, write_model_card
from .parity import RTOL, randomize_

WEIGHTS_FILE = "model.safetensors"
PARITY_BATCH = 2
DEFAULT_ORG = "resnet-zoo"
SOURCES = ("origin", "synthetic")  # where a conversion's numbers come from
DEFAULT_SOURCE = "origin"  # the one default of convert and build-hub (API and CLI)


def default_repo_id(tag: str) -> str:
    return f"{DEFAULT_ORG}/{tag}"


@dataclass(frozen=True)
class ConvertResult:
    spec: Weights
    out_dir: Path
    sha256: str
    size: int
    parity: Parity
    reference: torch.nn.Module  # timm's model with the origin weights, for later comparisons


@dataclass(frozen=True)
class OriginWeights:
    state_dict: dict[str, torch.Tensor]  # in the origin's key format
    format: str  # the converter that maps it to ours
    provenance: str  # where it came from
    reference: torch.nn.Module | None = None  # the origin implementation holding it, when built here
    synthetic: bool = False  # seeded random numbers, not the origin's trained ones


def reference_model(spec: Weights, origin: OriginWeights) -> torch.nn.Module:
    """The implementation a weight came from, holding its origin weights: timm's or transformers'
    model, the Keras model itself; for weights of our own (bundled), our model from the origin file."""
    if origin.reference is not None:
        return origin.reference
    if spec.origin.library == "timm":
        return timm_reference(spec, origin.state_dict)
    if spec.origin.library == "transformers":
        return interop.transformers_reference(spec, origin.state_dict)
    model = build_model(spec.arch, num_classes=spec.num_classes, in_chans=spec.preprocessing.input_size[0])
    model.load_state_dict(origin.state_dict, strict=True)
    return model.eval()


def timm_reference(spec: Weights, state_dict: dict[str, torch.Tensor] | None) -> torch.nn.Module:
    import timm

    model = timm.create_model(
        spec.arch, pretrained=False, num_classes=spec.num_classes, in_chans=spec.preprocessing.input_size[0]
    )
    if state_dict is not None:
        model.load_state_dict(state_dict, strict=True)
    return model.eval()


def origin_state_dict(weight: Weights, source: str, seed: int = 0) -> OriginWeights:
    """The origin weights of ``weight``: its published file (``source="origin"``, along the origin
    part of the one source order), or seeded random weights (``source="synthetic"``, offline)."""
    if weight.storage == "bundled" or source == "origin":  # a bundled weight's origin is the shipped file
        return _published_origin(weight)
    if source != "synthetic":
        raise ResNetZooError(
            f"unknown source {source!r}; use 'origin' (the origin's published file) or "
            "'synthetic' (seeded random weights)"
        )
    library, rng_seed = weight.origin.library, zlib.crc32(weight.name.encode()) + seed
    torch.manual_seed(rng_seed)
    if library == "keras":
        model = interop.randomize_keras_(interop.keras_model(weight.arch, (224, 224, 3)), rng_seed)
        return OriginWeights(
            convert_checkpoint("keras", model, keys_of(weight.arch)),
            "resnet_zoo",
            f"synthetic (seed {seed})",
            interop.KerasLogits(model),
            synthetic=True,
        )
    ref = interop.transformers_reference(weight, None) if library == "transformers" else timm_reference(weight, None)
    model = randomize_(ref.model if isinstance(ref, interop.LogitsOf) else ref, seed=rng_seed)
    return OriginWeights(
        {k: v.contiguous() for k, v in model.state_dict().items()},
        weight.origin.format,
        f"synthetic (seed {seed})",
        synthetic=True,
    )


def _published_origin(weight: Weights) -> OriginWeights:
    try:
        found = fetch_weights(weight, sources=ORIGIN_SOURCES)
    except WeightsNotAvailableError as e:
        raise WeightsNotAvailableError(f"{e}; offline, use --source synthetic") from None
    if found.format == "keras":
        model = interop.keras_model(weight.arch, (224, 224, 3))
        model.load_weights(str(found.path))
        return OriginWeights(
            convert_checkpoint("keras", found.path, keys_of(weight.arch)),
            "resnet_zoo",
            found.source,
            interop.KerasLogits(model),
        )
    return OriginWeights(read_state_dict(found.path), found.format, found.source)


def parity_input(spec: Weights) -> tuple[torch.Tensor, str]:
    c, h, w = spec.preprocessing.input_size
    x = torch.randn(PARITY_BATCH, c, h, w, generator=torch.Generator().manual_seed(0))
    return x, f"randn({PARITY_BATCH}, {c}, {h}, {w}), torch.Generator().manual_seed(0)"


def compare_outputs(ours: torch.Tensor, ref: torch.Tensor) -> tuple[float, float | None, float]:
    """(max |delta|, top-5 agreement, max |ref|) of two logit batches."""
    max_diff = (ours - ref).abs().max().item()
    top5 = None
    if ref.ndim == 2 and ref.shape[1] >= 5:
        same = [set(a.tolist()) == set(b.tolist()) for a, b in zip(ours.topk(5).indices, ref.topk(5).indices)]
        top5 = sum(same) / len(same)
    return max_diff, top5, ref.abs().max().item()


def check_against_reference(model: torch.nn.Module, reference: torch.nn.Module, spec: Weights) -> Parity:
    x, recipe = parity_input(spec)
    with torch.no_grad():
        max_diff, top5, scale = compare_outputs(model.eval()(x), reference(x))
    if not max_diff <= RTOL * scale or (top5 is not None and top5 < 1.0):
        raise ParityMismatchError(
            f"{spec.name}: max |delta| {max_diff:.3e} exceeds {RTOL:g} x {scale:.3e} "
            f"or top-5 agreement {top5} < 1 on {recipe}"
        )
    if spec.origin.library in ("timm", "keras", "transformers"):
        where = f"{spec.origin.library} {spec.origin.library_version} {spec.arch}"
    else:
        where = f"resnet_zoo {__version__} {spec.arch} with the origin file"
    return Parity(reference=where, input=recipe, max_abs_diff=max_diff, top5_agreement=top5)


def convert(
    tag: str,
    out_dir: str | Path,
    source: str = DEFAULT_SOURCE,
    seed: int = 0,
    repo_id: str | None = None,
    force: bool = False,
) -> ConvertResult:
    """Origin weights of ``tag`` -> ``model.safetensors`` + ``config.json`` + model card in ``out_dir``,
    after checking the converted file against timm with the origin weights. On a mismatch nothing
    is written. A non-empty ``out_dir`` is refused unless ``force``. ``source="synthetic"`` marks
    the result synthetic everywhere (manifest record, file metadata, config.json, model card)."""
    spec = get_weights(tag)
    out_dir = Path(out_dir)
    if out_dir.is_dir() and any(out_dir.iterdir()) and not force:
        raise ResNetZooError(
            f"{out_dir} is not empty; convert writes model.safetensors, config.json, README.md and "
            "resnet_zoo_weight.json there: choose an empty or new folder, or pass --force (force=True) to overwrite"
        )
    if out_dir.exists() and not out_dir.is_dir():
        raise ResNetZooError(f"{out_dir} exists and is not a folder; choose another --out")
    origin = origin_state_dict(spec, source, seed)
    if origin.synthetic:  # random numbers: no accuracy of the real weight applies to them
        spec = replace(spec, synthetic=True, reported=())
    ours_sd = convert_checkpoint(origin.format, origin.state_dict, keys_of(spec.arch))
    provenance = origin.provenance
    with tempfile.TemporaryDirectory(
        prefix=".convert-", dir=out_dir.parent if out_dir.parent.exists() else None
    ) as tmp:
        staged = Path(tmp)
        metadata = {
            "format": "pt",
            "arch": spec.arch,
            "tag": spec.name,
            "source": provenance,
            "source_revision": spec.origin.library_version,
            "source_library": spec.origin.library,
            "converter": f"resnet_zoo {__version__}",
            "synthetic": "true" if origin.synthetic else "false",
        }
        save_file({k: v.contiguous() for k, v in ours_sd.items()}, str(staged / WEIGHTS_FILE), metadata=metadata)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SyntheticWeightsWarning)  # we made it: the caller knows
            ours = create_model(
                spec.arch,
                pretrained=str(staged / WEIGHTS_FILE),
                num_classes=spec.num_classes,
                in_chans=spec.preprocessing.input_size[0],
            )
        reference = reference_model(spec, origin)
        parity = check_against_reference(ours, reference, spec)
        spec = replace(spec, parity=parity)
        write_config(spec, staged / "config.json")
        write_model_card(spec, repo_id or default_repo_id(spec.name), staged / "README.md")
        (staged / "resnet_zoo_weight.json").write_text(json.dumps(spec.to_dict(), indent=1) + "\n")
        out_dir.mkdir(parents=True, exist_ok=True)
        for f in staged.iterdir():
            shutil.move(str(f), out_dir / f.name)
    path = out_dir / WEIGHTS_FILE
    return ConvertResult(spec, out_dir, sha256_file(path), path.stat().st_size, parity, reference)
