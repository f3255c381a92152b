"""A **local hub directory**: HF-layout git repos (``models/ORG/NAME``, large files as git-LFS
pointer + object) that ``publish --to`` writes and olah (or any HF mirror) serves as they are;
read here directly, with no server.
"""

import hashlib
import os
import re
import shutil
import subprocess
from pathlib import Path

from ..errors import IntegrityError, ResNetZooError, WeightsNotAvailableError
from .cache import check_regular, resnet_zoo_cache_dir, sha256_file
from .repoid import check_repo_id

HUB_DIR_ENV = "RESNET_ZOO_HUB_DIR"
LFS_POINTER = "version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\nsize {size}\n"
LFS_SUFFIXES = (".safetensors", ".pth", ".bin", ".h5", ".onnx")


_OID = re.compile(r"[0-9a-f]{64}")
LFS_PREFIX = b"version https://git-lfs.github.com/spec/"


def _git(repo: Path, *args: str, input: bytes | None = None) -> str:
    return _git_bytes(repo, *args, input=input).decode()


def _git_bytes(repo: Path, *args: str, input: bytes | None = None) -> bytes:
    try:
        done = subprocess.run(["git", "-C", str(repo), *args], input=input, capture_output=True, check=True)
    except FileNotFoundError:
        raise ResNetZooError(
            "a local hub directory is a set of git repos, and git is not installed; "
            "install git, or serve the directory with olah and set HF_ENDPOINT"
        ) from None
    except subprocess.CalledProcessError as e:
        raise ResNetZooError(
            f"git {' '.join(args)} failed in {repo}: {e.stderr.decode(errors='replace').strip()}"
        ) from None
    return done.stdout


__all__ = ["LocalHub", "check_repo_id", "hub_dir_from_env", "HUB_DIR_ENV"]


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
                "".join(f"*{s} filter=lfs diff=lfs merge=lfs -text\n" for s in LFS_SUFFIXES)
            )
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
            _git(
                repo,
                "-c",
                "user.name=resnet-zoo",
                "-c",
                "user.email=resnet-zoo@localhost",
                "commit",
                "-q",
                "-m",
                message,
            )
        return _git(repo, "rev-parse", "HEAD").strip()

    def lfs_object(self, repo_id: str, oid: str) -> Path:
        oid = oid.lower()
        if not _OID.fullmatch(oid):
            raise IntegrityError(
                f"{self.repo_dir(repo_id)}: LFS oid {oid[:80]!r} is not 64 hex digits; "
                "refused (a hostile or broken pointer)"
            )
        return self.repo_dir(repo_id) / ".git" / "lfs" / "objects" / oid[:2] / oid[2:4] / oid

    def resolve(self, repo_id: str, filename: str, revision: str = "main", sha256: str = "") -> Path | None:
        """The on-disk file for ``filename`` at ``revision``: the LFS object itself, no copy.

        With the pinned ``sha256`` known, the object is found by its content address (an LFS oid
        is the file's sha256) without asking git; the caller's hash check still applies. Objects that
        are not regular files, or symlinks out of the hub directory, are refused before reading."""
        if sha256:
            obj = self.lfs_object(repo_id, sha256)
            if os.path.lexists(obj):
                check_regular(obj, inside=self.root)
                return obj
        repo = self.repo_dir(repo_id)
        if not (repo / ".git").exists():
            return None
        try:
            blob = _git_bytes(repo, "show", f"{revision or 'main'}:{filename}")
        except ResNetZooError:
            return None
        if blob.startswith(LFS_PREFIX):
            oid = blob.split(b"oid sha256:", 1)[-1].split(maxsplit=1)[0].decode("ascii", errors="replace")
            obj = self.lfs_object(repo_id, oid)
            if not os.path.lexists(obj):
                return None
            check_regular(obj, inside=self.root)
            return obj
        # a file committed without LFS (small, or a mistake): its bytes as they are, kept in the cache by content
        digest = hashlib.sha256(blob).hexdigest()
        out = resnet_zoo_cache_dir() / "local-hub-files" / digest / Path(filename).name
        if not out.exists():
            out.parent.mkdir(parents=True, exist_ok=True)
            tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
            tmp.write_bytes(blob)
            os.replace(tmp, out)
        return out


def hub_dir_from_env(hub_dir: str | os.PathLike[str] | None) -> Path | None:
    value = hub_dir if hub_dir is not None else os.environ.get(HUB_DIR_ENV)
    if not value:
        return None
    path = Path(value)
    if not path.is_dir():
        raise WeightsNotAvailableError(
            f"local hub directory {str(path)!r} does not exist; create it with "
            f"'resnet-zoo build-hub --to {path}' or unset {HUB_DIR_ENV}"
        )
    return path
