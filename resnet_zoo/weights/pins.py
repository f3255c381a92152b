"""Pins on first use: the full sha256 (and the Hub revision) of an origin file that the manifest
does not pin, recorded in resnet_zoo's cache the first time it downloads and passes its checks.
Later loads verify against it; a changed file is an ``IntegrityError`` until the user accepts the
change with ``resnet-zoo verify-cache --accept TAG``."""

import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from .cache import resnet_zoo_cache_dir


@dataclass(frozen=True)
class PinKey:
    key: str  # "hub--ORG--NAME--FILE" or "url--<sha256 of the URL>"
    source: str  # what it pins, for messages: "timm/resnet50.a1_in1k/model.safetensors" or the URL


def hub_pin_key(repo_id: str, filename: str) -> PinKey:
    return PinKey(f"hub--{repo_id.replace('/', '--')}--{filename.replace('/', '--')}", f"{repo_id}/{filename}")


def url_key(url: str) -> str:
    """The cache key of a URL: the whole URL, hashed (two URLs with one file name never share a file)."""
    return hashlib.sha256(url.encode()).hexdigest()[:32]


def url_pin_key(url: str) -> PinKey:
    return PinKey(f"url--{url_key(url)}", url)


def pin_path(key: PinKey) -> Path:
    return resnet_zoo_cache_dir() / "pins" / f"{key.key}.json"


def read_pin(key: PinKey) -> dict[str, str] | None:
    try:
        data = json.loads(pin_path(key).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("sha256"), str) else None


def write_pin(key: PinKey, sha256: str, revision: str, tag: str) -> None:
    path = pin_path(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {"sha256": sha256.lower(), "revision": revision, "source": key.source, "tag": tag, "time": time.time()}
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{time.monotonic_ns()}.tmp")
    tmp.write_text(json.dumps(record, indent=1))
    os.replace(tmp, path)


def drop_pin(key: PinKey) -> bool:
    try:
        pin_path(key).unlink()
    except FileNotFoundError:
        return False
    return True


def accept_hint(tag: str) -> str:
    return (
        f"If the origin changed the file on purpose, accept the new bytes with 'resnet-zoo verify-cache --accept {tag}'"
    )
