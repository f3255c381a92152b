"""Where a weight would load from right now, without loading it: the ``weights`` table's column.

The answer walks :func:`~resnet_zoo.weights.fetch.fetch_weights`' source order, looking only at
what is on this machine: ``bundled`` (inside the package), ``local hub`` (a hub directory holds
it), ``cached`` (huggingface_hub's or resnet_zoo's cache has the file), else ``needs network``.
"""

from pathlib import Path

from .download import url_cache_path
from .localhub import LocalHub
from .manifest import Weights

LOAD_SOURCES = ("bundled", "local hub", "cached", "needs network")


def _hf_cached(repo_id: str, filename: str, revision: str | None) -> bool:
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(repo_id, filename, revision=revision or None)
    return isinstance(found, str)


def load_source(weight: Weights, hub_dir: Path | None) -> str:
    """One of ``LOAD_SOURCES``: the first source that would give ``weight`` with no download."""
    if weight.storage == "bundled":
        return "bundled"
    location, origin = weight.hub, weight.origin
    local = LocalHub(hub_dir) if hub_dir is not None and location.published else None
    if local and local.resolve(location.repo_id, location.filename, location.revision, location.sha256):
        return "local hub"
    if location.published and _hf_cached(location.repo_id, location.filename, location.revision):
        return "cached"
    if origin.hf_hub_id and _hf_cached(origin.hf_hub_id, origin.hf_hub_filename or "model.safetensors", None):
        return "cached"
    if origin.url and url_cache_path(origin.url).is_file():
        return "cached"
    return "needs network"
