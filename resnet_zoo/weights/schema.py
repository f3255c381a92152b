"""Parsing and validating manifest JSON: every value type- and range-checked, every error a
``ManifestError`` that names the entry and the field (never a raw ``TypeError``)."""

import math
import re
import types
import typing
from dataclasses import MISSING, fields
from typing import Any

from ..errors import InvalidArgumentError, ManifestError
from .records import HubLocation, Origin, Parity, ReportedAccuracy, Weights
from .repoid import check_repo_id
from .transforms import Preprocessing

SCHEMA_VERSION = 2  # 2: "storage" (was "source" in 1: where a weight's bytes are kept, "hub" or "bundled")
MAX_CLASSES = 100_000
MAX_SIDE = 8192
MAX_CHANNELS = 64
MAX_STRING = 4096
MAX_FILE_BYTES = 1 << 40
_HEX = re.compile(r"[0-9a-fA-F]*")

_NESTED: dict[str, type] = {"preprocessing": Preprocessing, "origin": Origin, "hub": HubLocation, "parity": Parity}


def _fail(where: str, message: str) -> ManifestError:
    return ManifestError(f"{where}: {message}")


def _typed(value: Any, kind: Any, where: str) -> Any:
    """``value`` (from JSON) as the annotated ``kind`` (str, int, float, bool, tuples, optionals)."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        (kind,) = [a for a in args if a is not type(None)]
        return _typed(value, kind, where)
    if origin is tuple:
        if not isinstance(value, list):
            raise _fail(where, f"expected a list, got {type(value).__name__} {_short(value)}")
        many = len(args) == 2 and args[1] is Ellipsis
        if not many and len(value) != len(args):
            raise _fail(where, f"expected {len(args)} values, got {len(value)}")
        return tuple(_typed(v, args[0] if many else args[i], f"{where}[{i}]") for i, v in enumerate(value))
    if kind is bool:
        if not isinstance(value, bool):
            raise _fail(where, f"expected true or false, got {_short(value)}")
    elif kind is int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise _fail(where, f"expected an integer, got {_short(value)}")
    elif kind is float:
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
            raise _fail(where, f"expected a finite number, got {_short(value)}")
        return float(value)
    elif kind is str and (not isinstance(value, str) or len(value) > MAX_STRING):
        raise _fail(where, f"expected a string (at most {MAX_STRING} characters), got {_short(value)}")
    return value


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def build(cls: type, data: Any, where: str) -> Any:
    """Build a record from JSON, checking field names and types; errors name the field."""
    if not isinstance(data, dict):
        raise _fail(where, f"expected an object, got {type(data).__name__}")
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(map(str, set(data) - set(known)))
    if unknown:
        raise _fail(where, f"unknown field(s) {unknown}; known fields: {sorted(known)}")
    missing = sorted(
        n for n, f in known.items() if n not in data and f.default is MISSING and f.default_factory is MISSING
    )
    if missing:
        raise _fail(where, f"missing field(s) {missing}")
    kwargs: dict[str, Any] = {}
    for name, value in data.items():
        if cls is Weights and name in _NESTED:
            kwargs[name] = build(_NESTED[name], value, f"{where}.{name}")
        elif cls is Weights and name == "reported":
            if not isinstance(value, list):
                raise _fail(f"{where}.{name}", "expected a list")
            kwargs[name] = tuple(build(ReportedAccuracy, v, f"{where}.{name}[{i}]") for i, v in enumerate(value))
        else:
            kwargs[name] = _typed(value, known[name].type, f"{where}.{name}")
    return cls(**kwargs)


def _hex(value: str, lengths: tuple[int, ...]) -> bool:
    return _HEX.fullmatch(value) is not None and len(value) in lengths


def check_entry(weight: Weights, where: str) -> None:
    """Ranges and relations of one entry (types were checked by :func:`build`)."""

    def bad(field_name: str, message: str) -> ManifestError:
        return ManifestError(f"{where} ({weight.name!r}).{field_name}: {message}")

    if not weight.arch or "." in weight.arch or not weight.tag:  # registered? checked where the roads meet (factory)
        raise bad("arch", f"{weight.arch!r} / tag {weight.tag!r}: an arch name without '.' and a non-empty tag")
    if weight.name != f"{weight.arch}.{weight.tag}":
        raise bad("name", f"must be arch.tag = {weight.arch + '.' + weight.tag!r}")
    if not 0 <= weight.num_classes <= MAX_CLASSES:
        raise bad("num_classes", f"{weight.num_classes!r} must be an int in [0, {MAX_CLASSES}] (0: no classifier)")
    if weight.storage not in ("hub", "bundled"):
        raise bad("storage", f"{weight.storage!r} must be 'hub' or 'bundled'")
    _check_preprocessing(weight.preprocessing, bad)
    _check_hashes_and_places(weight, bad)
    for i, r in enumerate(weight.reported):
        if not (0 <= r.top1 <= 100 and 0 <= r.top5 <= 100 and 0 < r.img_size <= MAX_SIDE and 0 < r.crop_pct <= 1):
            raise bad(f"reported[{i}]", "top-1/top-5 in [0, 100], img_size in [1, 8192], crop_pct in (0, 1]")
    if weight.synthetic and weight.reported:
        raise bad("reported", "a synthetic weight (random numbers) has no reported accuracy")


def _check_preprocessing(pre: Preprocessing, bad: Any) -> None:
    c, h, w = pre.input_size
    if not (0 < c <= MAX_CHANNELS and 0 < h <= MAX_SIDE and 0 < w <= MAX_SIDE):
        raise bad("preprocessing.input_size", f"{pre.input_size!r} must be [channels <= 64, height, width <= 8192]")
    if pre.test_input_size is not None and not all(0 < v <= MAX_SIDE for v in pre.test_input_size):
        raise bad("preprocessing.test_input_size", f"{pre.test_input_size!r} out of range")
    if len(pre.mean) != c or len(pre.std) != c:
        raise bad("preprocessing.mean/std", f"need one value per channel ({c})")
    if not all(s > 0 for s in pre.std) or not all(abs(m) <= 1e4 for m in pre.mean):
        raise bad("preprocessing.mean/std", "std must be > 0 and mean within [-1e4, 1e4]")
    if pre.interpolation not in ("bilinear", "bicubic", "nearest"):
        raise bad("preprocessing.interpolation", f"{pre.interpolation!r} is not bilinear, bicubic or nearest")
    if pre.crop_mode not in ("center", "squash"):
        raise bad("preprocessing.crop_mode", f"{pre.crop_mode!r} is not 'center' or 'squash'")
    if not 0 < pre.crop_pct <= 1:
        raise bad("preprocessing.crop_pct", f"{pre.crop_pct!r} must be in (0, 1]")
    if pre.test_crop_pct is not None and not 0 < pre.test_crop_pct <= 1:
        raise bad("preprocessing.test_crop_pct", f"{pre.test_crop_pct!r} must be in (0, 1]")
    if pre.channel_order not in ("RGB", "BGR") or not 0 < pre.scale <= 255:
        raise bad("preprocessing.channel_order/scale", "channel_order 'RGB' or 'BGR', scale in (0, 255]")


def _check_hashes_and_places(weight: Weights, bad: Any) -> None:
    hub, origin = weight.hub, weight.origin
    if hub.sha256 and not _hex(hub.sha256, (64,)):
        raise bad("hub.sha256", "must be 64 hex digits")
    if not 0 <= hub.size <= MAX_FILE_BYTES:
        raise bad("hub.size", f"{hub.size!r} must be in [0, 2**40] bytes")
    for field_name, repo_id in (("hub.repo_id", hub.repo_id), ("origin.hf_hub_id", origin.hf_hub_id)):
        if repo_id:
            try:
                check_repo_id(repo_id)
            except InvalidArgumentError as e:
                raise bad(field_name, str(e)) from None
    if hub.filename and ("/" in hub.filename or "\\" in hub.filename or hub.filename.startswith(".")):
        raise bad("hub.filename", f"{hub.filename!r} must be a plain file name")
    if origin.url_hash_prefix and not _hex(origin.url_hash_prefix, tuple(range(6, 65))):
        raise bad("origin.url_hash_prefix", "must be 6 to 64 hex digits")
    if origin.url_md5 and not _hex(origin.url_md5, (32,)):
        raise bad("origin.url_md5", "must be 32 hex digits")
    if origin.url and not origin.url.startswith(("https://", "http://")):
        raise bad("origin.url", f"{_short(origin.url)} must be an http(s) URL")
    if weight.bundled_sha256 and not _hex(weight.bundled_sha256, (64,)):
        raise bad("bundled_sha256", "must be 64 hex digits")
    if weight.bundled_file and (weight.bundled_file.startswith("/") or ".." in weight.bundled_file.split("/")):
        raise bad("bundled_file", f"{weight.bundled_file!r} must be a path inside the package")
    if weight.storage == "bundled" and not (weight.bundled_file and weight.bundled_sha256):
        raise bad("bundled_file", "a bundled weight needs bundled_file and its 64-hex bundled_sha256")


def parse_manifest(data: Any, origin: str = "manifest") -> dict[str, "Weights"]:
    if not isinstance(data, dict) or not isinstance(data.get("weights"), list):
        raise ManifestError(f"{origin}: expected an object with a 'weights' list")
    version = data.get("schema_version")
    if type(version) is not int or version not in (1, SCHEMA_VERSION):
        raise ManifestError(f"{origin}: schema_version {_short(version)}, expected {SCHEMA_VERSION} (or 1)")
    weights: dict[str, Weights] = {}
    for i, entry in enumerate(data["weights"]):
        if version == 1 and isinstance(entry, dict) and "source" in entry:
            entry = {("storage" if k == "source" else k): v for k, v in entry.items()}
        label = entry.get("name", f"#{i}") if isinstance(entry, dict) else f"#{i}"
        where = f"{origin}: weights[{i}]"
        weight = build(Weights, entry, f"{where} ({_short(label)})")
        check_entry(weight, where)
        if weight.name in weights:
            raise ManifestError(f"{where}: duplicate entry {weight.name!r}")
        weights[weight.name] = weight
    check_defaults(weights, origin)
    return weights


def check_defaults(weights: dict[str, Weights], origin: str) -> None:
    defaults: dict[str, list[str]] = {}
    for weight in weights.values():
        if weight.default:
            defaults.setdefault(weight.arch, []).append(weight.name)
    doubled = {a: n for a, n in defaults.items() if len(n) > 1}
    if doubled:
        raise ManifestError(f"{origin}: more than one default weight for {doubled}")
