"""``weights_manifest.json``: every fact about every published weight, as typed, validated data.

The manifest is parsed lazily, on the first question about weights, never at import. The
packaged copy is the default; ``RESNET_ZOO_MANIFEST`` (or a local hub directory's own
``weights_manifest.json``) overlays the Hub locations that a site publishes itself.
"""

import difflib
import fnmatch
import json
import os
from dataclasses import MISSING, asdict, dataclass, field, fields
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from ..errors import InvalidArgumentError, ManifestError, UnknownModelError
from .labels import label_names
from .transforms import EvalTransform, Preprocessing, eval_transform

SCHEMA_VERSION = 2  # 2: "storage" (was "source" in 1: where a weight's bytes are kept, "hub" or "bundled")
MANIFEST_ENV = "RESNET_ZOO_MANIFEST"
TIMM_RESULTS_CITATION = (
    "timm ImageNet-1k validation results, results/results-imagenet.csv "
    "(huggingface/pytorch-image-models, commit aa4b5850)"
)


@dataclass(frozen=True)
class ReportedAccuracy:
    img_size: int
    top1: float
    top5: float
    crop_pct: float
    interpolation: str
    citation: str


@dataclass(frozen=True)
class Origin:
    library: str  # "timm", "torchvision", "keras", "transformers", "resnet_zoo"
    library_version: str = ""
    hf_hub_id: str = ""  # e.g. "timm/resnet50.a1_in1k"
    hf_hub_filename: str = ""  # e.g. "model.safetensors"
    url: str = ""  # legacy download URL (a .pth / .h5 file)
    url_hash_prefix: str = ""  # sha256 prefix carried by the URL's file name (name-<hash>.pth)
    url_md5: str = ""  # the md5 the origin publishes for the URL's file (Keras Applications)
    format: str = "timm"  # key layout of the hf_hub_id file, selects the converter
    url_format: str = "timm"  # key layout of the url file


@dataclass(frozen=True)
class HubLocation:
    """Where our converted safetensors file is published. Empty until published."""

    repo_id: str = ""
    filename: str = ""
    revision: str = ""
    sha256: str = ""
    size: int = 0

    @property
    def published(self) -> bool:
        return bool(self.repo_id and self.filename and self.revision and self.sha256)


@dataclass(frozen=True)
class Parity:
    """The conversion's check against the origin implementation. Empty until checked."""

    reference: str = ""
    input: str = ""
    max_abs_diff: float | None = None
    top5_agreement: float | None = None


@dataclass(frozen=True)
class Weights:
    """Every fact about one published weight: one entry of ``weights_manifest.json``."""

    name: str  # "arch.tag"
    arch: str
    tag: str
    default: bool  # the arch's default weight (timm's rule: first tag with weights)
    num_classes: int
    label_set: str  # "imagenet-1k", "imagenet-21k", "digits", ...
    preprocessing: Preprocessing
    license: str
    storage: str  # "hub" (converted and published), "bundled" (ships in the package)
    paper: tuple[str, ...] = ()
    source_url: str = ""
    reported: tuple[ReportedAccuracy, ...] = ()
    origin: Origin = field(default_factory=lambda: Origin(library=""))
    hub: HubLocation = field(default_factory=HubLocation)
    parity: Parity = field(default_factory=Parity)
    bundled_file: str = ""  # package-relative path of a bundled safetensors file
    bundled_sha256: str = ""
    recipe: str = ""  # how a weight of our own was made (script and command)
    notes: str = ""

    def transforms(self, test_size: bool = False) -> EvalTransform:
        """The eval transform of this weight: PIL image -> normalised CHW float tensor
        (``test_size=True``: at ``test_input_size``, where the weight reports a larger test size)."""
        return eval_transform(self.preprocessing, test_size=test_size)

    def labels(self) -> list[str]:
        return label_names(self.label_set, self.num_classes)

    def to_dict(self) -> dict[str, Any]:
        return _to_jsonable(asdict(self))


def _to_jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_jsonable(v) for v in value]
    return value


# -- parsing and validation -------------------------------------------------------------------

_NESTED = {"preprocessing": Preprocessing, "origin": Origin, "hub": HubLocation, "parity": Parity}


def _build(cls: type, data: Any, where: str) -> Any:
    """Build a dataclass from JSON, checking field names and basic types; errors name the field."""
    if not isinstance(data, dict):
        raise ManifestError(f"{where}: expected an object, got {type(data).__name__}")
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ManifestError(f"{where}: unknown field(s) {unknown}; known fields: {sorted(known)}")
    missing = sorted(
        n for n, f in known.items() if n not in data and f.default is MISSING and f.default_factory is MISSING
    )
    if missing:
        raise ManifestError(f"{where}: missing field(s) {missing}")
    kwargs: dict[str, Any] = {}
    for name, value in data.items():
        kwargs[name] = _convert_field(cls, name, value, f"{where}.{name}")
    return cls(**kwargs)


def _convert_field(cls: type, name: str, value: Any, where: str) -> Any:
    if cls is Weights and name in _NESTED:
        return _build(_NESTED[name], value, where)
    if cls is Weights and name == "reported":
        if not isinstance(value, list):
            raise ManifestError(f"{where}: expected a list")
        return tuple(_build(ReportedAccuracy, v, f"{where}[{i}]") for i, v in enumerate(value))
    if name in ("input_size", "test_input_size", "mean", "std", "paper"):
        if value is None and name == "test_input_size":
            return None
        if not isinstance(value, list):
            raise ManifestError(f"{where}: expected a list, got {value!r}")
        return tuple(value)
    return value


def _check_entry(weight: Weights, where: str) -> None:
    def bad(field_name: str, message: str) -> ManifestError:
        return ManifestError(f"{where} ({weight.name!r}).{field_name}: {message}")

    if not weight.arch or "." in weight.arch or not weight.tag:  # registered? checked where the roads meet (factory)
        raise bad("arch", f"{weight.arch!r} / tag {weight.tag!r}: an arch name without '.' and a non-empty tag")
    if weight.name != f"{weight.arch}.{weight.tag}":
        raise bad("name", f"must be arch.tag = {weight.arch + '.' + weight.tag!r}")
    if not isinstance(weight.num_classes, int) or weight.num_classes < 0:
        raise bad("num_classes", f"{weight.num_classes!r} must be an int >= 0 (0: a backbone without classifier)")
    if weight.storage not in ("hub", "bundled"):
        raise bad("storage", f"{weight.storage!r} must be 'hub' or 'bundled'")
    pre = weight.preprocessing
    if len(pre.input_size) != 3 or not all(isinstance(v, int) and v > 0 for v in pre.input_size):
        raise bad("preprocessing.input_size", f"{pre.input_size!r} must be [channels, height, width]")
    if len(pre.mean) != pre.input_size[0] or len(pre.std) != pre.input_size[0]:
        raise bad("preprocessing.mean/std", f"need one value per channel ({pre.input_size[0]})")
    if pre.interpolation not in ("bilinear", "bicubic", "nearest"):
        raise bad("preprocessing.interpolation", f"{pre.interpolation!r} is not bilinear, bicubic or nearest")
    if pre.crop_mode not in ("center", "squash"):
        raise bad("preprocessing.crop_mode", f"{pre.crop_mode!r} is not 'center' or 'squash'")
    if not 0 < pre.crop_pct <= 1:
        raise bad("preprocessing.crop_pct", f"{pre.crop_pct!r} must be in (0, 1]")
    if weight.hub.sha256 and len(weight.hub.sha256) != 64:
        raise bad("hub.sha256", "must be 64 hex digits")
    if weight.storage == "bundled" and not (weight.bundled_file and len(weight.bundled_sha256) == 64):
        raise bad("bundled_file", "a bundled weight needs bundled_file and its 64-hex bundled_sha256")


def parse_manifest(data: Any, origin: str = "manifest") -> dict[str, Weights]:
    if not isinstance(data, dict) or not isinstance(data.get("weights"), list):
        raise ManifestError(f"{origin}: expected an object with a 'weights' list")
    version = data.get("schema_version")
    if version not in (1, SCHEMA_VERSION):
        raise ManifestError(f"{origin}: schema_version {version!r}, expected {SCHEMA_VERSION} (or 1)")
    weights: dict[str, Weights] = {}
    for i, entry in enumerate(data["weights"]):
        if version == 1 and isinstance(entry, dict) and "source" in entry:
            entry = {("storage" if k == "source" else k): v for k, v in entry.items()}
        label = entry.get("name", f"#{i}") if isinstance(entry, dict) else f"#{i}"
        where = f"{origin}: weights[{i}]"
        weight = _build(Weights, entry, f"{where} ({label!r})")
        _check_entry(weight, where)
        if weight.name in weights:
            raise ManifestError(f"{where}: duplicate entry {weight.name!r}")
        weights[weight.name] = weight
    defaults: dict[str, list[str]] = {}
    for weight in weights.values():
        if weight.default:
            defaults.setdefault(weight.arch, []).append(weight.name)
    doubled = {a: n for a, n in defaults.items() if len(n) > 1}
    if doubled:
        raise ManifestError(f"{origin}: more than one default weight for {doubled}")
    return weights


def packaged_manifest_path() -> Path:
    return Path(str(resources.files("resnet_zoo") / "weights_manifest.json"))


def read_manifest_file(path: str | os.PathLike[str]) -> dict[str, Weights]:
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise ManifestError(f"manifest file {str(path)!r} does not exist") from None
    except json.JSONDecodeError as e:
        raise ManifestError(f"manifest file {str(path)!r} is not valid JSON: {e}") from None
    return parse_manifest(data, origin=str(path))


@lru_cache(maxsize=8)
def _load(path: str, mtime_ns: int) -> dict[str, Weights]:
    return read_manifest_file(path)


def load_manifest(path: str | os.PathLike[str] | None = None) -> dict[str, Weights]:
    """All weights by name: the packaged manifest, with ``path`` (or ``$RESNET_ZOO_MANIFEST``)
    overlaid entry by entry (an overlay entry replaces the packaged one of the same name)."""
    base = _cached(packaged_manifest_path())
    overlay_path = path or os.environ.get(MANIFEST_ENV)
    if not overlay_path:
        return base
    return {**base, **_cached(Path(overlay_path))}


def _cached(path: Path) -> dict[str, Weights]:
    try:
        mtime = path.stat().st_mtime_ns
    except FileNotFoundError:
        raise ManifestError(f"manifest file {str(path)!r} does not exist") from None
    return _load(str(path), mtime)


def manifest_document(weights: list[Weights]) -> dict[str, Any]:
    return {"schema_version": SCHEMA_VERSION, "weights": [s.to_dict() for s in weights]}


def manifest_text(weights: list[Weights]) -> str:
    """The manifest file's exact text (``manifest sync --check`` compares against it)."""
    return json.dumps(manifest_document(weights), indent=1, ensure_ascii=False) + "\n"


def write_manifest(path: str | os.PathLike[str], weights: list[Weights]) -> None:
    """Write atomically: a reader never sees half a manifest."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(manifest_text(weights))
    os.replace(tmp, path)


# -- the public questions ----------------------------------------------------------------------


def list_pretrained(filter: str = "", manifest: str | None = None) -> list[str]:
    """Weight names (``arch.tag``) matching a shell-style wildcard, e.g. ``"resnet50.*"``."""
    names = list(load_manifest(manifest))
    if filter:
        pattern = filter if any(c in filter for c in "*?[") or "." in filter else f"{filter}.*"
        names = [n for n in names if fnmatch.fnmatchcase(n, pattern)]
    return names


def get_weights(name: str, manifest: str | None = None) -> Weights:
    """The :class:`Weights` of ``"arch.tag"``, or of an arch's default weight for ``"arch"``."""
    if not isinstance(name, str):
        raise InvalidArgumentError(f"weight name must be a str like 'resnet50.a1_in1k', got {name!r}")
    weights = load_manifest(manifest)
    if name in weights:
        return weights[name]
    if "." not in name:
        for weight in weights.values():
            if weight.arch == name and weight.default:
                return weight
        archs = sorted({s.arch for s in weights.values()})
        close = difflib.get_close_matches(name, archs, n=5, cutoff=0.6)
        hint = f"did you mean {', '.join(close)}? " if close else ""
        raise UnknownModelError(
            f"{name!r} has no pretrained weights in the manifest; {hint}"
            f"see resnet_zoo.list_pretrained() for the {len(weights)} that do"
        )
    close = difflib.get_close_matches(name, list(weights), n=5, cutoff=0.6)
    arch_tags = [n for n in weights if n.startswith(name.split(".")[0] + ".")][:5]
    suggestions = close or arch_tags
    raise UnknownModelError(
        f"unknown weight {name!r}"
        + (f"; did you mean {', '.join(suggestions)}?" if suggestions else "; see resnet_zoo.list_pretrained()")
    )
