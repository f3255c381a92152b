"""resnet_zoo's cache: hashing, verification records, quarantine; where huggingface_hub keeps its cache.

huggingface_hub checks a download's size only; every file with a pinned sha256 is hashed here.
"""

import hashlib
import json
import os
import shutil
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
    """resnet_zoo's own cache (URL downloads, verification records, quarantine):
    ``$RESNET_ZOO_CACHE``, else ``$HF_HOME/resnet_zoo`` beside huggingface_hub's cache."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
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
            f"removed so that the next load fetches it again (resnet-zoo download {tag})"
        )
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


def hub_cache_dir() -> str:
    return str(constants.HF_HUB_CACHE)


def is_offline() -> bool:
    return bool(constants.HF_HUB_OFFLINE)
