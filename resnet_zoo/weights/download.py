"""Downloads: files from a Hugging Face Hub (through huggingface_hub and its cache, honouring
``HF_ENDPOINT``, ``HF_HOME``, ``HF_HUB_OFFLINE``, ``HF_TOKEN``), and legacy URLs (a ``.pth`` or ``.h5``
file), downloaded atomically into resnet_zoo's own cache with retries inside one total deadline.

A server that cannot be reached at all (DNS failure, connection refused) is not retried: that is a
machine without network, and the error says what to do about it.
"""

import logging
import os
import socket
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlsplit

import requests
from filelock import FileLock, Timeout
from huggingface_hub import constants
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import NameResolutionError

from ..errors import DownloadError, IntegrityError, InvalidArgumentError, NetworkUnreachableError
from .cache import file_digest, is_offline, resnet_zoo_cache_dir, sha256_file
from .pins import url_key

logger = logging.getLogger(__name__)

DEADLINE_ENV = "RESNET_ZOO_DOWNLOAD_TIMEOUT"
DEFAULT_DEADLINE_S = 300.0
PROBE_TIMEOUT_S = 3.0


def download_deadline() -> float:
    """Seconds one download may take in all (``$RESNET_ZOO_DOWNLOAD_TIMEOUT``, default 300)."""
    value = os.environ.get(DEADLINE_ENV, "")
    if not value:
        return DEFAULT_DEADLINE_S
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds < 1e7:
        raise InvalidArgumentError(f"{DEADLINE_ENV}={value!r} is invalid; give a number of seconds > 0, e.g. 300")
    return seconds


def offline_advice(tag: str) -> str:
    return (
        "set HF_HUB_OFFLINE=1 to stop trying the network, point hub_dir= (or $RESNET_ZOO_HUB_DIR) at a local "
        f"hub directory that has the weights, or run 'resnet-zoo download {tag}' on a machine with network and "
        f"copy its caches ({constants.HF_HOME}) here"
    )


# -- reachability --------------------------------------------------------------------------------

_PROBED: dict[tuple[str, int], str | None] = {}


def unreachable_reason(url: str) -> str | None:
    """Why ``url``'s server cannot be reached at all (no DNS answer, connection refused), or None
    when it may be reachable. Probed once per host and port per process, in under ~3 s."""
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)
    if (host, port) not in _PROBED:
        reason = None
        try:
            socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            with socket.create_connection((host, port), timeout=PROBE_TIMEOUT_S):
                pass
        except socket.gaierror as e:
            reason = f"{host} does not resolve ({e})"
        except ConnectionRefusedError:
            reason = f"{host}:{port} refused the connection"
        except OSError:
            reason = None  # slow or filtered: the client's own timeouts and retries decide
        _PROBED[(host, port)] = reason
    return _PROBED[(host, port)]


def _is_unreachable(error: BaseException) -> bool:
    seen: list[BaseException] = []
    todo: list[object] = [error]
    while todo:
        e = todo.pop()
        if not isinstance(e, BaseException) or e in seen:
            continue
        if isinstance(e, (NameResolutionError, ConnectionRefusedError, socket.gaierror)):
            return True
        seen.append(e)
        todo += [*e.args, getattr(e, "reason", None), e.__cause__, e.__context__]
    return False


# -- the Hugging Face Hub (or a mirror behind HF_ENDPOINT) ---------------------------------------


def hf_download(repo_id: str, filename: str, revision: str | None, tag: str) -> Path | None:
    """A file from the Hub through huggingface_hub's cache; None when it is not to be had there
    (missing repo or file, or offline and not cached). An endpoint that cannot be reached at all is
    not retried: the cache answers, else ``NetworkUnreachableError``."""
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
    reason = None if is_offline() else unreachable_reason(constants.ENDPOINT)
    try:
        return Path(hf_hub_download(repo_id, filename, revision=revision or None, local_files_only=bool(reason)))
    except unavailable as e:  # missing repo/file/revision, a mirror's 4xx/5xx, a lost connection
        logger.info("%s: %s/%s is not available from the Hub: %s: %s", tag, repo_id, filename, type(e).__name__, e)
        if reason:
            raise NetworkUnreachableError(
                f"{tag}: the Hub ({constants.ENDPOINT}) cannot be reached: {reason}; {offline_advice(tag)}"
            ) from None
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
    and stalls longer than the read timeout; exponential backoff within a bounded total time.
    ``deadline_s`` bounds everything, waiting for another process's download included (None:
    ``$RESNET_ZOO_DOWNLOAD_TIMEOUT``, default 300 s)."""

    attempts: int = 5
    backoff_s: float = 0.5  # doubled after each failed attempt
    max_backoff_s: float = 8.0
    total_s: float = 120.0  # no new attempt starts after this much time
    timeout_s: tuple[float, float] = (10.0, 30.0)  # (connect, read): a longer stall fails the attempt
    deadline_s: float | None = None


TRANSIENT_STATUS = {408, 425, 429, 500, 502, 503, 504}


class _Transient(Exception):
    pass


def url_cache_path(url: str) -> Path:
    """Where ``url``'s file lives in resnet_zoo's cache: under a key of the whole URL, then the name."""
    name = Path(urlsplit(url).path).name or "download"
    return resnet_zoo_cache_dir() / "urls" / url_key(url) / name


def remove_stale_parts(root: Path, older_than_s: float) -> int:
    """Delete ``.part`` files of downloads that were killed (older than the deadline)."""
    removed = 0
    now = time.time()
    for part in root.glob("*/.*.part") if root.is_dir() else ():
        try:
            if now - part.stat().st_mtime > older_than_s:
                part.unlink()
                removed += 1
        except OSError:
            pass
    return removed


def url_download(
    url: str, tag: str, hash_prefix: str = "", retry: RetryPolicy = RetryPolicy(), md5: str = ""
) -> Path | None:
    """``url`` in resnet_zoo's cache, downloaded at most once across processes (a file lock), into a
    temporary file that is renamed only once complete and matching the published hashes. None when
    the server does not have it (4xx) or when offline and not cached. A cached file is returned as
    it is: its caller verifies it (:func:`resnet_zoo.weights.fetch.fetch_weights`)."""
    deadline_s = retry.deadline_s if retry.deadline_s is not None else download_deadline()
    deadline = time.monotonic() + deadline_s
    dest = url_cache_path(url)
    dest.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_parts(dest.parent.parent, deadline_s)
    lock = FileLock(str(dest) + ".lock")
    try:
        lock.acquire(timeout=deadline_s)
    except Timeout:
        raise DownloadError(
            f"{tag}: another process has been downloading {url} for over {deadline_s:.0f} s (the download "
            f"deadline, ${DEADLINE_ENV}); gave up waiting for it. Try again later"
        ) from None
    try:
        if dest.exists():
            return dest
        if is_offline():
            return None
        return _download(url, dest, tag, hash_prefix, retry, md5, deadline)
    finally:
        lock.release()


def _download(
    url: str, dest: Path, tag: str, hash_prefix: str, retry: RetryPolicy, md5: str, deadline: float
) -> Path | None:
    started = time.monotonic()
    last: Exception | None = None
    attempt = 0
    while attempt < retry.attempts:
        attempt += 1
        fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out:
                if not _fetch_body(url, out, tag, retry, deadline):
                    return None
            _check_hashes(tmp_name, url, tag, hash_prefix, md5)
            os.replace(tmp_name, dest)
            return dest
        except requests.ConnectionError as e:
            if _is_unreachable(e):
                raise NetworkUnreachableError(f"{tag}: {url} cannot be reached ({e}); {offline_advice(tag)}") from None
            last = e
            logger.warning("%s: attempt %d to download %s failed: %s", tag, attempt, url, e)
        except (requests.Timeout, requests.exceptions.ChunkedEncodingError, Urllib3Error, _Transient) as e:
            last = e
            logger.warning("%s: attempt %d to download %s failed: %s", tag, attempt, url, e)
        finally:
            if os.path.exists(tmp_name):
                os.unlink(tmp_name)
        wait = min(retry.max_backoff_s, retry.backoff_s * 2 ** (attempt - 1))
        if time.monotonic() - started + wait > retry.total_s or time.monotonic() + wait >= deadline:
            break
        time.sleep(wait)
    raise DownloadError(
        f"{tag}: downloading {url} failed after {attempt} attempt(s) in "
        f"{time.monotonic() - started:.1f} s; last error: {last}. Nothing was kept; try again "
        f"later or pre-fetch elsewhere with 'resnet-zoo download {tag}'"
    )


def _fetch_body(url: str, out: BinaryIO, tag: str, retry: RetryPolicy, deadline: float) -> bool:
    """One attempt: stream ``url``'s body into ``out`` (decoding gzip/deflate), within ``deadline``.
    False when the server does not have the file (4xx)."""
    connect, read = retry.timeout_s
    remaining = max(deadline - time.monotonic(), 0.01)
    with requests.get(url, stream=True, timeout=(min(connect, remaining), min(read, remaining))) as response:
        if response.status_code in TRANSIENT_STATUS:
            raise _Transient(f"HTTP {response.status_code}")
        if 400 <= response.status_code < 500:
            logger.info("%s: %s answered HTTP %d", tag, url, response.status_code)
            return False
        response.raise_for_status()
        expected = int(response.headers.get("Content-Length", -1))
        while True:
            if time.monotonic() > deadline:
                raise DownloadError(
                    f"{tag}: downloading {url} passed its deadline ({response.raw.tell()} bytes received); "
                    f"nothing was kept. Raise ${DEADLINE_ENV} for a slow link, or pre-fetch elsewhere with "
                    f"'resnet-zoo download {tag}'"
                )
            chunk = response.raw.read1(1 << 20, decode_content=True)  # returns as soon as bytes arrive
            if not chunk:
                break
            out.write(chunk)
        received = response.raw.tell()  # bytes on the wire (compressed, when Content-Encoding says so)
        if expected >= 0 and received != expected:
            raise _Transient(f"connection closed after {received} of {expected} bytes")
        out.flush()
        os.fsync(out.fileno())
    return True


def _check_hashes(path: str, url: str, tag: str, hash_prefix: str, md5: str) -> None:
    if hash_prefix and not sha256_file(path).startswith(hash_prefix.lower()):
        raise IntegrityError(
            f"{tag}: {url} served bytes whose sha256 does not start with {hash_prefix}, the "
            "prefix in its file name; nothing was kept. The server or a proxy alters the file"
        )
    if md5 and file_digest(path, "md5") != md5.lower():
        raise IntegrityError(
            f"{tag}: {url} served bytes whose md5 is not {md5}, the hash its publisher gives; nothing was kept"
        )
