"""A model to a folder or a Hub repo in timm's layout, which resnet_zoo, timm and transformers read back.

``save_pretrained(model, dir)`` writes ``model.safetensors``, a timm-layout ``config.json``
(``architecture``, ``num_classes``, ``pretrained_cfg``, ``label_names``, plus a ``resnet_zoo``
section: class names, preprocessing, provenance) and a model card; ``push_to_hub`` uploads the
same folder through ``huggingface_hub.HfApi``. ``create_model("hf-hub:ORG/NAME", pretrained=True)``,
``timm.create_model("hf-hub:ORG/NAME", pretrained=True)`` and transformers'
``AutoModelForImageClassification.from_pretrained("ORG/NAME")`` load what it writes.
"""

import json
import os
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

import huggingface_hub
import torch.nn as nn
from safetensors.torch import save_file

from .errors import InvalidArgumentError, ResNetZooError
from .models import ResNetBase
from .version import __version__
from .weights.cfg import preprocessing_cfg, preprocessing_from_cfg
from .weights.repo import CONFIG_FILE, OUR_SECTION
from .weights.transforms import Preprocessing
from .zoo import get_spec

WEIGHTS_FILE = "model.safetensors"
CARD_FILE = "README.md"
_TIMM_CFG_KEYS = ("tag", "custom_load", "pool_size", "first_conv", "classifier", "license")


def _unwrap(model: nn.Module) -> ResNetBase:
    inner = model.module if isinstance(model, nn.parallel.DistributedDataParallel) else model
    if not isinstance(inner, ResNetBase):
        raise InvalidArgumentError(f"save_pretrained expects a resnet_zoo model, got {type(inner).__name__}")
    if hasattr(inner, "feature_indices"):
        raise InvalidArgumentError(
            "a features_only backbone has no classifier to publish; save the classification model "
            "(features_only=False) and build the backbone from it after loading"
        )
    return inner


def model_config(
    model: nn.Module,
    class_names: list[str] | None = None,
    preprocessing: Preprocessing | None = None,
    provenance: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """timm's config.json for ``model``: its pretrained_cfg (the weight's preprocessing unless
    ``preprocessing`` says otherwise), label names, and our section."""
    m = _unwrap(model)
    arch = m.pretrained_cfg.get("architecture") or getattr(m, "arch_name", "")
    if not arch:
        raise InvalidArgumentError("the model names no architecture; build it with resnet_zoo.create_model(name)")
    spec = get_spec(arch)
    weights = getattr(m, "weights", None)
    pre = preprocessing or (weights.preprocessing if weights is not None else preprocessing_from_cfg(m.pretrained_cfg))
    names = list(class_names) if class_names is not None else list(m.pretrained_cfg.get("label_names") or [])
    if names and len(names) != m.num_classes:
        raise InvalidArgumentError(f"{len(names)} class names for a {m.num_classes}-class model")
    src = m.pretrained_cfg
    cfg = {k: src[k] for k in _TIMM_CFG_KEYS if src.get(k) not in (None, "")}
    cfg.update(_lists(preprocessing_cfg(pre)), num_classes=m.num_classes)
    config: dict[str, Any] = {
        "architecture": spec.timm_name or spec.name,  # timm builds it by this name where it has it
        "num_classes": m.num_classes,
        "num_features": m.num_features,
        "global_pool": m.global_pool.pool_type,
        "pretrained_cfg": cfg,
    }
    if names:
        config["label_names"] = names
    config[OUR_SECTION] = {
        "version": __version__,
        "architecture": spec.name,
        "tag": src.get("tag") or "",
        "class_names": names,
        "label_set": weights.label_set if weights is not None and not class_names else "custom",
        "preprocessing": _lists(asdict(pre)),
        "provenance": provenance or _provenance(weights),
    }
    return config


def _lists(d: dict[str, Any]) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}


def _provenance(weights: Any) -> dict[str, Any]:
    if weights is None:
        return {"source": "random init or user training"}
    return {
        "weight": weights.name,
        "license": weights.license,
        "origin": weights.origin.hf_hub_id or weights.origin.url,
    }


def save_pretrained(
    model: nn.Module,
    directory: str | os.PathLike[str],
    class_names: list[str] | None = None,
    preprocessing: Preprocessing | None = None,
    provenance: dict[str, Any] | None = None,
    repo_id: str | None = None,
    model_card: bool = True,
) -> Path:
    """Write ``model`` in timm's layout into ``directory`` (created): ``model.safetensors``,
    ``config.json`` and (``model_card=True``) a ``README.md`` with usage for resnet_zoo, timm and
    transformers. Returns the directory."""
    directory = Path(directory)
    config = model_config(model, class_names, preprocessing, provenance)
    m = _unwrap(model)
    directory.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in m.state_dict().items()}
    tmp = directory / f".{WEIGHTS_FILE}.tmp"
    ours = config[OUR_SECTION]
    save_file(state, str(tmp), metadata={"format": "pt", "arch": ours["architecture"], "tag": ours["tag"]})
    os.replace(tmp, directory / WEIGHTS_FILE)
    (directory / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n")
    if model_card:
        (directory / CARD_FILE).write_text(model_card_text(config, repo_id or f"<org>/{directory.name}"))
    return directory


def model_card_text(config: dict[str, Any], repo_id: str) -> str:
    """A model card: Hub metadata and usage with resnet_zoo, timm and transformers."""
    ours = config[OUR_SECTION]
    arch, timm_arch = ours["architecture"], config["architecture"]
    timm_has_it = get_spec(arch).timm_name is not None
    pre = ours["preprocessing"]
    library = "timm" if timm_has_it else "resnet_zoo"
    lines = [
        "---",
        f"library_name: {library}",
        "tags: [image-classification, resnet_zoo" + (", timm" if timm_has_it else "") + "]",
        f"license: {config['pretrained_cfg'].get('license', 'other')}",
        "---",
        f"# {repo_id}",
        "",
        f"A `{arch}` ({config['num_classes']} classes) saved by resnet_zoo {__version__} in timm's layout.",
        f"Preprocessing: input {pre['input_size']}, crop_pct {pre['crop_pct']}, {pre['interpolation']}, "
        f"mean {pre['mean']}, std {pre['std']}. Provenance: {json.dumps(ours['provenance'])}.",
        "",
        "## resnet_zoo",
        "```python",
        "import resnet_zoo",
        f'model = resnet_zoo.create_model("hf-hub:{repo_id}", pretrained=True).eval()',
        "transform = model.weights.transforms()   # class names: model.weights.labels()",
        "```",
    ]
    if timm_has_it:
        lines += [
            "## timm",
            "```python",
            "import timm",
            f'model = timm.create_model("hf-hub:{repo_id}", pretrained=True).eval()',
            "transform = timm.data.create_transform(**timm.data.resolve_model_data_config(model))",
            "```",
            "## transformers",
            "```python",
            "from transformers import AutoModelForImageClassification",
            f'model = AutoModelForImageClassification.from_pretrained("{repo_id}")  # timm `{timm_arch}` inside',
            "```",
        ]
    else:
        lines += ["", f"timm and transformers have no `{arch}`; load it with resnet_zoo."]
    return "\n".join(lines) + "\n"


def push_to_hub(
    model: nn.Module,
    repo_id: str,
    token: str | None = None,
    private: bool | None = None,
    revision: str | None = None,
    commit_message: str | None = None,
    create_pr: bool = False,
    class_names: list[str] | None = None,
    preprocessing: Preprocessing | None = None,
    provenance: dict[str, Any] | None = None,
) -> str:
    """``save_pretrained`` into a temporary folder and upload it to ``repo_id`` (created if
    missing); returns the commit id. Needs a token (``hf auth login`` or ``HF_TOKEN``)."""
    with tempfile.TemporaryDirectory(prefix="resnet-zoo-push-") as tmp:
        save_pretrained(model, tmp, class_names, preprocessing, provenance, repo_id=repo_id)
        return upload_folder(Path(tmp), repo_id, token, private, revision, commit_message, create_pr)


def upload_folder(
    folder: Path,
    repo_id: str,
    token: str | None = None,
    private: bool | None = None,
    revision: str | None = None,
    commit_message: str | None = None,
    create_pr: bool = False,
) -> str:
    token = token or huggingface_hub.get_token()
    if not token:
        raise ResNetZooError(
            "pushing to the Hugging Face Hub needs a token: run 'hf auth login' (or set HF_TOKEN); "
            "nothing was uploaded. save_pretrained(model, DIR) writes the same files locally"
        )
    api = huggingface_hub.HfApi(token=token)
    api.create_repo(repo_id, repo_type="model", exist_ok=True, private=private)
    info = api.upload_folder(
        repo_id=repo_id,
        folder_path=str(folder),
        commit_message=commit_message or f"resnet_zoo {__version__}: upload model",
        repo_type="model",
        revision=revision,
        create_pr=create_pr,
    )
    return getattr(info, "oid", None) or str(info).rsplit("/", 1)[-1]
