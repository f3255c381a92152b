"""The records of ``weights_manifest.json``: every fact about one weight, as frozen dataclasses.

Plain data with no reading or checking (``schema.py`` parses and validates, ``manifest.py`` reads
files and answers questions).
"""

from dataclasses import asdict, dataclass, field
from typing import Any

from .labels import label_names
from .transforms import EvalTransform, Preprocessing, eval_transform

SYNTHETIC_WARNING = (
    "{name}: SYNTHETIC weights - seeded random numbers standing in for the trained weights (made "
    "offline, with no network); their outputs mean nothing and no accuracy applies to them"
)


def synthetic_warning(name: str) -> str:
    """The one sentence every place that shows a synthetic weight says (load warning, model card)."""
    return SYNTHETIC_WARNING.format(name=name)


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
    # made from seeded random numbers (an offline stand-in), not the origin's trained numbers;
    # written only when true, so the packaged manifest (all real) does not carry it
    synthetic: bool = False

    def transforms(self, test_size: bool = False) -> EvalTransform:
        """The eval transform of this weight: PIL image -> normalised CHW float tensor
        (``test_size=True``: at ``test_input_size``, where the weight reports a larger test size)."""
        return eval_transform(self.preprocessing, test_size=test_size)

    def labels(self) -> list[str]:
        return label_names(self.label_set, self.num_classes)

    def to_dict(self) -> dict[str, Any]:
        data = _to_jsonable(asdict(self))
        if not self.synthetic:
            del data["synthetic"]
        return data


def _to_jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_jsonable(v) for v in value]
    return value
