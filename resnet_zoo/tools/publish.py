"""publish: a converted folder to the Hugging Face Hub or a local hub directory, pinned in a manifest."""

import difflib
import fnmatch
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import huggingface_hub
from filelock import FileLock, Timeout
from safetensors import SafetensorError, safe_open

from ..errors import ResNetZooError, UnknownModelError
from ..version import __version__
from ..weights.cache import sha256_file
from ..weights.localhub import LocalHub
from ..weights.manifest import (
    SCHEMA_VERSION,
    HubLocation,
    Weights,
    load_manifest,
    parse_manifest,
    read_manifest_file,
    write_manifest,
)
from ..weights.repoid import check_repo_id
from .convert import WEIGHTS_FILE, default_repo_id


def _spec_of_folder(folder: Path) -> Weights:
    record = folder / "resnet_zoo_weight.json"
    if not record.exists():
        raise ResNetZooError(f"{folder} is not a folder written by 'resnet-zoo convert' (no {record.name})")
    data = json.loads(record.read_text())
    return next(
        iter(parse_manifest({"schema_version": SCHEMA_VERSION, "weights": [data]}, origin=str(record)).values())
    )


LOCK_NAME = ".resnet-zoo-publish.lock"
LOCK_TIMEOUT_S = 600.0  # a publisher waits this long for another one into the same hub directory


def publish(
    folder: str | Path,
    repo_id: str | None = None,
    to: str | Path | None = None,
    manifest_path: str | Path | None = None,
    token: str | None = None,
    allow_synthetic: bool = False,
) -> Weights:
    """Publish a converted folder to the Hub (``repo_id``) or a local hub directory (``to``), then
    record the commit, sha256 and size in the manifest (``to/weights_manifest.json`` for a local
    hub, the repository's ``weights_manifest.json`` for the Hub unless ``manifest_path`` says).

    Into a local hub, the whole publish (commit and manifest record) holds a lock on the directory,
    so concurrent publishers lose no entry and same-repo publishes become separate commits. A
    synthetic weight is never uploaded to the Hub unless ``allow_synthetic``."""
    folder = Path(folder)
    spec = _spec_of_folder(folder)
    repo_id = repo_id or default_repo_id(spec.name)
    check_repo_id(repo_id)
    weights = folder / WEIGHTS_FILE
    synthetic = spec.synthetic or file_is_synthetic(weights)
    if to is None and synthetic and not allow_synthetic:
        raise ResNetZooError(
            f"{spec.name}: {folder} holds SYNTHETIC weights (seeded random numbers, 'convert --source synthetic'); "
            "they are not uploaded to the Hugging Face Hub by accident: convert with --source origin, or pass "
            "--allow-synthetic (allow_synthetic=True) if a stand-in is really what you mean to publish. "
            "Nothing was uploaded"
        )
    spec = replace(spec, synthetic=synthetic, reported=() if synthetic else spec.reported)
    sha256, size = sha256_file(weights), weights.stat().st_size
    message = f"{spec.name}: resnet_zoo {__version__} conversion (sha256 {sha256[:12]})"
    if to is not None:
        Path(to).mkdir(parents=True, exist_ok=True)
        with hub_lock(Path(to)):
            revision = LocalHub(to).publish(folder, repo_id, message)
            return _record(
                spec, repo_id, revision, sha256, size, Path(manifest_path or Path(to) / "weights_manifest.json")
            )
    revision = publish_to_hf(folder, repo_id, message, token=token)
    # never the installed package's file: the maintainer's checkout (the working directory) or --manifest
    manifest_path = Path(manifest_path or Path.cwd() / "weights_manifest.json")
    with hub_lock(manifest_path.parent):
        return _record(spec, repo_id, revision, sha256, size, manifest_path)


def _record(spec: Weights, repo_id: str, revision: str, sha256: str, size: int, manifest_path: Path) -> Weights:
    location = HubLocation(repo_id=repo_id, filename=WEIGHTS_FILE, revision=revision, sha256=sha256, size=size)
    published = replace(spec, hub=location)
    record_in_manifest(manifest_path, published)
    return published


@contextmanager
def hub_lock(directory: Path) -> Iterator[None]:
    """The lock every publisher into ``directory`` holds (``publish --to``, ``build-hub``)."""
    directory.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(directory / LOCK_NAME))
    try:
        lock.acquire(timeout=LOCK_TIMEOUT_S)
    except Timeout:
        raise ResNetZooError(
            f"another publisher has held {lock.lock_file} for over {LOCK_TIMEOUT_S:.0f} s; wait for it to "
            "finish, or remove the lock file if no publisher is running"
        ) from None
    try:
        yield
    finally:
        lock.release()


def file_is_synthetic(path: Path) -> bool:
    """Does a converted file's safetensors metadata say it holds random numbers?"""
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
    except (SafetensorError, OSError):
        return False
    return meta.get("synthetic") == "true" or meta.get("source", "").startswith("synthetic")


def record_in_manifest(manifest_path: Path, spec: Weights) -> None:
    """Insert or replace ``spec`` in the manifest file (creating it). Callers hold :func:`hub_lock`."""
    entries = dict(read_manifest_file(manifest_path)) if manifest_path.exists() else {}
    entries[spec.name] = spec
    manifest_path.parent.mkdir(parents=True, exist_ok=True)
    write_manifest(manifest_path, list(entries.values()))


def select_tags(patterns: list[str] | None) -> list[str]:
    """Weight names for CLI patterns: an arch name means its default weight, else shell wildcards."""
    names = list(load_manifest())
    if not patterns:
        return names
    chosen: list[str] = []
    for pattern in patterns:
        arch_default = [n for n in names if n.split(".")[0] == pattern and load_manifest()[n].default]
        matches = arch_default or [n for n in names if fnmatch.fnmatchcase(n, pattern)]
        if not matches:
            stem = pattern.strip("*?[]")
            archs = sorted({n.split(".")[0] for n in names})
            close = difflib.get_close_matches(stem, archs + names, n=5, cutoff=0.5)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise UnknownModelError(f"no weight matches {pattern!r}{hint} ('resnet-zoo weights' lists them)")
        chosen += [m for m in matches if m not in chosen]
    return chosen


def publish_to_hf(folder: Path, repo_id: str, message: str, token: str | None = None) -> str:
    """Upload ``folder`` to the Hugging Face Hub; return the commit id. Needs a token."""
    token = token or huggingface_hub.get_token()
    if not token:
        raise ResNetZooError(
            "publishing to the Hugging Face Hub needs a token: run 'hf auth login' (or set HF_TOKEN); "
            "nothing was uploaded. To publish into a local hub directory instead, use --to PATH"
        )
    api = huggingface_hub.HfApi(token=token)
    api.create_repo(repo_id, repo_type="model", exist_ok=True)
    info = api.upload_folder(repo_id=repo_id, folder_path=str(folder), commit_message=message, repo_type="model")
    return getattr(info, "oid", None) or str(info).rsplit("/", 1)[-1]
