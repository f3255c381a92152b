"""publish: a converted folder to the Hugging Face Hub or a local hub directory, pinned in a manifest."""

import fnmatch
import json
from dataclasses import replace
from pathlib import Path

import huggingface_hub

from ..errors import ResNetZooError
from ..version import __version__
from ..weights.cache import sha256_file
from ..weights.localhub import LocalHub, check_repo_id
from ..weights.manifest import (
    SCHEMA_VERSION,
    HubLocation,
    Weights,
    load_manifest,
    parse_manifest,
    read_manifest_file,
    write_manifest,
)
from .convert import WEIGHTS_FILE, default_repo_id


def _spec_of_folder(folder: Path) -> Weights:
    record = folder / "resnet_zoo_weight.json"
    if not record.exists():
        raise ResNetZooError(f"{folder} is not a folder written by 'resnet-zoo convert' (no {record.name})")
    data = json.loads(record.read_text())
    return next(
        iter(parse_manifest({"schema_version": SCHEMA_VERSION, "weights": [data]}, origin=str(record)).values())
    )


def publish(
    folder: str | Path,
    repo_id: str | None = None,
    to: str | Path | None = None,
    manifest_path: str | Path | None = None,
    token: str | None = None,
) -> Weights:
    """Publish a converted folder to the Hub (``repo_id``) or a local hub directory (``to``), then
    record the commit, sha256 and size in the manifest (``to/weights_manifest.json`` for a local
    hub, the repository's ``weights_manifest.json`` for the Hub unless ``manifest_path`` says)."""
    folder = Path(folder)
    spec = _spec_of_folder(folder)
    repo_id = repo_id or default_repo_id(spec.name)
    weights = folder / WEIGHTS_FILE
    sha256, size = sha256_file(weights), weights.stat().st_size
    message = f"{spec.name}: resnet_zoo {__version__} conversion (sha256 {sha256[:12]})"
    if to is not None:
        revision = LocalHub(to).publish(folder, repo_id, message)
        manifest_path = Path(manifest_path or Path(to) / "weights_manifest.json")
    else:
        revision = publish_to_hf(folder, repo_id, message, token=token)
        # never the installed package's file: the maintainer's checkout (the working directory) or --manifest
        manifest_path = Path(manifest_path or Path.cwd() / "weights_manifest.json")
    published = replace(
        spec, hub=HubLocation(repo_id=repo_id, filename=WEIGHTS_FILE, revision=revision, sha256=sha256, size=size)
    )
    record_in_manifest(manifest_path, published)
    return published


def record_in_manifest(manifest_path: Path, spec: Weights) -> None:
    """Insert or replace ``spec`` in the manifest file (creating it)."""
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
            raise ResNetZooError(f"no weight matches {pattern!r}; 'resnet-zoo weights' lists them")
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
    check_repo_id(repo_id)
    api.create_repo(repo_id, repo_type="model", exist_ok=True)
    info = api.upload_folder(repo_id=repo_id, folder_path=str(folder), commit_message=message, repo_type="model")
    return getattr(info, "oid", None) or str(info).rsplit("/", 1)[-1]
