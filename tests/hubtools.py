"""Test helpers for the weights road: a loopback Hub (olah serving local git mirrors), timm-layout
origin repos, and subprocess runs with their own HF environment."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def olah_server(mirrors: list[Path], workdir: Path) -> Iterator[str]:
    """olah 0.5.4 on 127.0.0.1, offline, serving ``mirrors``; upstream pointed at a closed port.
    Yields the endpoint URL; stops the server by PID."""
    port, closed = free_port(), free_port()
    config = workdir / "olah.toml"
    config.write_text(
        "\n".join(
            [
                "[basic]",
                'host = "127.0.0.1"',
                f"port = {port}",
                f'repos-path = "{workdir / "repos"}"',
                'hf-scheme = "http"',
                f'hf-netloc = "127.0.0.1:{closed}"',
                f'hf-lfs-netloc = "127.0.0.1:{closed}"',
                'mirror-scheme = "http"',
                f'mirror-netloc = "127.0.0.1:{port}"',
                f'mirror-lfs-netloc = "127.0.0.1:{port}"',
                f"mirrors-path = {json.dumps([str(m) for m in mirrors])}",
                "",
                "[accessibility]",
                "offline = true",
                "",
            ]
        )
    )
    olah = shutil.which("olah-cli", path=str(Path(sys.executable).parent)) or "olah-cli"
    log = open(workdir / "olah.log", "wb")
    proc = subprocess.Popen([olah, "-c", str(config)], cwd=workdir, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"olah did not start: {(workdir / 'olah.log').read_text()[-2000:]}")
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def run_python(code: str, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter (huggingface_hub reads HF_* variables at import)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "RESNET_ZOO_"))}
    done = subprocess.run(
        [sys.executable, "-c", code], env={**base, **env}, capture_output=True, text=True, cwd=REPO, timeout=300
    )
    if check and done.returncode != 0:
        raise AssertionError(f"subprocess failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done


def last_json(stdout: str) -> dict:
    return json.loads(stdout.strip().splitlines()[-1])
