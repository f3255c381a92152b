"""optimize_for_inference keeps the outputs; pretrained loading leaves nothing on meta; the
benchmark runs end to end (quick mode) and writes valid JSON. No timings are asserted here."""

import json
import subprocess
import sys

import pytest
import torch
from conftest import max_rel_diff

import resnet_zoo
from hubtools import REPO
from resnet_zoo.tools.parity import randomize_


@pytest.mark.parametrize(
    "name",
    [
        "resnet18",
        "resnet50d",
        "resnet26t",
        "resnetrs50",
        "seresnext26d_32x4d",
        "ecaresnet26t",
        "resnext50_32x4d",
        "resnetv2_18d",
        "resnetv2_50",
        "cifar_resnet20",
    ],
)
@pytest.mark.parametrize("channels_last", [False, True])
def test_optimized_outputs_within_1e4(name, channels_last, odd_input):
    model = randomize_(resnet_zoo.create_model(name)).eval()
    optimized = resnet_zoo.optimize_for_inference(model, channels_last=channels_last, compile=False)
    with torch.no_grad():
        assert max_rel_diff(optimized(odd_input), model(odd_input)) <= 1e-4
    bns = [m for m in optimized.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    if resnet_zoo.get_spec(name).family == "resnetv2":
        blocks = sum(len(s.blocks) for s in model.stages)
        assert len(bns) == blocks + 1  # only the pre-activation norm1 of each block and the final norm stay
    else:
        assert bns == []
    assert any(m.training for m in model.modules()) is False  # the original is untouched (eval as given)
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules()) > 0


def test_optimize_rejects_foreign_models():
    with pytest.raises(TypeError, match="expects a resnet_zoo model"):
        resnet_zoo.optimize_for_inference(torch.nn.Linear(2, 2))


def test_meta_device_loading_leaves_nothing_on_meta():
    model = resnet_zoo.create_model("cifar_resnet20.digits", pretrained=True)
    assert all(not t.is_meta for t in [*model.parameters(), *model.buffers()])
    assert all(t.device.type == "cpu" for t in model.state_dict().values())


@pytest.mark.slow  # ~2 min: the whole benchmark in quick mode
def test_benchmark_quick_mode_writes_valid_json(tmp_path):
    out = tmp_path / "bench.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.run",
            "--quick",
            "--json",
            str(out),
            "--markdown",
            str(tmp_path / "bench.md"),
            "--plot",
            str(tmp_path / "bench.png"),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(out.read_text())
    assert set(results) >= {
        "machine",
        "time_to_first_logits",
        "peak_rss",
        "throughput",
        "optimized",
        "import",
        "gpu",
        "targets",
    }
    ttfl = results["time_to_first_logits"]["resnet10t"]
    assert ttfl["resnet_zoo"]["median"] > 0 and ttfl["timm"]["median"] > 0 and len(ttfl["timm"]["samples"]) >= 2
    assert results["peak_rss"]["resnet10t"]["resnet_zoo"]["peak_bytes"] > 0
    for row in results["optimized"].values():
        assert row["resnet_zoo optimize_for_inference"]["max_rel_diff"] <= 1e-4
    assert "| measurement |" in (tmp_path / "bench.md").read_text()
    assert (tmp_path / "bench.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
