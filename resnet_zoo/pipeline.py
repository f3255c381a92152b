"""convert -> check -> publish: the road from an origin weight to a pinned safetensors file on a hub.

Tool-time code (``resnet-zoo convert / publish / build-hub``): it builds the timm reference, so it
imports timm; loading weights never comes here.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import zlib
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from . import __version__
from .convert import CONVERTERS
from .errors import ResNetZooError, WeightsNotAvailableError
from .hub import DEFAULT_ORG, LocalHub, hf_download, publish_to_hf, sha256_file, url_download
from .manifest import HubLocation, Parity, WeightSpec, get_weights, load_manifest, read_manifest_file, write_manifest
from .parity import RTOL, randomize_

logger = logging.getLogger(__name__)

WEIGHTS_FILE = "model.safetensors"
PARITY_BATCH = 2


class ParityMismatchError(ResNetZooError):
    """A converted weight does not reproduce its origin's outputs; nothing was written."""


@dataclass(frozen=True)
class ConvertResult:
    spec: WeightSpec
    out_dir: Path
    sha256: str
    size: int
    parity: Parity
    reference: torch.nn.Module  # timm's model with the origin weights, for later comparisons


def default_repo_id(tag: str) -> str:
    return f"{DEFAULT_ORG}/{tag}"


def reference_model(spec: WeightSpec, origin: OriginWeights) -> torch.nn.Module:
    """The implementation a weight came from, holding its origin weights: timm's or transformers'
    model, the Keras model itself; for weights of our own (bundled), our model from the origin file."""
    if origin.reference is not None:
        return origin.reference
    if spec.origin.library == "timm":
        return timm_reference(spec, origin.state_dict)
    if spec.origin.library == "transformers":
        from .interop import transformers_reference

        return transformers_reference(spec, origin.state_dict)
    from .registry import build_model

    model = build_model(spec.arch, num_classes=spec.num_classes, in_chans=spec.preprocessing.input_size[0])
    model.load_state_dict(origin.state_dict, strict=True)
    return model.eval()


def timm_reference(spec: WeightSpec, state_dict: dict[str, torch.Tensor] | None) -> torch.nn.Module:
    import timm

    model = timm.create_model(spec.arch, pretrained=False, num_classes=spec.num_classes,
                              in_chans=spec.preprocessing.input_size[0])
    if state_dict is not None:
        model.load_state_dict(state_dict, strict=True)
    return model.eval()


@dataclass(frozen=True)
class OriginWeights:
    state_dict: dict[str, torch.Tensor]      # in the origin's layout (``layout``)
    layout: str                              # the converter that maps it to ours
    provenance: str                          # where it came from
    reference: torch.nn.Module | None = None  # the origin implementation holding it, when built here


def origin_state_dict(spec: WeightSpec, source: str, seed: int = 0) -> OriginWeights:
    """The origin weights of ``spec``: its published file, or seeded random weights (offline)."""
    from . import interop
    from .convert import from_keras
    from .weights import fetch_weights, read_state_dict

    library, rng_seed = spec.origin.library, zlib.crc32(spec.name.encode()) + seed
    if spec.source == "bundled":  # our own weight: the shipped file is its origin, whatever the source
        found = fetch_weights(spec)
        return OriginWeights(read_state_dict(found.path), "resnet_zoo", f"bundled {spec.bundled_file}")
    if source == "random":
        torch.manual_seed(rng_seed)
        if library == "keras":
            model = interop.randomize_keras_(interop.keras_model(spec.arch, (224, 224, 3)), rng_seed)
            return OriginWeights(from_keras(model, spec.arch), "resnet_zoo", f"random (seed {seed})",
                                 interop.KerasLogits(model))
        ref = interop.transformers_reference(spec, None) if library == "transformers" else timm_reference(spec, None)
        model = randomize_(ref.model if library == "transformers" else ref, seed=rng_seed)
        return OriginWeights({k: v.contiguous() for k, v in model.state_dict().items()}, spec.origin.format,
                             f"random (seed {seed})")
    if source != "timm":
        raise ResNetZooError(f"unknown source {source!r}; use 'timm' (the origin's published file) or 'random'")
    origin = spec.origin
    if origin.hf_hub_id:
        path = hf_download(origin.hf_hub_id, origin.hf_hub_filename or WEIGHTS_FILE, None, spec.name)
        if path is not None:
            return OriginWeights(read_state_dict(path), origin.format, f"hf://{origin.hf_hub_id}/{origin.hf_hub_filename}")
    if origin.url:
        path = url_download(origin.url, spec.name, origin.url_hash_prefix, md5=origin.url_md5)
        if path is not None and origin.url_format == "keras":
            model = interop.keras_model(spec.arch, (224, 224, 3))
            model.load_weights(str(path))
            return OriginWeights(from_keras(path, spec.arch), "resnet_zoo", origin.url, interop.KerasLogits(model))
        if path is not None:
            return OriginWeights(read_state_dict(path), origin.url_format, origin.url)
    raise WeightsNotAvailableError(f"{spec.name}: origin weights could not be fetched from "
                                   f"{origin.hf_hub_id or '-'} or {origin.url or '-'}; use --source random offline")


def parity_input(spec: WeightSpec) -> tuple[torch.Tensor, str]:
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


def check_against_reference(model: torch.nn.Module, reference: torch.nn.Module, spec: WeightSpec) -> Parity:
    x, recipe = parity_input(spec)
    with torch.no_grad():
        max_diff, top5, scale = compare_outputs(model.eval()(x), reference(x))
    if not max_diff <= RTOL * scale or (top5 is not None and top5 < 1.0):
        raise ParityMismatchError(f"{spec.name}: max |delta| {max_diff:.3e} exceeds {RTOL:g} x {scale:.3e} "
                                  f"or top-5 agreement {top5} < 1 on {recipe}")
    if spec.origin.library in ("timm", "keras", "transformers"):
        where = f"{spec.origin.library} {spec.origin.library_version} {spec.arch}"
    else:
        where = f"resnet_zoo {__version__} {spec.arch} with the origin file"
    return Parity(reference=where, input=recipe, max_abs_diff=max_diff, top5_agreement=top5)


def write_config(spec: WeightSpec, path: Path) -> None:
    """timm's config.json layout (so timm reads our repos too), plus our own record."""
    from .registry import model_info

    pre = spec.preprocessing
    info = model_info(spec.arch)
    config = {
        "architecture": spec.arch,
        "num_classes": spec.num_classes,
        "num_features": info.feature_info[-1]["num_chs"],
        "pretrained_cfg": {
            "tag": spec.tag, "custom_load": False, "input_size": list(pre.input_size),
            "test_input_size": list(pre.test_input_size) if pre.test_input_size else None,
            "fixed_input_size": False, "interpolation": pre.interpolation, "crop_pct": pre.crop_pct,
            "test_crop_pct": pre.test_crop_pct, "crop_mode": pre.crop_mode, "mean": list(pre.mean),
            "std": list(pre.std), "num_classes": spec.num_classes, "label_set": spec.label_set,
            "first_conv": _first_conv(spec.arch), "classifier": _classifier(spec.arch),
            "license": spec.license,
        },
        "resnet_zoo": {"version": __version__, "weight": spec.name},
    }
    path.write_text(json.dumps(config, indent=2) + "\n")


def _first_conv(arch: str) -> str:
    from .registry import get_spec

    spec = get_spec(arch)
    stem = spec.args.get("stem_type", "")
    if spec.family == "resnetv2":
        return "stem.conv1" if stem else "stem.conv"
    return "conv1.0" if stem and stem != "cifar" else "conv1"


def _classifier(arch: str) -> str:
    from .registry import get_spec

    return "head.fc" if get_spec(arch).family == "resnetv2" else "fc"


def write_model_card(spec: WeightSpec, repo_id: str, path: Path) -> None:
    from huggingface_hub import EvalResult, ModelCard, ModelCardData

    results = [EvalResult(task_type="image-classification", dataset_type="imagenet-1k", dataset_name="ImageNet-1k",
                          dataset_split="validation", metric_type="accuracy", metric_name=f"top-{k} @ {r.img_size}px",
                          metric_value=value, source_name=r.citation,
                          source_url="https://github.com/huggingface/pytorch-image-models/blob/aa4b5850/results/results-imagenet.csv")
               for r in spec.reported for k, value in ((1, r.top1), (5, r.top5))]
    data = ModelCardData(library_name="resnet_zoo", license=spec.license if spec.license != "unknown" else None,
                         tags=["image-classification", "resnet_zoo", "timm", spec.arch],
                         datasets=[spec.label_set] if spec.label_set not in ("none",) else None,
                         model_name=spec.name if results else None, eval_results=results or None)
    acc = "\n".join(f"| {r.img_size} | {r.top1:.3f} | {r.top5:.3f} | {r.crop_pct} |" for r in spec.reported)
    pre = spec.preprocessing
    body = f"""
# {spec.name}

{spec.arch} weights `{spec.tag}`, converted from {spec.origin.library} {spec.origin.library_version}
(`{spec.origin.hf_hub_id or spec.origin.url}`) to safetensors by resnet_zoo {__version__}.
Outputs checked against the origin implementation: max |delta| {spec.parity.max_abs_diff}, top-5 agreement
{spec.parity.top5_agreement} ({spec.parity.input}).

Papers: {'; '.join(spec.paper)}. License: {spec.license}.

## Preprocessing

input {pre.input_size}, resize shorter side to size / crop_pct ({pre.crop_pct}), centre crop,
{pre.interpolation} interpolation, mean {list(pre.mean)}, std {list(pre.std)}.

## Reported accuracy (ImageNet-1k validation)

| size | top-1 | top-5 | crop |
|---|---|---|---|
{acc or '| - | - | - | - |'}

Source: {spec.reported[0].citation if spec.reported else 'none reported'}.

## Usage

```python
import resnet_zoo
model = resnet_zoo.create_model("{spec.name}", pretrained=True).eval()
transform = resnet_zoo.get_weights("{spec.name}").transforms()
```

```python
import timm   # the same file, read by timm
model = timm.create_model("hf-hub:{repo_id}", pretrained=True)
```

```python
import torch
model = torch.hub.load("<owner>/resnet_zoo", "{spec.arch}", pretrained=True, weights="{spec.tag}")
```
"""
    ModelCard(f"---\n{data.to_yaml()}\n---\n{body}").save(path)


def convert(tag: str, out_dir: str | Path, source: str = "timm", seed: int = 0,
            repo_id: str | None = None) -> ConvertResult:
    """Origin weights of ``tag`` -> ``model.safetensors`` + ``config.json`` + model card in ``out_dir``,
    after checking the converted file against timm with the origin weights. On a mismatch nothing
    is written."""
    from safetensors.torch import save_file

    from .registry import create_model

    spec = get_weights(tag)
    out_dir = Path(out_dir)
    origin = origin_state_dict(spec, source, seed)
    ours_sd = CONVERTERS[origin.layout](origin.state_dict, spec.arch)
    provenance = origin.provenance
    with tempfile.TemporaryDirectory(prefix=".convert-", dir=out_dir.parent if out_dir.parent.exists() else None) as tmp:
        staged = Path(tmp)
        metadata = {"format": "pt", "arch": spec.arch, "tag": spec.name, "source": provenance,
                    "source_revision": spec.origin.library_version, "source_library": spec.origin.library,
                    "converter": f"resnet_zoo {__version__}"}
        save_file({k: v.contiguous() for k, v in ours_sd.items()}, str(staged / WEIGHTS_FILE), metadata=metadata)
        ours = create_model(spec.arch, pretrained=str(staged / WEIGHTS_FILE), num_classes=spec.num_classes,
                            in_chans=spec.preprocessing.input_size[0])
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


def _spec_of_folder(folder: Path) -> WeightSpec:
    record = folder / "resnet_zoo_weight.json"
    if not record.exists():
        raise ResNetZooError(f"{folder} is not a folder written by 'resnet-zoo convert' (no {record.name})")
    from .manifest import parse_manifest

    data = json.loads(record.read_text())
    return next(iter(parse_manifest({"schema_version": 1, "weights": [data]}, origin=str(record)).values()))


def publish(folder: str | Path, repo_id: str | None = None, to: str | Path | None = None,
            manifest_path: str | Path | None = None, token: str | None = None) -> WeightSpec:
    """Publish a converted folder to the Hub (``repo_id``) or a local hub directory (``to``), then
    record the commit, sha256 and size in the manifest (``to/weights_manifest.json`` for a local
    hub, the repository's ``weights_manifest.json`` for the Hub unless ``manifest_path`` says)."""
    folder = Path(folder)
    spec = _spec_of_folder(folder)
    repo_id = repo_id or default_repo_id(spec.name)
    weights = folder / WEIGHTS_FILE
    sha256, size = sha256_file(weights), weights.stat().st_size
    message = f"{spec.name}: resnet_zoo {__version__} conversion (sha256 {sha256[:12]})"
    if to is not None:
        revision = LocalHub(to).publish(folder, repo_id, message)
        manifest_path = Path(manifest_path or Path(to) / "weights_manifest.json")
    else:
        revision = publish_to_hf(folder, repo_id, message, token=token)
        manifest_path = Path(manifest_path or Path(__file__).resolve().parents[1] / "weights_manifest.json")
    published = replace(spec, hub=HubLocation(repo_id=repo_id, filename=WEIGHTS_FILE, revision=revision,
                                              sha256=sha256, size=size))
    record_in_manifest(manifest_path, published)
    return published


def record_in_manifest(manifest_path: Path, spec: WeightSpec) -> None:
    """Insert or replace ``spec`` in the manifest file (creating it)."""
    entries = dict(read_manifest_file(manifest_path)) if manifest_path.exists() else {}
    entries[spec.name] = spec
    manifest_path.parent.mkdir(parents=True, exist_ok=True)
    write_manifest(manifest_path, list(entries.values()))


def select_tags(patterns: list[str] | None) -> list[str]:
    """Weight names for CLI patterns: an arch name means its default weight, else shell wildcards."""
    import fnmatch

    names = list(load_manifest())
    if not patterns:
        return names
    chosen: list[str] = []
    for pattern in patterns:
        arch_default = [n for n in names if n.split(".")[0] == pattern and load_manifest()[n].default]
        matches = arch_default or [n for n in names if fnmatch.fnmatchcase(n, pattern)]
        if not matches:
            raise ResNetZooError(f"no weight matches {pattern!r}; 'resnet-zoo weights' lists them")
        chosen += [m for m in matches if m not in chosen]
    return chosen


@dataclass(frozen=True)
class HubRow:
    name: str
    size_mb: float
    revision: str
    max_abs_diff: float
    loaded_diff: float
    hub_diff: float | None


def build_hub(to: str | Path, patterns: list[str] | None = None, source: str = "random", seed: int = 0,
              progress: bool = True) -> list[HubRow]:
    """Convert, check and publish every selected weight into the local hub ``to``; then load each
    back through ``create_model`` and ``torch.hub.load`` and compare with timm's outputs."""
    from tqdm.auto import tqdm

    from .registry import create_model

    to = Path(to)
    to.mkdir(parents=True, exist_ok=True)
    hubconf_dir = Path(__file__).resolve().parents[1]
    has_hubconf = (hubconf_dir / "hubconf.py").exists()
    rows = []
    for tag in tqdm(select_tags(patterns), desc="build-hub", unit="weight", disable=not progress):
        with tempfile.TemporaryDirectory(prefix=".build-", dir=to) as tmp:
            result = convert(tag, Path(tmp) / "out", source=source, seed=seed)
            published = publish(result.out_dir, to=to)
        x, _ = parity_input(published)
        with torch.no_grad():
            ref = result.reference(x)
            loaded = create_model(tag, pretrained=True, hub_dir=str(to))
            loaded_diff = (loaded(x) - ref).abs().max().item()
            hub_diff = None
            if has_hubconf:
                hub_model = torch.hub.load(str(hubconf_dir), published.arch, source="local", trust_repo=True,
                                           pretrained=True, weights=published.tag, hub_dir=str(to))
                hub_diff = (hub_model(x) - ref).abs().max().item()
        scale = ref.abs().max().item()
        if loaded_diff > RTOL * scale or (hub_diff is not None and hub_diff > RTOL * scale):
            raise ParityMismatchError(f"{tag}: the published weight loads back with max |delta| {loaded_diff:.3e} "
                                      f"(torch.hub {hub_diff}) against timm")
        rows.append(HubRow(tag, published.hub.size / 2**20, published.hub.revision, result.parity.max_abs_diff or 0.0,
                           loaded_diff, hub_diff))
    return rows
