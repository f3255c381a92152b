"""What a published weight's repo says about it: a timm-layout ``config.json`` and a model card."""

import json
from pathlib import Path

from huggingface_hub import EvalResult, ModelCard, ModelCardData

from ..factory import keys_of
from ..version import __version__
from ..weights.manifest import Weights
from ..weights.records import synthetic_warning
from ..zoo import model_info


def write_config(spec: Weights, path: Path) -> None:
    """timm's config.json layout (so timm reads our repos too), plus our own record."""
    pre = spec.preprocessing
    info = model_info(spec.arch)
    keys = keys_of(spec.arch)(spec.num_classes, spec.preprocessing.input_size[0])
    config = {
        "architecture": spec.arch,
        "num_classes": spec.num_classes,
        "num_features": info.feature_info[-1]["num_chs"],
        "pretrained_cfg": {
            "tag": spec.tag,
            "custom_load": False,
            "input_size": list(pre.input_size),
            "test_input_size": list(pre.test_input_size) if pre.test_input_size else None,
            "fixed_input_size": False,
            "interpolation": pre.interpolation,
            "crop_pct": pre.crop_pct,
            "test_crop_pct": pre.test_crop_pct,
            "crop_mode": pre.crop_mode,
            "mean": list(pre.mean),
            "std": list(pre.std),
            "num_classes": spec.num_classes,
            "label_set": spec.label_set,
            "first_conv": keys.first_conv,
            "classifier": keys.classifier,
            "license": spec.license,
        },
        "resnet_zoo": {"version": __version__, "weight": spec.name, "synthetic": spec.synthetic},
    }
    path.write_text(json.dumps(config, indent=2) + "\n")


def write_model_card(spec: Weights, repo_id: str, path: Path) -> None:
    """The repo's README.md: Hub metadata (model-index from the reported accuracy) and the text.
    A synthetic weight's card opens with the warning and has no model-index and no accuracy."""
    ModelCard(f"---\n{card_data(spec).to_yaml()}\n---\n{card_body(spec, repo_id)}").save(path)


def card_data(spec: Weights) -> ModelCardData:
    reported = () if spec.synthetic else spec.reported
    results = [
        EvalResult(
            task_type="image-classification",
            dataset_type="imagenet-1k",
            dataset_name="ImageNet-1k",
            dataset_split="validation",
            metric_type="accuracy",
            metric_name=f"top-{k} @ {r.img_size}px",
            metric_value=value,
            source_name=r.citation,
            source_url="https://github.com/huggingface/pytorch-image-models/blob/aa4b5850/results/results-imagenet.csv",
        )
        for r in reported
        for k, value in ((1, r.top1), (5, r.top5))
    ]
    return ModelCardData(
        library_name="resnet_zoo",
        license=spec.license if spec.license != "unknown" else None,
        tags=["image-classification", "resnet_zoo", "timm", spec.arch, *(["synthetic"] if spec.synthetic else [])],
        datasets=[spec.label_set] if spec.label_set not in ("none",) else None,
        model_name=spec.name if results else None,
        eval_results=results or None,
    )


def card_body(spec: Weights, repo_id: str) -> str:
    if spec.synthetic:
        return synthetic_card_body(spec, repo_id)
    acc = "\n".join(f"| {r.img_size} | {r.top1:.3f} | {r.top5:.3f} | {r.crop_pct} |" for r in spec.reported)
    pre = spec.preprocessing
    body = f"""
# {spec.name}

{spec.arch} weights `{spec.tag}`, converted from {spec.origin.library} {spec.origin.library_version}
(`{spec.origin.hf_hub_id or spec.origin.url}`) to safetensors by resnet_zoo {__version__}.
Outputs checked against the origin implementation: max |delta| {spec.parity.max_abs_diff}, top-5 agreement
{spec.parity.top5_agreement} ({spec.parity.input}).

Papers: {"; ".join(spec.paper)}. License: {spec.license}.

## Preprocessing

input {pre.input_size}, resize shorter side to size / crop_pct ({pre.crop_pct}), centre crop,
{pre.interpolation} interpolation, mean {list(pre.mean)}, std {list(pre.std)}.

## Reported accuracy (ImageNet-1k validation)

| size | top-1 | top-5 | crop |
|---|---|---|---|
{acc or "| - | - | - | - |"}

Source: {spec.reported[0].citation if spec.reported else "none reported"}.

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
    return body


def synthetic_card_body(spec: Weights, repo_id: str) -> str:
    """A synthetic weight's card: the warning first, then only what is true of random numbers."""
    return f"""> **WARNING: {synthetic_warning(spec.name)}.** Do not use them for predictions.

# {spec.name} (synthetic)

A stand-in for {spec.arch} weights `{spec.tag}`, made by resnet_zoo {__version__} from seeded random numbers
(`resnet-zoo convert --source synthetic`) to exercise the convert -> publish -> load pipeline offline. The file
has the keys and shapes of the real weight and was checked against the origin implementation holding the same
random numbers (max |delta| {spec.parity.max_abs_diff}); it reports no accuracy.

To get the real weights: `resnet-zoo convert {spec.name} --out DIR` (source `origin`) on a machine with network.

```python
import resnet_zoo  # warns that the weights are synthetic
model = resnet_zoo.create_model("{spec.name}", pretrained=True)
```
"""
