"""Downloads: files from a Hugging Face Hub (through huggingface_hub and its cache, honouring
``HF_ENDPOINT``, ``HF_HOME``, ``HF_HUB_OFFLINE``, ``HF_TOKEN``), and legacy URLs (a ``.pth`` or ``.h5``
file), downloaded atomically into resnet_zoo's own cache with retries.
"""

import logging
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import DownloadError, IntegrityError
from .cache import file_digest, is_offline, quarantine, resnet_zoo_cache_dir, sha256_file

logger = logging.getLogger(__name__)


# -- the Hugging Face Hub (or a mirror behind HF_ENDPOINT) ---------------------------------------


def hf_download(repo_id: str, filename: str, revision: str | None, tag: str) -> Path | None:
    """A file from the Hub through huggingface_hub's cache; None when it is not to be had there
    (missing repo or file, no network, or offline and not cached)."""
    # huggingface_hub's download stack costs ~0.5 s to import; the bundled and local-hub roads never need it
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import (
        EntryNotFoundError,
        HfHubHTTPError,
        LocalEntryNotFoundError,
        OfflineModeIsEnabled,
        RepositoryNotFoundError,
    )

    unavailable: tuple[type[BaseException], ...] = (
        EntryNotFoundError,
        RepositoryNotFoundError,
        LocalEntryNotFoundError,
        OfflineModeIsEnabled,
        HfHubHTTPError,
        OSError,
        *_http_client_errors(),
    )
    try:
        return Path(hf_hub_download(repo_id, filename, revision=revision or None))
    except unavailable as e:  # missing repo/file/revision, a mirror's 4xx/5xx, a lost connection
        logger.info("%s: %s/%s is not available from the Hub: %s: %s", tag, repo_id, filename, type(e).__name__, e)
        return None


def _http_client_errors() -> tuple[type[BaseException], ...]:
    """Base errors of whichever HTTP client this huggingface_hub release uses (httpx2, httpx or
    requests); a reset or refused connection surfaces as one of these, not as an HfHubHTTPError."""
    names = (("httpx2", "HTTPError"), ("httpx", "HTTPError"), ("requests", "RequestException"))
    return tuple(getattr(sys.modules[m], attr) for m, attr in names if m in sys.modules)


# -- legacy URLs ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetryPolicy:
    """Retries for transient failures: HTTP 429/5xx, reset or dropped connections, short bodies,
    and stalls longer than the read timeout; exponential backoff within a bounded total time."""

    attempts: int = 5
    backoff_s: float = 0.5  # doubled after each failed attempt
    max_backoff_s: float = 8.0
    total_s: float = 120.0  # no new attempt starts after this much time
    timeout_s: tuple[float, float] = (10.0, 30.0)  # (connect, read): a longer stall fails the attempt


TRANSIENT_STATUS = {408, 425, 429, 500, 502, 503, 504}


class _Transient(Exception):
    pass


def url_cache_path(url: str) -> Path:
    """Where ``url``'s file lives in resnet_zoo's cache (named as the URL names it)."""
    return resnet_zoo_cache_dir() / "urls" / Path(url.split("?")[0]).name


def url_download(
    url: str, tag: str, hash_prefix: str = "", retry: RetryPolicy = RetryPolicy(), md5: str = ""
) -> Path | None:
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
                raise IntegrityError(
                    f"{tag}: cached {dest} does not match the sha256 prefix {hash_prefix} "
                    "in its URL; it was removed, so the next load downloads it again"
                )
            return dest
        if is_offline():
            return None
        return _download(url, dest, tag, hash_prefix, retry, md5)


def _download(url: str, dest: Path, tag: str, hash_prefix: str, retry: RetryPolicy, md5: str = "") -> Path | None:
    import requests  # the network stack is imported on first download, as huggingface_hub's above

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
                raise IntegrityError(
                    f"{tag}: {url} served bytes whose sha256 does not start with {hash_prefix}, the "
                    "prefix in its file name; nothing was kept. The server or a proxy alters the file"
                )
            if md5 and file_digest(tmp_name, "md5") != md5:
                raise IntegrityError(
                    f"{tag}: {url} served bytes whose md5 is not {md5}, the hash its publisher gives; nothing was kept"
                )
            os.replace(tmp_name, dest)
            return dest
        except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError, _Transient) as e:
            last = e
            logger.warning("%s: attempt %d to download %s failed: %s", tag, attempt, url, e)
        finally:
            if os.path.exists(tmp_name):
                os.unlink(tmp_name)
        wait = min(retry.max_backoff_s, retry.backoff_s * 2 ** (attempt - 1))
        if time.monotonic() - started + wait > retry.total_s:
            break
        time.sleep(wait)
    raise DownloadError(
        f"{tag}: downloading {url} failed after {attempt} attempt(s) in "
        f"{time.monotonic() - started:.1f} s; last error: {last}. Nothing was kept; try again "
        f"later or pre-fetch elsewhere with 'resnet-zoo download {tag}'"
    )
