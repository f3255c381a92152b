"""The runtime road needs torch, safetensors, huggingface_hub and requests, nothing more.

``scripts/lean_runtime_check.py`` runs in a fresh interpreter whose import system refuses every
optional package (numpy, timm, torchvision, keras, transformers, onnx, sklearn, matplotlib, tqdm,
...; Pillow allowed only for the transform check). ``.ci/run`` runs the same script in a venv
holding only the wheel and its runtime dependencies.
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hubtools import REPO

BLOCKER = """
import importlib.abc, runpy, sys
REFUSED = {refused!r}
class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in REFUSED:
            raise ModuleNotFoundError(f"No module named {{name!r}} (refused: not a runtime dependency)")
        return None
sys.meta_path.insert(0, Refuse())
sys.argv = {argv!r}
runpy.run_path({script!r}, run_name="__main__")
"""
REFUSED = (
    "numpy",
    "timm",
    "torchvision",
    "keras",
    "transformers",
    "onnx",
    "onnxruntime",
    "onnxscript",
    "sklearn",
    "matplotlib",
    "tqdm",
    "h5py",
    "torchao",
    "scipy",
    "pandas",
)


def export_raw_digits(out: Path, limit: int = 40) -> None:
    """Held-out digits as PNGs and as raw 32x32 gray bytes (the same pixels, for a Pillow-free reader)."""
    from PIL import Image

    from resnet_zoo.train.datasets import export_digits
    from resnet_zoo.weights.transforms import resample

    export_digits(out, split="test", limit=limit)
    for png in out.glob("*/*.png"):
        with Image.open(png) as img:
            png.with_suffix(".raw").write_bytes(img.convert("L").resize((32, 32), resample("bilinear")).tobytes())


@pytest.fixture(scope="module")
def lean_inputs(tmp_path_factory) -> dict[str, str]:
    from resnet_zoo.tools.convert import convert
    from resnet_zoo.tools.publish import publish

    root = tmp_path_factory.mktemp("lean")
    export_raw_digits(root / "digits")
    hub = root / "hub"
    publish(convert("resnet10t.c3_in1k", root / "conv", source="synthetic").out_dir, to=hub)
    repo = root / "repo"  # a plain copy of the repository, not installed: what torch.hub.load reads
    shutil.copytree(
        REPO, repo, ignore=shutil.ignore_patterns(".venv*", ".ci-work", ".git", "local_hub", "out", "__pycache__")
    )
    return {"digits": str(root / "digits"), "hub": str(hub), "repo": str(repo)}


def test_the_runtime_road_imports_no_optional_package(lean_inputs):
    argv = [
        "lean_runtime_check.py",
        "--digits",
        lean_inputs["digits"],
        "--hub-dir",
        lean_inputs["hub"],
        "--hub-tag",
        "resnet10t.c3_in1k",
        "--repo",
        lean_inputs["repo"],
        "--with-pil",
    ]
    code = BLOCKER.format(refused=set(REFUSED), argv=argv, script=str(REPO / "scripts" / "lean_runtime_check.py"))
    env_python = [sys.executable, "-c", code]
    done = subprocess.run(env_python, capture_output=True, text=True, cwd=lean_inputs["repo"], timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["digits"] == 40 and report["correct"] >= 39, report
    assert report["torch_hub_equal"] and report["pil_transform_equal"] and report["optional_loaded"] == []
    import resnet_zoo

    assert report["hub_tag"] == "resnet10t.c3_in1k" and report["entrypoints"] == len(resnet_zoo.list_models())


def test_the_blocker_really_refuses(tmp_path):
    # the check above is only as good as its blocker: a refused import must fail in that interpreter
    script = tmp_path / "probe.py"
    script.write_text("import numpy\n")
    code = BLOCKER.format(refused=set(REFUSED), argv=["probe.py"], script=str(script))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode != 0 and "refused: not a runtime dependency" in done.stderr
