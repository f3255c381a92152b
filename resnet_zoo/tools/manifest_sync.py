"""``resnet-zoo manifest sync``: regenerate the manifest from the installed timm's pretrained configs
and timm's published ImageNet results. A tool-time module: it imports timm, the runtime never does.

Published Hub locations, parity records and entries of our own (bundled weights) are carried
over from the current manifest, so syncing never loses what publishing recorded.
"""

import csv
import os
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..weights.manifest import (
    TIMM_RESULTS_CITATION,
    HubLocation,
    Origin,
    Parity,
    ReportedAccuracy,
    Weights,
    packaged_manifest_path,
    read_manifest_file,
)
from ..weights.transforms import Preprocessing
from ..zoo import get_spec, list_models
from .interop import KERAS_ARCHS

HASH_IN_NAME = re.compile(r"-([0-9a-f]{6,64})\.(?:pth|pt|bin|h5)$")
LABEL_SETS = {1000: "imagenet-1k", 0: "none"}


def hash_prefix(url: str) -> str:
    """The sha256 prefix a ``name-<hash>.pth`` file name carries (torch.hub's convention)."""
    match = HASH_IN_NAME.search(url or "")
    return match.group(1) if match else ""


def read_results(csv_path: Path) -> dict[str, list[ReportedAccuracy]]:
    out: dict[str, list[ReportedAccuracy]] = {}
    with open(csv_path, newline="") as f:
        for row in csv.DictReader(f):
            out.setdefault(row["model"], []).append(
                ReportedAccuracy(
                    img_size=int(row["img_size"]),
                    top1=float(row["top1"]),
                    top5=float(row["top5"]),
                    crop_pct=float(row["crop_pct"]),
                    interpolation=row["interpolation"],
                    citation=TIMM_RESULTS_CITATION,
                )
            )
    return {k: sorted(v, key=lambda r: r.img_size) for k, v in out.items()}


def _papers(cfg: dict[str, Any], arch: str) -> tuple[str, ...]:
    ids = cfg.get("paper_ids") or ()
    ids = (ids,) if isinstance(ids, str) else tuple(ids)
    return tuple(dict.fromkeys((*ids, get_spec(arch).paper)))


def timm_entries(results: dict[str, list[ReportedAccuracy]]) -> list[Weights]:
    import timm
    from timm.models import get_pretrained_cfg
    from timm.models._registry import _model_default_cfgs

    registered = set(list_models())
    entries = []
    for name in timm.list_pretrained():
        arch, _, tag = name.partition(".")
        if arch not in registered:
            continue
        cfg = get_pretrained_cfg(name).to_dict()  # type: ignore[union-attr]  # listed by timm: it has one
        url = cfg.get("url") or ""
        test_size = cfg.get("test_input_size")
        entries.append(
            Weights(
                name=name,
                arch=arch,
                tag=tag,
                default=list(_model_default_cfgs[arch].tags)[0] == tag,  # type: ignore[attr-defined]  # timm's DefaultCfg
                num_classes=cfg["num_classes"],
                label_set=LABEL_SETS.get(cfg["num_classes"], f"{cfg['num_classes']}-classes"),
                preprocessing=Preprocessing(
                    input_size=tuple(cfg["input_size"]),
                    interpolation=cfg["interpolation"],
                    mean=tuple(cfg["mean"]),
                    std=tuple(cfg["std"]),
                    crop_pct=cfg["crop_pct"],
                    crop_mode=cfg.get("crop_mode") or "center",
                    test_input_size=tuple(test_size) if test_size else None,
                    test_crop_pct=cfg.get("test_crop_pct"),
                ),
                license=cfg.get("license") or "unknown",
                storage="hub",
                paper=_papers(cfg, arch),
                source_url=cfg.get("origin_url") or "",
                reported=tuple(results.get(name, ())),
                origin=Origin(
                    library="timm",
                    library_version=timm.__version__,
                    hf_hub_id=cfg.get("hf_hub_id") or "",
                    hf_hub_filename="model.safetensors" if cfg.get("hf_hub_id") else "",
                    url=url,
                    url_hash_prefix=hash_prefix(url),
                    format="timm",
                    url_format="torchvision" if "download.pytorch.org" in url else "timm",
                ),
            )
        )
    order = {a: i for i, a in enumerate(list_models())}
    return sorted(entries, key=lambda e: order[e.arch])  # registry order, timm's tag order within an arch


# Keras' preprocess_input: "caffe" mode for v1 (BGR, mean subtraction on 0-255), "tf" mode for V2 (to [-1, 1])
CAFFE = dict(channel_order="BGR", scale=255.0, mean=(103.939, 116.779, 123.68), std=(1.0, 1.0, 1.0))
TF_MODE = dict(mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))
MICROSOFT = {
    "resnet-18": "resnet18",
    "resnet-26": "resnet26",
    "resnet-34": "resnet34",
    "resnet-50": "resnet50",
    "resnet-101": "resnet101",
    "resnet-152": "resnet152",
}


def keras_entries() -> list[Weights]:
    """Keras Applications' ImageNet weights: the URLs and md5 hashes that Keras itself publishes."""
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras
    from keras.src.applications import resnet as keras_resnet

    entries = []
    for name, arch in KERAS_ARCHS.items():
        file_name = f"{name}_weights_tf_dim_ordering_tf_kernels.h5"
        mode = TF_MODE if name.endswith("v2") else CAFFE
        entries.append(
            Weights(
                name=f"{arch}.keras_in1k",
                arch=arch,
                tag="keras_in1k",
                default=True,
                num_classes=1000,
                label_set="imagenet-1k",
                storage="hub",
                license="mit",
                preprocessing=Preprocessing(input_size=(3, 224, 224), interpolation="bilinear", crop_pct=0.875, **mode),
                paper=(get_spec(arch).paper,),
                source_url="https://keras.io/api/applications/resnet/",
                origin=Origin(
                    library="keras",
                    library_version=keras.__version__,
                    url=keras_resnet.BASE_WEIGHTS_PATH + file_name,
                    url_md5=keras_resnet.WEIGHTS_HASHES[name][0],
                    url_format="keras",
                    format="keras",
                ),
                notes=f"Keras' preprocess_input mode {'tf' if name.endswith('v2') else 'caffe'}, "
                "built into the transform",
            )
        )
    return entries


def transformers_entries() -> list[Weights]:
    """🤗 transformers' microsoft/resnet-* ImageNet-1k checkpoints (ResNetForImageClassification)."""
    import transformers

    return [
        Weights(
            name=f"{arch}.microsoft_in1k",
            arch=arch,
            tag="microsoft_in1k",
            default=False,
            num_classes=1000,
            label_set="imagenet-1k",
            storage="hub",
            license="apache-2.0",
            preprocessing=Preprocessing(
                input_size=(3, 224, 224),
                interpolation="bicubic",
                crop_pct=0.875,
                mean=(0.485, 0.456, 0.406),
                std=(0.229, 0.224, 0.225),
            ),
            paper=(get_spec(arch).paper,),
            source_url=f"https://huggingface.co/microsoft/{repo}",
            origin=Origin(
                library="transformers",
                library_version=transformers.__version__,
                hf_hub_id=f"microsoft/{repo}",
                hf_hub_filename="model.safetensors",
                format="transformers",
            ),
        )
        for repo, arch in MICROSOFT.items()
    ]


def sync(manifest_path: Path, results_csv: Path) -> list[Weights]:
    """The regenerated entries: timm's, with published hub/parity records and our own entries kept."""
    # no file there (an installed wheel, a new path): start from the packaged manifest, so that our own
    # entries (the bundled digits weight) and published records are kept, not dropped
    current = read_manifest_file(manifest_path if manifest_path.exists() else packaged_manifest_path())
    entries = []
    for entry in [*timm_entries(read_results(results_csv)), *keras_entries(), *transformers_entries()]:
        old = current.get(entry.name)
        if old is not None and (old.hub != HubLocation() or old.parity != Parity()):
            entry = replace(entry, hub=old.hub, parity=old.parity)
        entries.append(entry)
    generated = {e.name for e in entries}
    entries += [
        e
        for n, e in current.items()
        if n not in generated and e.origin.library not in ("timm", "keras", "transformers")
    ]
    return entries


def write_imagenet_labels(path: Path) -> None:
    """ImageNet-1k class names in index order, from timm's bundled class info (generated data)."""
    from timm.data import ImageNetInfo

    names = ImageNetInfo().label_descriptions()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(names) + "\n")
