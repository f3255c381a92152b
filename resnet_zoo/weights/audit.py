"""``resnet-zoo verify-cache``: rehash every file that a manifest entry pins, wherever it is kept."""

import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import IntegrityError
from .cache import quarantine, sha256_file, verify_file
from .download import url_cache_path
from .fetch import bundled_path, local_manifest
from .localhub import LocalHub, hub_dir_from_env
from .manifest import Weights, load_manifest


@dataclass(frozen=True)
class CacheCheck:
    name: str
    path: Path
    ok: bool
    detail: str


def verify_cache(hub_dir: str | os.PathLike[str] | None = None) -> list[CacheCheck]:
    """Rehash every cached or bundled file that a manifest entry pins; bad files are quarantined."""
    from huggingface_hub import try_to_load_from_cache

    local = hub_dir_from_env(hub_dir)
    checks: list[CacheCheck] = []

    def check(weight: Weights, path: Path | None, sha256: str) -> None:
        if path is None or not path.exists():
            return
        try:
            verify_file(path, sha256, weight.name, force=True)
            checks.append(CacheCheck(weight.name, path, True, "sha256 ok"))
        except IntegrityError as e:
            checks.append(CacheCheck(weight.name, path, False, str(e)))

    for weight in load_manifest(local_manifest(local)).values():
        if weight.storage == "bundled":
            check(weight, bundled_path(weight), weight.bundled_sha256)
        location = weight.hub
        if location.published:
            cached = try_to_load_from_cache(location.repo_id, location.filename, revision=location.revision)
            check(weight, Path(cached) if isinstance(cached, str) else None, location.sha256)
            if local is not None:
                check(
                    weight,
                    LocalHub(local).resolve(
                        location.repo_id, location.filename, location.revision, sha256=location.sha256
                    ),
                    location.sha256,
                )
        if weight.origin.url and weight.origin.url_hash_prefix:
            cached_url = url_cache_path(weight.origin.url)
            if cached_url.exists():
                ok = sha256_file(cached_url).startswith(weight.origin.url_hash_prefix)
                if not ok:
                    quarantine(cached_url)
                checks.append(
                    CacheCheck(
                        weight.name,
                        cached_url,
                        ok,
                        "hash prefix ok" if ok else f"does not match {weight.origin.url_hash_prefix}; quarantined",
                    )
                )
    return checks
