"""Fetch, cache, verify and publish weight files.

Three kinds of place hold weights:
- a Hugging Face Hub (huggingface.co, or any HF-compatible mirror through ``HF_ENDPOINT``),
  reached through huggingface_hub and its cache, honouring ``HF_HOME``, ``HF_HUB_OFFLINE``, ``HF_TOKEN``;
- a **local hub directory**: HF-layout git repos (``models/ORG/NAME``, large files as git-LFS
  pointer + object) that ``publish --to`` writes and olah serves as they are; read here directly;
- a legacy URL (a ``.pth`` file), downloaded atomically into resnet_zoo's own cache.

huggingface_hub checks a download's size only; every file with a pinned sha256 is hashed here.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .errors import IntegrityError, InvalidArgumentError, ResNetZooError, WeightsNotAvailableError

logger = logging.getLogger(__name__)

HUB_DIR_ENV = "RESNET_ZOO_HUB_DIR"
DEFAULT_ORG = "resnet-zoo"
LFS_POINTER = "version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\nsize {size}\n"
LFS_SUFFIXES = (".safetensors", ".pth", ".bin", ".h5", ".onnx")


def sha256_file(path: str | os.PathLike[str]) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            digest.update(chunk)
    return digest.hexdigest()


def resnet_zoo_cache_dir() -> Path:
    """resnet_zoo's own cache (URL downloads, verification records), beside huggingface_hub's."""
    from huggingface_hub import constants

    return Path(constants.HF_HOME) / "resnet_zoo"


# -- verification ------------------------------------------------------------------------------

def _record_path(sha256: str) -> Path:
    return resnet_zoo_cache_dir() / "verified" / f"{sha256}.json"


def verify_file(path: Path, expected_sha256: str, tag: str, force: bool = False) -> None:
    """Check ``path`` against its pinned sha256, rehashing only when size or mtime changed since
    the last successful check (or always with ``force``). A mismatch removes the bad file."""
    stat = path.stat()
    record = _record_path(expected_sha256)
    fingerprint = {"path": str(path.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    if not force:
        try:
            if json.loads(record.read_text()) == fingerprint:
                return
        except (OSError, ValueError):
            pass
    actual = sha256_file(path)
    if actual != expected_sha256:
        quarantine(path)
        raise IntegrityError(
            f"{tag}: {path} has sha256 {actual}, but the manifest pins {expected_sha256}; the file was "
            f"removed so that the next load fetches it again (resnet-zoo download {tag})")
    record.parent.mkdir(parents=True, exist_ok=True)
    tmp = record.with_name(f".{record.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(fingerprint))
    os.replace(tmp, record)


def quarantine(path: Path) -> None:
    """Move a bad file (and the cache symlink pointing at it) out of every loader's way."""
    target = path.resolve()
    bad_dir = resnet_zoo_cache_dir() / "quarantine"
    bad_dir.mkdir(parents=True, exist_ok=True)
    try:
        shutil.move(str(target), bad_dir / f"{target.name}.{os.getpid()}.bad")
    except OSError:
        target.unlink(missing_ok=True)
    if path.is_symlink():
        path.unlink(missing_ok=True)


# -- the Hugging Face Hub (or a mirror behind HF_ENDPOINT) ---------------------------------------

def hf_download(repo_id: str, filename: str, revision: str | None, tag: str) -> Path | None:
    """A file from the Hub through huggingface_hub's cache; None when it is not to be had there
    (missing repo or file, no network, or offline and not cached)."""
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import (EntryNotFoundError, HfHubHTTPError, LocalEntryNotFoundError,
                                        OfflineModeIsEnabled, RepositoryNotFoundError)

    unavailable = (EntryNotFoundError, RepositoryNotFoundError, LocalEntryNotFoundError, OfflineModeIsEnabled,
                   HfHubHTTPError, OSError, *_http_client_errors())
    try:
        return Path(hf_hub_download(repo_id, filename, revision=revision or None))
    except unavailable as e:  # missing repo/file/revision, a mirror's 4xx/5xx, a lost connection
        logger.info("%s: %s/%s is not available from the Hub: %s: %s", tag, repo_id, filename,
                    type(e).__name__, e)
        return None


def _http_client_errors() -> tuple[type[BaseException], ...]:
    """Base errors of whichever HTTP client this huggingface_hub release uses (httpx2, httpx or
    requests); a reset or refused connection surfaces as one of these, not as an HfHubHTTPError."""
    names = (("httpx2", "HTTPError"), ("httpx", "HTTPError"), ("requests", "RequestException"))
    return tuple(getattr(sys.modules[m], attr) for m, attr in names if m in sys.modules)


def hub_cache_dir() -> str:
    from huggingface_hub import constants

    return str(constants.HF_HUB_CACHE)


def is_offline() -> bool:
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE)


# -- legacy URLs ------------------------------------------------------------------------------

def url_download(url: str, tag: str, hash_prefix: str = "") -> Path | None:
    """Download ``url`` once into resnet_zoo's cache (atomically); check the file name's hash prefix."""
    dest = resnet_zoo_cache_dir() / "urls" / Path(url.split("?")[0]).name
    if not dest.exists():
        if is_offline():
            return None
        import requests

        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out, requests.get(url, stream=True, timeout=30) as response:
                response.raise_for_status()
                for chunk in response.iter_content(1 << 20):
                    out.write(chunk)
            if hash_prefix and not sha256_file(tmp_name).startswith(hash_prefix):
                raise IntegrityError(f"{tag}: {url} does not match the sha256 prefix {hash_prefix} in its name")
            os.replace(tmp_name, dest)
        except requests.RequestException as e:
            logger.info("%s: %s could not be fetched: %s", tag, url, e)
            return None
        finally:
            if os.path.exists(tmp_name):
                os.unlink(tmp_name)
    elif hash_prefix and not sha256_file(dest).startswith(hash_prefix):
        quarantine(dest)
        raise IntegrityError(f"{tag}: cached {dest} does not match the sha256 prefix {hash_prefix}; removed it")
    return dest


# -- the local hub directory --------------------------------------------------------------------

def _git(repo: Path, *args: str, input: bytes | None = None) -> str:
    try:
        done = subprocess.run(["git", "-C", str(repo), *args], input=input, capture_output=True, check=True)
    except FileNotFoundError:
        raise ResNetZooError("a local hub directory is a set of git repos, and git is not installed; "
                             "install git, or serve the directory with olah and set HF_ENDPOINT") from None
    except subprocess.CalledProcessError as e:
        raise ResNetZooError(f"git {' '.join(args)} failed in {repo}: {e.stderr.decode().strip()}") from None
    return done.stdout.decode()


@dataclass(frozen=True)
class PublishedFile:
    repo_id: str
    filename: str
    revision: str
    sha256: str
    size: int


def check_repo_id(repo_id: str) -> tuple[str, str]:
    org, _, name = repo_id.partition("/")
    if not org or not name or "/" in name or ".." in repo_id:
        raise InvalidArgumentError(f"repo id {repo_id!r} is invalid; use ORG/NAME, e.g. resnet-zoo/resnet50.a1_in1k")
    return org, name


class LocalHub:
    """HF-layout git repos under ``root/models/ORG/NAME``; large files stored as git-LFS objects."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def repo_dir(self, repo_id: str) -> Path:
        org, name = check_repo_id(repo_id)
        return self.root / "models" / org / name

    def publish(self, folder: Path, repo_id: str, message: str) -> str:
        """Commit every file of ``folder`` into the repo (creating it); return the commit id."""
        repo = self.repo_dir(repo_id)
        if not (repo / ".git").exists():
            repo.mkdir(parents=True, exist_ok=True)
            _git(repo, "init", "-q", "-b", "main")
            (repo / ".gitattributes").write_text(
                "".join(f"*{s} filter=lfs diff=lfs merge=lfs -text\n" for s in LFS_SUFFIXES))
        for src in sorted(p for p in folder.iterdir() if p.is_file()):
            dest = repo / src.name
            if src.suffix in LFS_SUFFIXES:
                oid, size = sha256_file(src), src.stat().st_size
                obj = repo / ".git" / "lfs" / "objects" / oid[:2] / oid[2:4] / oid
                if not obj.exists():
                    obj.parent.mkdir(parents=True, exist_ok=True)
                    tmp = obj.with_name(f".{oid}.{os.getpid()}.tmp")
                    shutil.copyfile(src, tmp)
                    os.replace(tmp, obj)
                dest.write_text(LFS_POINTER.format(oid=oid, size=size))
            else:
                shutil.copyfile(src, dest)
        _git(repo, "add", "-A")
        status = _git(repo, "status", "--porcelain")
        if status.strip():
            _git(repo, "-c", "user.name=resnet-zoo", "-c", "user.email=resnet-zoo@localhost",
                 "commit", "-q", "-m", message)
        return _git(repo, "rev-parse", "HEAD").strip()

    def lfs_object(self, repo_id: str, oid: str) -> Path:
        return self.repo_dir(repo_id) / ".git" / "lfs" / "objects" / oid[:2] / oid[2:4] / oid

    def resolve(self, repo_id: str, filename: str, revision: str = "main", sha256: str = "") -> Path | None:
        """The on-disk file for ``filename`` at ``revision``: the LFS object itself, no copy.

        With the pinned ``sha256`` known, the object is found by its content address (an LFS oid
        is the file's sha256) without asking git; the caller's hash check still applies."""
        if sha256:
            obj = self.lfs_object(repo_id, sha256)
            if obj.exists():
                return obj
        repo = self.repo_dir(repo_id)
        if not (repo / ".git").exists():
            return None
        try:
            blob = _git(repo, "show", f"{revision or 'main'}:{filename}")
        except ResNetZooError:
            return None
        if blob.startswith("version https://git-lfs"):
            obj = self.lfs_object(repo_id, blob.split("oid sha256:")[1].split()[0])
            return obj if obj.exists() else None
        # small non-LFS file: materialise it in the cache, keyed by content
        digest = hashlib.sha256(blob.encode()).hexdigest()
        out = resnet_zoo_cache_dir() / "local-hub-files" / digest / filename
        if not out.exists():
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(blob)
        return out


def hub_dir_from_env(hub_dir: str | os.PathLike[str] | None) -> Path | None:
    value = hub_dir if hub_dir is not None else os.environ.get(HUB_DIR_ENV)
    if not value:
        return None
    path = Path(value)
    if not path.is_dir():
        raise WeightsNotAvailableError(
            f"local hub directory {str(path)!r} does not exist; create it with "
            f"'resnet-zoo build-hub --to {path}' or unset {HUB_DIR_ENV}")
    return path


def publish_to_hf(folder: Path, repo_id: str, message: str, token: str | None = None) -> str:
    """Upload ``folder`` to the Hugging Face Hub; return the commit id. Needs a token."""
    from huggingface_hub import HfApi, get_token

    token = token or get_token()
    if not token:
        raise ResNetZooError(
            "publishing to the Hugging Face Hub needs a token: run 'hf auth login' (or set HF_TOKEN); "
            "nothing was uploaded. To publish into a local hub directory instead, use --to PATH")
    api = HfApi(token=token)
    check_repo_id(repo_id)
    api.create_repo(repo_id, repo_type="model", exist_ok=True)
    info = api.upload_folder(repo_id=repo_id, folder_path=str(folder), commit_message=message, repo_type="model")
    return getattr(info, "oid", None) or str(info).rsplit("/", 1)[-1]
