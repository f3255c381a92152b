"""``weights_manifest.json``: every fact about every published weight, as typed, validated data.

The manifest is parsed lazily, on the first question about weights, never at import. The
packaged copy is the default and holds the pins; ``RESNET_ZOO_MANIFEST`` (or a local hub
directory's own ``weights_manifest.json``) may only *add*: Hub locations for weights the package
knows, and new entries under their own names (see :func:`overlay`).
"""

import difflib
import fnmatch
import json
import os
from dataclasses import fields, replace
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from ..errors import InvalidArgumentError, ManifestError, UnknownModelError
from .records import HubLocation, Origin, Parity, ReportedAccuracy, Weights
from .schema import SCHEMA_VERSION, check_defaults, parse_manifest

__all__ = [
    "SCHEMA_VERSION",
    "MANIFEST_ENV",
    "TIMM_RESULTS_CITATION",
    "HubLocation",
    "Origin",
    "Parity",
    "ReportedAccuracy",
    "Weights",
    "parse_manifest",
    "overlay",
    "load_manifest",
    "read_manifest_file",
    "packaged_manifest_path",
    "manifest_document",
    "manifest_text",
    "write_manifest",
    "list_pretrained",
    "get_weights",
]

MANIFEST_ENV = "RESNET_ZOO_MANIFEST"
TIMM_RESULTS_CITATION = (
    "timm ImageNet-1k validation results, results/results-imagenet.csv "
    "(huggingface/pytorch-image-models, commit aa4b5850)"
)
# what an overlay entry of a packaged weight may bring: where its converted file is (hub), the
# check of that conversion (parity), and whether that file holds random numbers (synthetic)
OVERLAY_FIELDS = ("hub", "parity", "synthetic")


def overlay(base: dict[str, Weights], extra: dict[str, Weights], origin: str) -> dict[str, Weights]:
    """``base`` (the package's pins) with ``extra`` added: a Hub location for a known weight (when the
    package has none, or the same one), or a new entry. Changing any other fact of a packaged
    entry is a ``ManifestError`` naming the entry and the field."""
    merged = dict(base)
    for name, entry in extra.items():
        packaged = base.get(name)
        if packaged is None:
            merged[name] = entry
            continue
        for f in fields(Weights):
            if f.name in OVERLAY_FIELDS or getattr(entry, f.name) == getattr(packaged, f.name):
                continue
            if f.name == "reported" and entry.synthetic and not entry.reported:
                continue  # a synthetic stand-in carries no figures; the packaged ones stay
            raise ManifestError(
                f"{origin}: entry {name!r} changes the packaged field {f.name!r} "
                f"({_short(getattr(packaged, f.name))} -> {_short(getattr(entry, f.name))}); an overlay may only "
                "add a Hub location (hub.repo_id, revision, sha256) for a packaged weight, or add new entries "
                "under their own names"
            )
        if packaged.hub.published and entry.hub != packaged.hub:
            raise ManifestError(
                f"{origin}: entry {name!r} changes the packaged field 'hub' (pinned at "
                f"{packaged.hub.repo_id}@{packaged.hub.revision[:12]}, sha256 {packaged.hub.sha256[:12]}...); "
                "the package's pins cannot be replaced"
            )
        merged[name] = replace(
            packaged,
            hub=entry.hub,
            parity=entry.parity,
            synthetic=entry.synthetic,
            reported=() if entry.synthetic else packaged.reported,
        )
    check_defaults(merged, origin)
    return merged


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def packaged_manifest_path() -> Path:
    return Path(str(resources.files("resnet_zoo") / "weights_manifest.json"))


def read_manifest_file(path: str | os.PathLike[str]) -> dict[str, Weights]:
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise ManifestError(f"manifest file {str(path)!r} does not exist") from None
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as e:
        raise ManifestError(f"manifest file {str(path)!r} is not valid JSON: {e}") from None
    except OSError as e:
        raise ManifestError(f"manifest file {str(path)!r} cannot be read: {e}") from None
    return parse_manifest(data, origin=str(path))


@lru_cache(maxsize=8)
def _load(path: str, stamp: tuple[int, int, int]) -> dict[str, Weights]:
    return read_manifest_file(path)


def load_manifest(path: str | os.PathLike[str] | None = None) -> dict[str, Weights]:
    """All weights by name: the packaged manifest, with ``path`` (or ``$RESNET_ZOO_MANIFEST``)
    overlaid by :func:`overlay` (it adds Hub locations and entries; it never replaces a pin)."""
    base = _cached(packaged_manifest_path())
    overlay_path = path or os.environ.get(MANIFEST_ENV)
    if not overlay_path:
        return base
    return _overlaid(str(packaged_manifest_path()), str(overlay_path), _stamp(Path(overlay_path)))


def _stamp(path: Path) -> tuple[int, int, int]:
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise ManifestError(f"manifest file {str(path)!r} does not exist") from None
    return stat.st_mtime_ns, stat.st_ctime_ns, stat.st_size


def _cached(path: Path) -> dict[str, Weights]:
    return _load(str(path), _stamp(path))


@lru_cache(maxsize=8)
def _overlaid(base_path: str, path: str, stamp: tuple[int, int, int]) -> dict[str, Weights]:
    return overlay(_cached(Path(base_path)), _cached(Path(path)), path)


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
    weights = load_manifest(manifest)
    names = list(weights)
    if filter:
        wildcard = any(c in filter for c in "*?[")
        pattern = filter if wildcard or "." in filter else f"{filter}.*"
        names = [n for n in names if fnmatch.fnmatchcase(n, pattern)]
        if not names and not wildcard:  # a plain name that matches nothing is a typo, not an empty answer
            candidates = list(weights) if "." in filter else sorted({w.arch for w in weights.values()})
            close = difflib.get_close_matches(filter, candidates, n=5, cutoff=0.6)
            hint = f"did you mean {', '.join(close)}? " if close else ""
            raise UnknownModelError(
                f"no pretrained weights match {filter!r}; {hint}resnet_zoo.list_pretrained() lists all "
                f"{len(weights)} (a wildcard such as {filter.split('.')[0]}* returns [] when none match)"
            )
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
