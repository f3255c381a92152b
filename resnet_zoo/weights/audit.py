"""``resnet-zoo verify-cache``: rehash every file that a manifest entry pins, wherever it is kept,
and every origin file pinned on first use; ``--accept TAG`` forgets a tag's pins of first use."""

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import IntegrityError
from .cache import verify_file
from .download import url_cache_path
from .fetch import bundled_path, check_url_hashes, local_manifest
from .localhub import LocalHub, hub_dir_from_env
from .manifest import Weights, get_weights, load_manifest
from .pins import accept_hint, drop_pin, hub_pin_key, read_pin, url_pin_key


@dataclass(frozen=True)
class CacheCheck:
    name: str
    path: Path
    ok: bool
    detail: str
    synthetic: bool = False


def accept(tag: str, hub_dir: str | os.PathLike[str] | None = None) -> list[str]:
    """Forget the pins of first use of ``tag``'s origin files (after the origin changed them on
    purpose); the next load pins what it then downloads. Returns what was forgotten."""
    weight = get_weights(tag, manifest=local_manifest(hub_dir_from_env(hub_dir)))
    keys = []
    if weight.origin.hf_hub_id:
        keys.append(hub_pin_key(weight.origin.hf_hub_id, weight.origin.hf_hub_filename or "model.safetensors"))
    if weight.origin.url:
        keys.append(url_pin_key(weight.origin.url))
    return [key.source for key in keys if drop_pin(key)]


def verify_cache(hub_dir: str | os.PathLike[str] | None = None) -> list[CacheCheck]:
    """Rehash every cached or bundled file that a manifest entry (or a pin of first use) pins; bad
    files in a cache are quarantined, others are reported and left alone."""
    from huggingface_hub import try_to_load_from_cache

    local = hub_dir_from_env(hub_dir)
    checks: list[CacheCheck] = []

    def check(weight: Weights, path: Path | None, sha256: str, hint: str = "", inside: Path | None = None) -> None:
        if path is None or not os.path.lexists(path):
            return
        try:
            verify_file(path, sha256, weight.name, force=True, hint=hint, inside=inside)
            detail = "sha256 ok" + (", SYNTHETIC (random numbers, not trained weights)" if weight.synthetic else "")
            checks.append(CacheCheck(weight.name, path, True, detail, weight.synthetic))
        except IntegrityError as e:
            checks.append(CacheCheck(weight.name, path, False, str(e), weight.synthetic))

    for weight in load_manifest(local_manifest(local)).values():
        if weight.storage == "bundled":
            check(weight, bundled_path(weight), weight.bundled_sha256)
        location = weight.hub
        if location.published:
            cached = try_to_load_from_cache(location.repo_id, location.filename, revision=location.revision)
            check(weight, Path(cached) if isinstance(cached, str) else None, location.sha256)
            if local is not None:
                try:
                    found = LocalHub(local).resolve(
                        location.repo_id, location.filename, location.revision, location.sha256
                    )
                except IntegrityError as e:
                    checks.append(CacheCheck(weight.name, local, False, str(e), weight.synthetic))
                else:
                    check(weight, found, location.sha256, inside=local)
        _check_origin(weight, checks, check, try_to_load_from_cache)
    return checks


def _check_origin(
    weight: Weights, checks: list[CacheCheck], check: Callable[..., None], from_cache: Callable[..., object]
) -> None:
    origin = weight.origin
    if origin.hf_hub_id:
        filename = origin.hf_hub_filename or "model.safetensors"
        pin = read_pin(hub_pin_key(origin.hf_hub_id, filename))
        cached = from_cache(origin.hf_hub_id, filename, revision=(pin or {}).get("revision") or None)
        if pin is not None and isinstance(cached, str):
            check(weight, Path(cached), pin["sha256"], accept_hint(weight.name))
    if origin.url:
        path = url_cache_path(origin.url)
        if not path.exists():
            return
        pin = read_pin(url_pin_key(origin.url))
        if pin is not None:
            check(weight, path, pin["sha256"], accept_hint(weight.name))
            return
        try:
            check_url_hashes(path, weight)
            checks.append(CacheCheck(weight.name, path, True, "published hash ok (not yet pinned)"))
        except IntegrityError as e:
            checks.append(CacheCheck(weight.name, path, False, f"{e}; quarantined"))
