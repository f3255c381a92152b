"""Weights in timm's repo layout: ``config.json`` (``architecture`` + ``pretrained_cfg``) beside
``model.safetensors`` (or ``pytorch_model.bin``, read weights-only), on the Hub (``hf-hub:ORG/NAME[@REV]``)
or in a folder (``local-dir:PATH``, a ``finetune`` output, ``save_pretrained``'s output).

Hub files come through huggingface_hub (its cache, ``HF_ENDPOINT``, ``HF_HUB_OFFLINE``, ``HF_TOKEN``);
an LFS file is checked against the sha256 its cache entry is named by. This module reads files
and builds no model: the factory checks the architecture and assigns the tensors.
"""

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import IncompatibleCheckpointError, InvalidArgumentError, WeightsNotAvailableError
from .cache import hub_cache_dir, is_offline, verify_file
from .cfg import preprocessing_cfg, preprocessing_from_cfg
from .labels import label_names
from .manifest import Weights, get_weights
from .transforms import Preprocessing

HF_HUB_PREFIX, LOCAL_DIR_PREFIX = "hf-hub:", "local-dir:"
CONFIG_FILE = "config.json"
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")  # timm's order of preference
OUR_SECTION = "resnet_zoo"  # our part of config.json: class names, preprocessing, provenance
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class FolderWeights(Weights):
    """A :class:`Weights` record for weights in a repo or folder rather than the manifest: the
    class names travel with it (a fine-tune's classes are its own)."""

    class_names: tuple[str, ...] = ()
    location: str = ""  # "hf-hub:org/name@rev" or the folder

    def labels(self) -> list[str]:
        return list(self.class_names) or label_names(self.label_set, self.num_classes)


@dataclass
class RepoWeights:
    """What a timm-layout repo holds: its config, the weight file, and our record of it."""

    location: str
    config: dict[str, Any]
    weight_file: Path
    weight: FolderWeights
    pretrained_cfg: dict[str, Any] = field(default_factory=dict)

    @property
    def arch(self) -> str:
        return self.weight.arch


def is_repo_ref(name: str) -> bool:
    return isinstance(name, str) and name.startswith((HF_HUB_PREFIX, LOCAL_DIR_PREFIX))


def is_weight_folder(value: Any) -> bool:
    """A folder with a ``config.json`` and a weight file: a finetune output or a saved model."""
    if not isinstance(value, (str, os.PathLike)) or not os.path.isdir(value):
        return False
    return (Path(value) / CONFIG_FILE).is_file() and any((Path(value) / f).is_file() for f in WEIGHT_FILES)


def open_repo(ref: str, cache_dir: str | os.PathLike[str] | None = None, need_weights: bool = True) -> RepoWeights:
    """``hf-hub:ORG/NAME[@REV]``, ``local-dir:PATH`` or a folder path -> its config and weight file."""
    if ref.startswith(HF_HUB_PREFIX):
        repo_id, _, revision = ref[len(HF_HUB_PREFIX) :].partition("@")
        config_path = _hub_file(repo_id, CONFIG_FILE, revision or None, cache_dir)
        if config_path is None:
            raise _unavailable(ref, CONFIG_FILE)
        weight_file = None
        for name in WEIGHT_FILES if need_weights else ():
            weight_file = _hub_file(repo_id, name, revision or None, cache_dir)
            if weight_file is not None:
                break
        if need_weights and weight_file is None:
            raise _unavailable(ref, " or ".join(WEIGHT_FILES))
        return _read(ref, config_path, weight_file or config_path)
    folder = Path(ref[len(LOCAL_DIR_PREFIX) :] if ref.startswith(LOCAL_DIR_PREFIX) else ref)
    if not (folder / CONFIG_FILE).is_file():
        raise WeightsNotAvailableError(
            f"{ref!r}: {folder} has no {CONFIG_FILE}; a local-dir: folder holds timm's layout "
            f"({CONFIG_FILE} with 'architecture' and 'pretrained_cfg', and {' or '.join(WEIGHT_FILES)})"
        )
    found = [folder / f for f in WEIGHT_FILES if (folder / f).is_file()]
    if need_weights and not found:
        raise WeightsNotAvailableError(f"{ref!r}: {folder} has no {' or '.join(WEIGHT_FILES)}")
    return _read(str(folder), folder / CONFIG_FILE, found[0] if found else folder / CONFIG_FILE)


def _hub_file(repo_id: str, filename: str, revision: str | None, cache_dir: Any) -> Path | None:
    # huggingface_hub's download stack costs ~0.5 s to import; only the Hub road needs it
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError, HfHubHTTPError, LocalEntryNotFoundError

    try:
        path = Path(hf_hub_download(repo_id, filename, revision=revision, cache_dir=cache_dir))
    except EntryNotFoundError:
        return None
    except (LocalEntryNotFoundError, HfHubHTTPError, OSError) as e:
        if isinstance(e, HfHubHTTPError) and getattr(e.response, "status_code", 0) == 404 and filename != CONFIG_FILE:
            return None
        if filename == CONFIG_FILE:
            raise _unavailable(f"{HF_HUB_PREFIX}{repo_id}", filename, e) from None
        return None
    blob = path.resolve().name  # huggingface_hub names an LFS blob by its sha256
    if _SHA256.match(blob):
        verify_file(path.resolve(), blob, f"{repo_id}/{filename}")
    return path


def _unavailable(ref: str, what: str, error: Exception | None = None) -> WeightsNotAvailableError:
    offline = " (offline: HF_HUB_OFFLINE is set and it is not cached)" if is_offline() else ""
    cause = f": {type(error).__name__}: {str(error).splitlines()[0][:200]}" if error else ""
    return WeightsNotAvailableError(
        f"{ref}: {what} is not available{offline}{cause}. Hub cache: {hub_cache_dir()}; check the repo id and "
        f"revision, HF_ENDPOINT and HF_TOKEN, or download it while online (huggingface-cli download)"
    )


def _read(location: str, config_path: Path, weight_file: Path) -> RepoWeights:
    try:
        config = json.loads(config_path.read_text())
    except (OSError, ValueError) as e:
        raise IncompatibleCheckpointError(f"{location}: {config_path.name} is not readable JSON: {e}") from None
    if not isinstance(config, dict) or not isinstance(config.get("architecture"), str):
        raise IncompatibleCheckpointError(
            f"{location}: {config_path.name} names no 'architecture'; timm's layout is "
            '{"architecture": "resnet50", "num_classes": ..., "pretrained_cfg": {...}}'
        )
    weight = folder_weights(location, config)
    config = {**config, "architecture": weight.arch}
    cfg = {**preprocessing_cfg(weight.preprocessing), **(config.get("pretrained_cfg") or {})}
    cfg.update(architecture=weight.arch, num_classes=weight.num_classes, label_names=tuple(weight.labels()))
    cfg.setdefault("hf_hub_id", location[len(HF_HUB_PREFIX) :].split("@")[0] if location.startswith("hf-hub:") else "")
    return RepoWeights(location, config, weight_file, weight, _tuples(cfg))


def _tuples(cfg: dict[str, Any]) -> dict[str, Any]:
    return {k: tuple(v) if isinstance(v, list) else v for k, v in cfg.items()}


def folder_weights(location: str, config: dict[str, Any]) -> FolderWeights:
    """Our record of a timm-layout config (or of a 0.1 finetune config, which kept
    ``class_names`` and ``preprocessing`` at the top level)."""
    ours = config.get(OUR_SECTION) or {}
    cfg = config.get("pretrained_cfg") or {}
    arch = str(ours.get("architecture") or config["architecture"]).split(".")[0]
    pre_fields = ours.get("preprocessing") or config.get("preprocessing")
    pre = Preprocessing(**_tuples(pre_fields)) if pre_fields else preprocessing_from_cfg(cfg)
    names = ours.get("class_names") or config.get("class_names") or cfg.get("label_names") or config.get("label_names")
    num_classes = int(config.get("num_classes", cfg.get("num_classes", len(names or ()) or 1000)))
    tag = cfg.get("tag") or ours.get("tag") or "local"
    label_set = ours.get("label_set") or config.get("label_set") or ("custom" if names else cfg.get("label_set", ""))
    return FolderWeights(
        name=f"{arch}.{tag}",
        arch=arch,
        tag=tag,
        default=False,
        num_classes=num_classes,
        label_set=label_set or "custom",
        preprocessing=pre,
        license=cfg.get("license") or ours.get("license") or "unknown",
        storage="folder",
        source_url=ours.get("source", ""),
        notes=json.dumps(ours["provenance"])
        if isinstance(ours.get("provenance"), dict)
        else ours.get("provenance", ""),
        class_names=tuple(names or ()),
        location=location,
    )


def weights_record(name: str, manifest: str | None = None) -> Weights:
    """``resnet_zoo.get_weights``: a manifest weight (``arch.tag``, an arch's default, a torchvision
    enum name such as ``resnet50.IMAGENET1K_V2``), or the record of a repo or folder."""
    if is_repo_ref(name) or is_weight_folder(name):
        return open_repo(str(name), need_weights=False).weight
    if not isinstance(name, str):
        raise InvalidArgumentError(f"weight name must be a str like 'resnet50.a1_in1k', got {name!r}")
    return get_weights(resolve_alias(name, manifest), manifest=manifest)


# torchvision's weight enum names -> our tags of the same weights
TORCHVISION_ALIASES = {"IMAGENET1K_V1": "tv_in1k", "IMAGENET1K_V2": "tv2_in1k"}


def resolve_alias(name: str, manifest: str | None = None) -> str:
    """``arch.IMAGENET1K_V1`` -> ``arch.tv_in1k``, ``arch.IMAGENET1K_V2`` -> ``arch.tv2_in1k``,
    ``arch.DEFAULT`` -> ``arch`` (its default weight); other names unchanged."""
    arch, _, tag = name.partition(".")
    if tag == "DEFAULT":
        return arch
    if tag in TORCHVISION_ALIASES:
        return f"{arch}.{TORCHVISION_ALIASES[tag]}"
    return name
