"""Every fenced Python and shell block of the README runs, so the README cannot go stale.

Blocks run in a scratch folder, in README order, each in a fresh process, with ``resnet-zoo`` on the
PATH (this checkout's package), ``path/to/resnet_zoo`` pointing at this checkout, and weights served
by the loopback Hub (olah over a local hub of synthetic stand-ins, ``HF_ENDPOINT`` +
``RESNET_ZOO_MANIFEST``, as the README describes for a site mirror). ``KERAS_BACKEND`` is unset: the
README's own line must set it.

A block preceded by ``<!-- readme-test: skip NAME -->`` is skipped; every such NAME is listed in
``SKIPPED`` with the reason, and the two must agree. ``<!-- readme-test: in-checkout -->`` runs a
block in the checkout itself (read-only commands).
"""

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from hubtools import REPO, olah_server
from resnet_zoo.tools.buildhub import build_hub

README = (REPO / "README.md").read_text()
SKIPPED = {
    "fresh-machine-main-job": "creates a virtual environment and installs from the package index (network, minutes)",
    "fresh-machine-tests": "creates a virtual environment and runs the whole suite, this test included",
    "install": "pip install from a checkout or a Git URL needs the package index",
    "publish-from-origin": "downloads the origin's weights and uploads to huggingface.co (network and a token)",
    "origin-keras-and-microsoft-files": "Keras' and microsoft/resnet-50's files come from the internet",
    "finetune-photos-on-a-gpu": "resnet50 at ImageNet size on the user's photos: hours on this CPU",
    "hub-round-trip": "push_to_hub needs a token and huggingface.co (tests/test_hub_roundtrip.py runs it on olah)",
}
HUB_TAGS = ["resnet18.a1_in1k", "resnet50.a1_in1k", "resnet50.tv2_in1k"]  # what the runnable blocks load
PYTHON_PRELUDE = "import torch\nimport resnet_zoo\n"  # the README's first Python block imports these
FENCE = re.compile(
    r"(?:<!-- readme-test: (?P<mark>[^>]*?) -->\n)?^```(?P<lang>python|bash|sh|shell)\n(?P<code>.*?)^```", re.S | re.M
)


@dataclass(frozen=True)
class Block:
    name: str
    lang: str
    code: str
    skip: str | None  # the NAME of a skipped block
    in_checkout: bool


def readme_blocks() -> list[Block]:
    blocks, counts = [], {}
    for m in FENCE.finditer(README):
        heading = re.findall(r"^## (.+)$", README[: m.start()], re.M)
        section = heading[-1] if heading else "top"
        counts[section] = counts.get(section, 0) + 1
        mark = m.group("mark") or ""
        skip = mark[len("skip ") :].strip() if mark.startswith("skip ") else None
        name = skip or f"{section} #{counts[section]} ({m.group('lang')})"
        blocks.append(Block(name, m.group("lang"), m.group("code"), skip, mark == "in-checkout"))
    return blocks


def test_skipped_blocks_are_the_listed_ones():
    blocks = readme_blocks()
    assert len(blocks) >= 15
    assert {b.skip for b in blocks if b.skip} == set(SKIPPED)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    root = tmp_path_factory.mktemp("readme")
    (root / "path" / "to").mkdir(parents=True)
    (root / "path" / "to" / "resnet_zoo").symlink_to(REPO)
    bin_dir = root / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "resnet-zoo"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m resnet_zoo "$@"\n')
    shim.chmod(0o755)
    return root


@pytest.fixture(scope="module")
def loopback_hub(tmp_path_factory):
    hub = tmp_path_factory.mktemp("readme_hub")
    build_hub(hub, HUB_TAGS, source="synthetic", progress=False)
    with olah_server([hub], tmp_path_factory.mktemp("readme_olah")) as endpoint:
        yield {"HF_ENDPOINT": endpoint, "RESNET_ZOO_MANIFEST": str(hub / "weights_manifest.json")}


def _env(workdir: Path, hub_env: dict[str, str]) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "RESNET_ZOO_", "KERAS_"))}
    return {
        **base,
        **hub_env,
        "HF_HOME": str(workdir / "hf_home"),
        "RESNET_ZOO_CACHE": str(workdir / "cache"),
        "PATH": f"{workdir / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": str(REPO),
    }


def run_block(block: Block, workdir: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    cwd = REPO if block.in_checkout else workdir
    if block.lang == "python":
        argv = [sys.executable, "-c", PYTHON_PRELUDE + block.code]
    else:
        argv = ["bash", "-euo", "pipefail", "-c", block.code]
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.slow  # ~4 min on 2 cores: a loopback Hub, Keras, timm parity, two fine-tuning runs
def test_every_readme_block_runs(workdir, loopback_hub):
    env = _env(workdir, loopback_hub)
    failures, ran = [], []
    for block in readme_blocks():
        if block.skip:
            continue
        done = run_block(block, workdir, env)
        ran.append(block.name)
        if done.returncode != 0:
            failures.append(
                f"--- {block.name} (exit {done.returncode})\n{block.code}\n{done.stdout[-1500:]}\n{done.stderr[-3000:]}"
            )
    print("README blocks run:", *ran, sep="\n  ")
    assert not failures, "\n".join(failures)
    assert len(ran) >= 9
    assert (workdir / "runs" / "photos" / "best" / "model.safetensors").exists()
    assert (workdir / "digits.onnx").exists() and (workdir / "predictions.json").exists()
