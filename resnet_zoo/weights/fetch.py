"""The source order, written once: where the bytes of a manifest weight come from.

  1. the package itself (a **bundled** weight);
  2. a **local hub** directory (``hub_dir=`` or ``$RESNET_ZOO_HUB_DIR``), read directly;
  3. **our Hub** repo at its pinned revision, sha256 checked;
  4. the **origin's Hub** repo (``timm/arch.tag``, ``model.safetensors``), converted on the fly;
  5. the **origin URL** (a ``.pth`` read with ``torch.load(weights_only=True)``, or an ``.h5``);
  6. otherwise a clear error naming the tag, the cache and the command that pre-fetches it.

``tools`` (convert/publish) walks the same function restricted to the origin sources.
"""

import logging
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ..errors import WeightsNotAvailableError
from .cache import hub_cache_dir, is_offline, verify_file
from .download import hf_download, url_download
from .localhub import HUB_DIR_ENV, LocalHub
from .manifest import Weights, get_weights

logger = logging.getLogger(__name__)

SOURCES = ("bundled", "local hub", "hub", "origin hub", "origin url")
ORIGIN_SOURCES = ("bundled", "origin hub", "origin url")  # what a conversion starts from


@dataclass(frozen=True)
class WeightFile:
    path: Path
    format: str  # checkpoint key format: "resnet_zoo" (converted) or the origin's ("timm", "keras", ...)
    source: str  # which of SOURCES it came from, with the place (for logs and errors)
    fresh: bool = True  # not yet known good: hashed just now, or with no pinned hash at all


def local_manifest(hub_dir: Path | None) -> str | None:
    """A local hub directory's own ``weights_manifest.json``, which pins what the directory holds."""
    if hub_dir is None:
        return None
    candidate = hub_dir / "weights_manifest.json"
    return str(candidate) if candidate.exists() else None


def weight_entry(name: str, hub_dir: Path | None) -> Weights:
    """The manifest entry of ``name``, with a local hub directory's own manifest overlaid."""
    return get_weights(name, manifest=local_manifest(hub_dir))


def bundled_path(weight: Weights) -> Path:
    return Path(str(resources.files("resnet_zoo") / weight.bundled_file))


def fetch_weights(
    weight: Weights, hub_dir: Path | None = None, verify: bool = False, sources: tuple[str, ...] = SOURCES
) -> WeightFile:
    """Find the bytes of ``weight`` along ``sources`` (in the order of ``SOURCES``), verifying every
    file that has a pinned hash (``verify=True``: rehash even when the record says it is good)."""
    tried: list[str] = []
    path: Path | None
    if weight.storage == "bundled" and "bundled" in sources:
        bundled = bundled_path(weight)
        return WeightFile(
            bundled, "resnet_zoo", "bundled", verify_file(bundled, weight.bundled_sha256, weight.name, force=verify)
        )
    location = weight.hub
    if hub_dir is not None and location.published and "local hub" in sources:
        tried.append(f"local hub {hub_dir}/models/{location.repo_id}@{location.revision[:12]}")
        path = LocalHub(hub_dir).resolve(location.repo_id, location.filename, location.revision, sha256=location.sha256)
        if path is not None:
            fresh = verify_file(path, location.sha256, weight.name, force=verify)
            return WeightFile(path, "resnet_zoo", f"local hub {hub_dir}", fresh)
    if location.published and "hub" in sources:
        tried.append(f"hub {location.repo_id}@{location.revision[:12]}")
        path = hf_download(location.repo_id, location.filename, location.revision, weight.name)
        if path is not None:
            fresh = verify_file(path, location.sha256, weight.name, force=verify)
            return WeightFile(path, "resnet_zoo", f"hub {location.repo_id}", fresh)
    origin = weight.origin
    if origin.hf_hub_id and "origin hub" in sources:
        tried.append(f"origin hub {origin.hf_hub_id}/{origin.hf_hub_filename}")
        path = hf_download(origin.hf_hub_id, origin.hf_hub_filename or "model.safetensors", None, weight.name)
        if path is not None:
            return WeightFile(path, origin.format, f"origin hub {origin.hf_hub_id}", fresh=True)
    if origin.url and "origin url" in sources:
        tried.append(f"origin url {origin.url}")
        path = url_download(origin.url, weight.name, origin.url_hash_prefix, md5=origin.url_md5)
        if path is not None:
            return WeightFile(path, origin.url_format, f"origin url {origin.url}")
    offline = " (offline: HF_HUB_OFFLINE is set)" if is_offline() else ""
    raise WeightsNotAvailableError(
        f"weights {weight.name!r} are not available{offline}; tried: {'; '.join(tried) or 'no source listed'}. "
        f"Hub cache: {hub_cache_dir()}. Pre-fetch them while online with 'resnet-zoo download {weight.name}', "
        f"or point hub_dir= / ${HUB_DIR_ENV} at a local hub directory that has them"
    )
