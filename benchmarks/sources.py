"""Time to first logits from each source a weight can come from, against the floor: safetensors'
``load_file`` plus the first forward with those tensors (no model to build, no checks).

Runs in a fresh process whose HF cache holds the weight as huggingface_hub would have downloaded it
(``HF_HUB_OFFLINE=1``), so the "pinned tag" row walks the real Hub road from a warm cache.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

from .measure import REPO, weight_file

_CHILD = r"""
import json, statistics, sys, time
sys.path.insert(0, {repo!r})
import torch, resnet_zoo
from torch.func import functional_call
from safetensors.torch import load_file
from benchmarks.measure import interleaved

x = torch.randn(1, 3, 224, 224)
skeleton = resnet_zoo.create_model({arch!r}).eval()  # built outside the timing: the floor builds nothing

def floor():
    tensors = load_file({plain!r})
    with torch.no_grad():
        functional_call(skeleton, tensors, (x,))

def first_logits(**kwargs):
    def run():
        model = resnet_zoo.create_model(**kwargs)
        with torch.no_grad():
            model(x)
    return run

fns = {{
    "floor: load_file + first forward": floor,
    "pretrained=<user file>": first_logits(name={arch!r}, pretrained={plain!r}),
    "pinned tag, warm HF cache": first_logits(name={tag!r}, pretrained=True),
    "pinned tag, local hub dir": first_logits(name={tag!r}, pretrained=True, hub_dir={hub!r}),
}}
timings = interleaved(fns, {repeats})
print(json.dumps({{k: {{"median": t.median, "samples": t.samples}} for k, t in timings.items()}}))
"""


def warm_hf_cache(home: Path, repo_id: str, revision: str, sha256: str, blob: Path) -> None:
    """huggingface_hub's cache layout for one file, as a finished download leaves it."""
    root = home / "hub" / f"models--{repo_id.replace('/', '--')}"
    (root / "blobs").mkdir(parents=True, exist_ok=True)
    target = root / "blobs" / sha256
    if not target.exists():
        target.write_bytes(blob.read_bytes())
    snap = root / "snapshots" / revision
    snap.mkdir(parents=True, exist_ok=True)
    link = snap / "model.safetensors"
    if not link.exists():
        link.symlink_to(os.path.relpath(target, snap))
    (root / "refs").mkdir(exist_ok=True)
    (root / "refs" / "main").write_text(revision)


def time_to_first_logits_by_source(arch: str, workdir: Path, repeats: int) -> dict[str, dict]:
    from resnet_zoo.weights.manifest import read_manifest_file

    hub_dir, tag, plain = weight_file(arch, workdir)
    manifest = hub_dir / "weights_manifest.json"
    location = read_manifest_file(manifest)[tag].hub
    home = workdir / "hf-home"
    warm_hf_cache(home, location.repo_id, location.revision, location.sha256, plain)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "RESNET_ZOO_"))}
    env.update(
        HF_HOME=str(home),
        HF_HUB_OFFLINE="1",
        RESNET_ZOO_MANIFEST=str(manifest),
        RESNET_ZOO_CACHE=str(workdir / "zoo-cache"),
        PYTHONWARNINGS="ignore",
    )
    code = _CHILD.format(repo=str(REPO), arch=arch, plain=str(plain), tag=tag, hub=str(hub_dir), repeats=repeats)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    out = json.loads(done.stdout.strip().splitlines()[-1])
    floor = out["floor: load_file + first forward"]["median"]
    for row in out.values():
        row["x_floor"] = row["median"] / floor
    return out
