"""resnet_zoo's cache: hashing, verification records, quarantine; where huggingface_hub keeps its cache.

huggingface_hub checks a download's size only; every file with a pinned sha256 is hashed here.
Quarantine moves only what a cache owns (resnet_zoo's own, or huggingface_hub's): a file in a
local hub directory, in the package, or wherever a symlink points is never moved or deleted.
"""

import hashlib
import json
import os
import shutil
import stat
import time
from pathlib import Path

from huggingface_hub import constants

from ..errors import IntegrityError

CACHE_ENV = "RESNET_ZOO_CACHE"


def file_digest(path: str | os.PathLike[str], algorithm: str = "sha256") -> str:
    """Hex digest of a file, read in 4 MiB chunks (weight files are hundreds of MB)."""
    digest = hashlib.new(algorithm, usedforsecurity=algorithm != "md5")
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_file(path: str | os.PathLike[str]) -> str:
    return file_digest(path, "sha256")


def resnet_zoo_cache_dir() -> Path:
    """resnet_zoo's own cache (URL downloads, verification records, pins, quarantine):
    ``$RESNET_ZOO_CACHE``, else ``$HF_HOME/resnet_zoo`` beside huggingface_hub's cache."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    return Path(constants.HF_HOME) / "resnet_zoo"


def hub_cache_dir() -> str:
    return str(constants.HF_HUB_CACHE)


def is_offline() -> bool:
    return bool(constants.HF_HUB_OFFLINE)


# -- what a file is, and who owns it ------------------------------------------------------------


def is_within(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def cache_roots() -> tuple[Path, ...]:
    return resnet_zoo_cache_dir().resolve(), Path(hub_cache_dir()).resolve()


def cache_owns(path: Path) -> bool:
    """Is ``path`` (the name and, through any symlink, the bytes) inside one of our caches?"""
    where = path.parent.resolve() / path.name
    target = path.resolve()
    return any(is_within(where, root) and is_within(target, root) for root in cache_roots())


def check_regular(path: Path, inside: Path | None = None) -> os.stat_result:
    """Refuse, before reading a byte, what is not a regular file (a FIFO, device or socket would
    hang or never end) and, with ``inside``, a symlink whose target leaves that directory."""
    if inside is not None:
        target = path.resolve()
        if not is_within(target, inside.resolve()):
            raise IntegrityError(
                f"{path} points to {target}, outside the hub directory {inside}; refused without reading it"
            )
    try:
        st = os.stat(path)
    except OSError as e:
        raise IntegrityError(f"{path} cannot be read: {e}") from None
    if not stat.S_ISREG(st.st_mode):
        kind = "FIFO" if stat.S_ISFIFO(st.st_mode) else "socket" if stat.S_ISSOCK(st.st_mode) else "device or directory"
        raise IntegrityError(f"{path} is a {kind}, not a regular file; refused without reading it")
    return st


def stamp(st: os.stat_result) -> dict[str, int]:
    """What identifies a file's bytes without reading them: an in-place edit changes ctime even
    when size and mtime are put back."""
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "ctime_ns": st.st_ctime_ns, "ino": st.st_ino}


# -- verification ------------------------------------------------------------------------------


def _record_path(sha256: str) -> Path:
    return resnet_zoo_cache_dir() / "verified" / f"{sha256}.json"


def verify_file(
    path: Path, expected_sha256: str, tag: str, force: bool = False, inside: Path | None = None, hint: str = ""
) -> bool:
    """Check ``path`` against its pinned sha256 (case-insensitively), rehashing only when size,
    mtime, ctime or inode changed since the last successful check (or always with ``force``). A
    mismatch quarantines the file when a cache owns it and leaves it alone otherwise.
    Returns True when the bytes were hashed now (first use, changed file, or forced)."""
    expected = expected_sha256.strip().lower()
    fingerprint = {"path": str(path.resolve()), **stamp(check_regular(path, inside))}
    record = _record_path(expected)
    if not force:
        try:
            if json.loads(record.read_text()) == fingerprint:
                return False
        except (OSError, ValueError):
            pass
    actual = sha256_file(path)
    if actual != expected:
        moved = quarantine(path)
        fate = (
            f"it was moved to {moved} so that the next load fetches it again (resnet-zoo download {tag})"
            if moved
            else "it is not in resnet_zoo's cache, so it was left where it is: replace it or fix its source"
        )
        raise IntegrityError(
            f"{tag}: {path} has sha256 {actual}, but {expected} is pinned for it; {fate}{f'. {hint}' if hint else ''}"
        )
    record.parent.mkdir(parents=True, exist_ok=True)
    tmp = record.with_name(f".{record.name}.{os.getpid()}.{time.monotonic_ns()}.tmp")
    tmp.write_text(json.dumps(fingerprint))
    os.replace(tmp, record)
    return True


def _checked_record(path: Path) -> Path:
    key = hashlib.sha256(str(path.resolve()).encode()).hexdigest()
    return resnet_zoo_cache_dir() / "checked" / f"{key}.json"


def checked_stamp(path: Path, now: dict[str, int]) -> tuple[int, ...] | None:
    """``now`` (a file of the user's as :func:`stamp` describes it) as a tuple when its contents
    passed the value checks in that very state, else None: a changed file (even put back to the
    same size and mtime) is checked again. The read compares the open file against the stamp, so
    nothing slips in between."""
    try:
        record = json.loads(_checked_record(path).read_text())
    except (OSError, ValueError):
        return None
    return tuple(now.values()) if record == now else None


def record_checked(path: Path, st: dict[str, int]) -> None:
    """Remember that ``path`` (as ``st`` describes it) passed the value checks."""
    record = _checked_record(path)
    try:
        record.parent.mkdir(parents=True, exist_ok=True)
        tmp = record.with_name(f".{record.name}.{os.getpid()}.{time.monotonic_ns()}.tmp")
        tmp.write_text(json.dumps(st))
        os.replace(tmp, record)
    except OSError:  # a read-only cache only costs the next load a scan
        pass


def quarantine(path: Path) -> Path | None:
    """Move a bad file that a cache owns (and the cache symlink pointing at it) out of every
    loader's way; return where it went. A file a cache does not own is never touched (None);
    a symlink in our cache pointing elsewhere loses only the link."""
    if not cache_owns(path):
        where = path.parent.resolve() / path.name
        if path.is_symlink() and any(is_within(where, root) for root in cache_roots()):
            path.unlink(missing_ok=True)
        return None
    target = path.resolve()
    bad_dir = resnet_zoo_cache_dir() / "quarantine"
    bad_dir.mkdir(parents=True, exist_ok=True)
    dest = bad_dir / f"{target.name}.{os.getpid()}.{time.time_ns()}.bad"
    try:
        shutil.move(str(target), dest)
    except OSError:
        target.unlink(missing_ok=True)
        dest = target
    if path.is_symlink():
        path.unlink(missing_ok=True)
    return dest
