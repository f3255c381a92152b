"""The source order, written once: where the bytes of a manifest weight come from.

  1. the package itself (a **bundled** weight);
  2. a **local hub** directory (``hub_dir=`` or ``$RESNET_ZOO_HUB_DIR``), read directly;
  3. **our Hub** repo at its pinned revision, sha256 checked;
  4. the **origin's Hub** repo (``timm/arch.tag``, ``model.safetensors``), converted on the fly;
  5. the **origin URL** (a ``.pth`` read with ``torch.load(weights_only=True)``, or an ``.h5``);
  6. otherwise a clear error naming the tag, the cache and the command that pre-fetches it.

Sources 1-3 are pinned by the package (full sha256). Sources 4-5 are pinned on first use: the
first file that passes its checks has its sha256 recorded in the cache (``pins.py``), and every
later use is verified against it.

``tools`` (convert/publish) walks the same function restricted to the origin sources.
"""

import logging
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ..errors import IntegrityError, NetworkUnreachableError, WeightsNotAvailableError
from .cache import check_regular, file_digest, hub_cache_dir, is_offline, quarantine, sha256_file, stamp, verify_file
from .download import hf_download, offline_advice, url_download
from .localhub import HUB_DIR_ENV, LocalHub
from .manifest import Weights, get_weights
from .pins import PinKey, accept_hint, hub_pin_key, read_pin, url_pin_key, write_pin

logger = logging.getLogger(__name__)

SOURCES = ("bundled", "local hub", "hub", "origin hub", "origin url")
ORIGIN_SOURCES = ("bundled", "origin hub", "origin url")  # what a conversion starts from


@dataclass(frozen=True)
class WeightFile:
    path: Path
    format: str  # checkpoint key format: "resnet_zoo" (converted) or the origin's ("timm", "keras", ...)
    source: str  # which of SOURCES it came from, with the place (for logs and errors)
    fresh: bool = True  # not yet known good: hashed just now, or with no pinned hash at all
    pin: PinKey | None = None  # to record once the content checks pass (pinned on first use)
    revision: str = ""  # the Hub revision it came from (origin hub)
    tag: str = ""
    stamp: tuple[int, ...] = ()  # size, mtime, ctime, inode when verified: the read checks them again


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


def _found(
    path: Path, fmt: str, source: str, fresh: bool, weight: Weights, pin: PinKey | None = None, revision: str = ""
) -> WeightFile:
    here = tuple(stamp(check_regular(path)).values())
    return WeightFile(path, fmt, source, fresh, pin=pin, revision=revision, tag=weight.name, stamp=here)


def fetch_weights(
    weight: Weights, hub_dir: Path | None = None, verify: bool = False, sources: tuple[str, ...] = SOURCES
) -> WeightFile:
    """Find the bytes of ``weight`` along ``sources`` (in the order of ``SOURCES``), verifying every
    file that has a pinned hash (``verify=True``: rehash even when the record says it is good)."""
    tried: list[str] = []
    unreachable = ""
    if weight.storage == "bundled" and "bundled" in sources:
        bundled = bundled_path(weight)
        fresh = verify_file(bundled, weight.bundled_sha256, weight.name, force=verify)
        return _found(bundled, "resnet_zoo", "bundled", fresh, weight)
    location = weight.hub
    if hub_dir is not None and location.published and "local hub" in sources:
        tried.append(f"local hub {hub_dir}/models/{location.repo_id}@{location.revision[:12]}")
        path = LocalHub(hub_dir).resolve(location.repo_id, location.filename, location.revision, sha256=location.sha256)
        if path is not None:
            fresh = verify_file(path, location.sha256, weight.name, force=verify, inside=hub_dir)
            return _found(path, "resnet_zoo", f"local hub {hub_dir}", fresh, weight)
    for kind in ("hub", "origin hub", "origin url"):
        if kind not in sources:
            continue
        try:
            found = _fetch_remote(kind, weight, verify, tried)
        except NetworkUnreachableError as e:
            unreachable = str(e)
            break  # the network is not there: the next remote source would not be either
        if found is not None:
            return found
    offline = " (offline: HF_HUB_OFFLINE is set)" if is_offline() else ""
    network = f" The network cannot be reached ({unreachable.split(': ', 1)[-1].split(';')[0]})." if unreachable else ""
    raise WeightsNotAvailableError(
        f"weights {weight.name!r} are not available{offline}; tried: {'; '.join(tried) or 'no source listed'}. "
        f"Hub cache: {hub_cache_dir()}.{network} To get them: {offline_advice(weight.name)} "
        f"(that is: 'resnet-zoo download {weight.name}' on a machine with network), or point hub_dir= / "
        f"${HUB_DIR_ENV} at a local hub directory that has them"
    )


def _fetch_remote(kind: str, weight: Weights, verify: bool, tried: list[str]) -> WeightFile | None:
    location, origin = weight.hub, weight.origin
    if kind == "hub" and location.published:
        tried.append(f"hub {location.repo_id}@{location.revision[:12]}")
        path = hf_download(location.repo_id, location.filename, location.revision, weight.name)
        if path is not None:
            fresh = verify_file(path, location.sha256, weight.name, force=verify)
            return _found(path, "resnet_zoo", f"hub {location.repo_id}", fresh, weight)
    if kind == "origin hub" and origin.hf_hub_id:
        filename = origin.hf_hub_filename or "model.safetensors"
        tried.append(f"origin hub {origin.hf_hub_id}/{filename}")
        path = hf_download(origin.hf_hub_id, filename, None, weight.name)
        if path is not None:
            revision = path.parent.name if path.parent.parent.name == "snapshots" else ""
            key = hub_pin_key(origin.hf_hub_id, filename)
            fresh = _verify_pinned(path, key, weight, verify, url=False)
            return _found(
                path, origin.format, f"origin hub {origin.hf_hub_id}", fresh, weight, pin=key, revision=revision
            )
    if kind == "origin url" and origin.url:
        tried.append(f"origin url {origin.url}")
        path = url_download(origin.url, weight.name, origin.url_hash_prefix, md5=origin.url_md5)
        if path is not None:
            key = url_pin_key(origin.url)
            fresh = _verify_pinned(path, key, weight, verify, url=True)
            return _found(path, origin.url_format, f"origin url {origin.url}", fresh, weight, pin=key)
    return None


def _verify_pinned(path: Path, key: PinKey, weight: Weights, verify: bool, url: bool) -> bool:
    """An origin file against its pin of first use; with none yet, against the strongest hash the
    origin publishes (md5 > sha256 prefix). True when the bytes were checked now (first use)."""
    pin = read_pin(key)
    if pin is not None:
        return verify_file(path, pin["sha256"], weight.name, force=verify, hint=accept_hint(weight.name))
    if url:
        check_url_hashes(path, weight)
    return True


def check_url_hashes(path: Path, weight: Weights) -> None:
    """A URL file against the strongest hash its origin publishes: md5 (Keras) > sha256 prefix."""
    origin = weight.origin
    if origin.url_md5:
        actual = file_digest(path, "md5")
        if actual != origin.url_md5.lower():
            raise _refused(path, weight, f"md5 {actual} is not the published {origin.url_md5}")
    elif origin.url_hash_prefix and not sha256_file(path).startswith(origin.url_hash_prefix.lower()):
        raise _refused(path, weight, f"sha256 does not start with {origin.url_hash_prefix}, its URL's prefix")


def _refused(path: Path, weight: Weights, why: str) -> IntegrityError:
    moved = quarantine(path)
    return IntegrityError(
        f"{weight.name}: {path}: {why}; "
        + (f"moved to {moved}, the next load downloads it again" if moved else "left where it is (not our cache)")
    )


def record_pin(found: WeightFile) -> None:
    """Pin an origin file on first use, once its content checks passed."""
    if found.pin is not None and read_pin(found.pin) is None:
        write_pin(found.pin, sha256_file(found.path), found.revision, found.tag)
        logger.info("%s: pinned %s on first use", found.tag, found.pin.source)
