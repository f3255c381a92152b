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
import time
from dataclasses import dataclass
from pathlib import Path

from .errors import IntegrityError, InvalidArgumentError, ResNetZooError, WeightsNotAvailableError

logger = logging.getLogger(__name__)

HUB_DIR_ENV = "RESNET_ZOO_HUB_DIR"
DEFAULT_ORG = "resnet-zoo"
LFS_POINTER = "version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\nsize {size}\n"
LFS_SUFFIXES = (".safetensors", ".pth", ".bin", ".h5", ".onnx")


def file_digest(path: str | os.PathLike[str], algorithm: str = "sha256") -> str:
    """Hex digest of a file, read in 4 MiB chunks (weight files are hundreds of MB)."""
    digest = hashlib.new(algorithm, usedforsecurity=algorithm != "md5")
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_file(path: str | os.PathLike[str]) -> str:
    return file_digest(path, "sha256")


CACHE_ENV = "RESNET_ZOO_CACHE"


def resnet_zoo_cache_dir() -> Path:
    """resnet_zoo's own cache (URL downloads, verification records, quarantine):
    ``$RESNET_ZOO_CACHE``, else ``$HF_HOME/resnet_zoo`` beside huggingface_hub's cache."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    from huggingface_hub import constants

    return Path(constants.HF_HOME) / "resnet_zoo"


# -- verification ------------------------------------------------------------------------------

def _record_path(sha256: str) -> Path:
    return resnet_zoo_cache_dir() / "verified" / f"{sha256}.json"


def verify_file(path: Path, expected_sha256: str, tag: str, force: bool = False) -> bool:
    """Check ``path`` against its pinned sha256, rehashing only when size or mtime changed since
    the last successful check (or always with ``force``). A mismatch removes the bad file.
    Returns True when the bytes were hashed now (first use, changed file, or forced)."""
    stat = path.stat()
    record = _record_path(expected_sha256)
    fingerprint = {"path": str(path.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    if not force:
        try:
            if json.loads(record.read_text()) == fingerprint:
                return False
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
    return True


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

class DownloadError(WeightsNotAvailableError):
    """A download kept failing (server errors, dropped connections, stalls) until the retries ran out."""


@dataclass(frozen=True)
class RetryPolicy:
    """Retries for transient failures: HTTP 429/5xx, reset or dropped connections, short bodies,
    and stalls longer than the read timeout; exponential backoff within a bounded total time."""

    attempts: int = 5
    backoff_s: float = 0.5            # doubled after each failed attempt
    max_backoff_s: float = 8.0
    total_s: float = 120.0            # no new attempt starts after this much time
    timeout_s: tuple[float, float] = (10.0, 30.0)  # (connect, read): a longer stall fails the attempt


TRANSIENT_STATUS = {408, 425, 429, 500, 502, 503, 504}


class _Transient(Exception):
    pass


def url_cache_path(url: str) -> Path:
    """Where ``url``'s file lives in resnet_zoo's cache (named as the URL names it)."""
    return resnet_zoo_cache_dir() / "urls" / Path(url.split("?")[0]).name


def url_download(url: str, tag: str, hash_prefix: str = "", retry: RetryPolicy = RetryPolicy(),
                 md5: str = "") -> Path | None:
    """``url`` in resnet_zoo's cache, downloaded at most once across processes (a file lock), into a
    temporary file that is renamed only once complete and matching the file name's hash prefix.
    None when the server does not have it (4xx) or when offline and not cached."""
    from filelock import FileLock

    dest = url_cache_path(url)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(dest) + ".lock"):
        if dest.exists():
            if hash_prefix and not sha256_file(dest).startswith(hash_prefix):
                quarantine(dest)
                raise IntegrityError(f"{tag}: cached {dest} does not match the sha256 prefix {hash_prefix} "
                                     "in its URL; it was removed, so the next load downloads it again")
            return dest
        if is_offline():
            return None
        return _download(url, dest, tag, hash_prefix, retry, md5)


def _download(url: str, dest: Path, tag: str, hash_prefix: str, retry: RetryPolicy, md5: str = "") -> Path | None:
    import requests

    started = time.monotonic()
    last: Exception | None = None
    attempt = 0
    while attempt < retry.attempts:
        attempt += 1
        fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out, requests.get(url, stream=True, timeout=retry.timeout_s) as response:
                if response.status_code in TRANSIENT_STATUS:
                    raise _Transient(f"HTTP {response.status_code}")
                if 400 <= response.status_code < 500:
                    logger.info("%s: %s answered HTTP %d", tag, url, response.status_code)
                    return None
                response.raise_for_status()
                expected = int(response.headers.get("Content-Length", -1))
                written = 0
                for chunk in response.iter_content(1 << 20):
                    out.write(chunk)
                    written += len(chunk)
                if expected >= 0 and written != expected:
                    raise _Transient(f"connection closed after {written} of {expected} bytes")
                out.flush()
                os.fsync(out.fileno())
            if hash_prefix and not sha256_file(tmp_name).startswith(hash_prefix):
                raise IntegrityError(f"{tag}: {url} served bytes whose sha256 does not start with {hash_prefix}, the "
                                     "prefix in its file name; nothing was kept. The server or a proxy alters the file")
            if md5 and file_digest(tmp_name, "md5") != md5:
                raise IntegrityError(f"{tag}: {url} served bytes whose md5 is not {md5}, the hash its publisher gives; "
                                     "nothing was kept")
            os.replace(tmp_name, dest)
            return dest
        except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError,
                _Transient) as e:
            last = e
            logger.warning("%s: attempt %d to download %s failed: %s", tag, attempt, url, e)
        finally:
            if os.path.exists(tmp_name):
                os.unlink(tmp_name)
        wait = min(retry.max_backoff_s, retry.backoff_s * 2 ** (attempt - 1))
        if time.monotonic() - started + wait > retry.total_s:
            break
        time.sleep(wait)
    raise DownloadError(f"{tag}: downloading {url} failed after {attempt} attempt(s) in "
                        f"{time.monotonic() - started:.1f} s; last error: {last}. Nothing was kept; try again "
                        f"later or pre-fetch elsewhere with 'resnet-zoo download {tag}'")


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
