"""The measurements, each comparing resnet_zoo with timm and torchvision on the same file and input.

Timings are medians of repeats after warm-up; implementations are interleaved repeat by repeat so
that machine drift hits all of them alike. Memory is measured in fresh subprocesses.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]


@dataclass
class Timing:
    median: float
    spread: float  # (max - min) / median over the repeats
    samples: list[float] = field(default_factory=list)

    @staticmethod
    def of(samples: list[float]) -> Timing:
        med = statistics.median(samples)
        return Timing(med, (max(samples) - min(samples)) / med if med else 0.0, samples)


def interleaved(fns: dict[str, Callable[[], object]], repeats: int, warmup: int = 1) -> dict[str, Timing]:
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    samples: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            samples[name].append(time.perf_counter() - start)
    return {k: Timing.of(v) for k, v in samples.items()}


def forward_of(model: torch.nn.Module, x: torch.Tensor) -> Callable[[], None]:
    """A timed unit: one no-grad forward of ``model`` on ``x``."""

    def run() -> None:
        with torch.no_grad():
            model(x)

    return run


# -- the weight file every implementation loads ----------------------------------------------------


def weight_file(arch: str, workdir: Path) -> tuple[Path, str, Path]:
    """(local hub dir, tag, plain .safetensors copy) for ``arch``'s default weight, seeded random."""
    import resnet_zoo
    from resnet_zoo.tools.convert import convert
    from resnet_zoo.tools.publish import publish
    from resnet_zoo.weights.localhub import LocalHub
    from resnet_zoo.weights.manifest import read_manifest_file

    tag = resnet_zoo.get_weights(arch).name
    hub_dir = workdir / "hub"
    manifest = hub_dir / "weights_manifest.json"
    if not manifest.exists() or tag not in read_manifest_file(manifest):
        publish(convert(tag, workdir / "convert" / tag, source="synthetic").out_dir, to=hub_dir)
    hub = read_manifest_file(manifest)[tag].hub
    src = LocalHub(hub_dir).resolve(hub.repo_id, hub.filename, hub.revision)
    plain = workdir / f"{tag}.safetensors"  # timm picks its reader by file suffix
    if not plain.exists():
        plain.write_bytes(src.read_bytes())
    return hub_dir, tag, plain


def _loaders(arch: str, hub_dir: Path, tag: str, plain: Path) -> dict[str, Callable[[], torch.nn.Module]]:
    import resnet_zoo

    def ours() -> torch.nn.Module:
        return resnet_zoo.create_model(tag, pretrained=True, hub_dir=str(hub_dir))

    def timm_load() -> torch.nn.Module:
        import timm

        return timm.create_model(arch, pretrained=True, pretrained_cfg_overlay=dict(file=str(plain))).eval()

    def torchvision_load() -> torch.nn.Module:
        import torchvision
        from safetensors.torch import load_file

        model = getattr(torchvision.models, arch)(weights=None)
        model.load_state_dict(load_file(str(plain)))
        return model.eval()

    def floor() -> dict:
        from safetensors.torch import load_file

        return load_file(str(plain))

    loaders: dict[str, Callable] = {"resnet_zoo": ours, "timm": timm_load}
    if resnet_zoo.get_spec(arch).torchvision_name:
        loaders["torchvision"] = torchvision_load
    loaders["load_file floor"] = floor
    return loaders


def time_to_first_logits(arch: str, workdir: Path, repeats: int) -> dict[str, dict]:
    """create/load + one forward on 1x3x224x224 from a warm cache; the floor is load_file alone."""
    hub_dir, tag, plain = weight_file(arch, workdir)
    x = torch.randn(1, 3, 224, 224)

    def with_forward(load: Callable) -> Callable:
        def run() -> None:
            model = load()
            with torch.no_grad():
                model(x)

        return run

    loaders = _loaders(arch, hub_dir, tag, plain)
    fns = {k: (v if k == "load_file floor" else with_forward(v)) for k, v in loaders.items()}
    load_only = {f"{k} (load only)": v for k, v in loaders.items() if k != "load_file floor"}
    timings = interleaved({**fns, **load_only}, repeats)
    return {k: asdict(v) for k, v in timings.items()} | {"file_bytes": plain.stat().st_size}


# -- peak memory, one fresh subprocess per measurement -------------------------------------------

_RSS_CHILD = r"""
import json, sys
sys.path.insert(0, {repo!r})
from benchmarks.measure import _loaders
from pathlib import Path
import torch, resnet_zoo, timm, torchvision, safetensors.torch  # imports are not part of the load

def status(field):  # kB values from /proc/self/status
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024

loaders = _loaders({arch!r}, Path({hub!r}), {tag!r}, Path({plain!r}))
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")  # reset the peak (VmHWM) to the current RSS: the imports' peak is not the load's
torch.randn(1, 3, 8, 8)  # torch's own first-use allocations are not the load's
skeleton = resnet_zoo.create_model({arch!r}).eval() if {which!r} == "load_file floor" else None
before = status("VmRSS")
obj = loaders[{which!r}]()
x = torch.randn(1, 3, 224, 224)
with torch.no_grad():  # the load and the first forward: what a user waits for
    if isinstance(obj, torch.nn.Module):
        obj(x)
    else:  # the floor: load_file's tensors through a skeleton built before the baseline
        torch.func.functional_call(skeleton, obj, (x,))
print(json.dumps({{"peak_above_baseline_bytes": status("VmHWM") - before}}))
"""


def peak_rss(arch: str, workdir: Path, repeats: int) -> dict[str, dict]:
    hub_dir, tag, plain = weight_file(arch, workdir)
    size = plain.stat().st_size
    out: dict[str, dict] = {}
    for which in _loaders(arch, hub_dir, tag, plain):
        peaks = []
        for _ in range(repeats):
            code = _RSS_CHILD.format(
                repo=str(REPO), arch=arch, hub=str(hub_dir), tag=tag, plain=str(plain), which=which
            )
            done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
            peaks.append(json.loads(done.stdout.strip().splitlines()[-1])["peak_above_baseline_bytes"])
        med = statistics.median(peaks)
        out[which] = {"peak_bytes": med, "x_file_size": med / size, "samples": peaks}
    out["file_bytes"] = {"bytes": size}
    return out


# -- throughput --------------------------------------------------------------------------------


def _models(arch: str) -> dict[str, torch.nn.Module]:
    import timm
    import torchvision

    import resnet_zoo

    models = {"resnet_zoo": resnet_zoo.create_model(arch).eval(), "timm": timm.create_model(arch).eval()}
    if resnet_zoo.get_spec(arch).torchvision_name:
        models["torchvision"] = getattr(torchvision.models, arch)(weights=None).eval()
    state = models["timm"].state_dict()
    for m in models.values():
        m.load_state_dict(state)
    return models


def throughput(arch: str, batch: int, channels_last: bool, repeats: int, size: int = 224) -> dict[str, dict]:
    """Eager fp32 images/s of the same weights in each implementation."""
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    models = {k: m.to(memory_format=fmt) for k, m in _models(arch).items()}
    x = torch.randn(batch, 3, size, size).contiguous(memory_format=fmt)

    timings = interleaved({k: forward_of(m, x) for k, m in models.items()}, repeats)
    out = {k: {"images_per_s": batch / t.median, "spread": t.spread} for k, t in timings.items()}
    out["resnet_zoo"]["paired_ratio_vs_timm"] = paired_ratio(timings["timm"], timings["resnet_zoo"])
    return out


def paired_ratio(baseline: Timing, candidate: Timing) -> float:
    """Median over repeats of baseline time / candidate time, each pair measured back to back:
    drift of the machine between repeats cancels out (> 1: the candidate is faster)."""
    return statistics.median(b / c for b, c in zip(baseline.samples, candidate.samples))


def optimized_throughput(arch: str, batch: int, repeats: int, compile: bool, size: int = 224) -> dict[str, dict]:
    """optimize_for_inference (BN folded + channels_last [+ compile]) against timm eager and timm
    with the same torch.compile; also checks the optimised outputs against the original."""
    import resnet_zoo

    models = _models(arch)
    ours = models["resnet_zoo"]
    x = torch.randn(batch, 3, size, size)
    fns: dict[str, torch.nn.Module] = {
        "timm eager": models["timm"],
        "resnet_zoo optimize_for_inference": resnet_zoo.optimize_for_inference(ours),
    }
    if compile:
        fns["timm + torch.compile"] = torch.compile(models["timm"])
        fns["resnet_zoo optimize_for_inference(compile=True)"] = resnet_zoo.optimize_for_inference(ours, compile=True)
    with torch.no_grad():
        ref = ours(x)
        max_rel = {k: ((m(x) - ref).abs().max() / ref.abs().max()).item() for k, m in fns.items()}

    timings = interleaved({k: forward_of(m, x) for k, m in fns.items()}, repeats, warmup=2)
    return {
        k: {
            "images_per_s": batch / t.median,
            "spread": t.spread,
            "max_rel_diff": max_rel[k],
            "paired_ratio_vs_timm_eager": paired_ratio(timings["timm eager"], t),
        }
        for k, t in timings.items()
    }


# -- import cost -------------------------------------------------------------------------------


def import_cost(repeats: int) -> dict[str, dict]:
    statements = {"torch": "import torch", "resnet_zoo": "import resnet_zoo", "timm": "import timm"}
    samples: dict[str, list[float]] = {k: [] for k in statements}
    env = dict(os.environ, PYTHONPATH=str(REPO))
    for _ in range(repeats):
        for name, stmt in statements.items():
            code = f"import time; s = time.perf_counter(); {stmt}; print(time.perf_counter() - s)"
            done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
            samples[name].append(float(done.stdout.strip()))
    return {k: asdict(Timing.of(v)) for k, v in samples.items()}


# -- GPU ---------------------------------------------------------------------------------------


def gpu_throughput(arch: str, batch: int, repeats: int) -> dict[str, dict]:
    """bf16 channels_last images/s on CUDA (only when a GPU is present)."""
    models = _models(arch)
    x = torch.randn(batch, 3, 224, 224, device="cuda").contiguous(memory_format=torch.channels_last)
    out = {}
    for name, m in models.items():
        m = m.cuda().to(memory_format=torch.channels_last)

        def run(m: torch.nn.Module = m) -> None:
            with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16):
                m(x)
            torch.cuda.synchronize()

        t = interleaved({name: run}, repeats, warmup=3)[name]
        out[name] = {"images_per_s": batch / t.median, "spread": t.spread}
    out["device"] = {"name": torch.cuda.get_device_name()}
    return out


def machine() -> dict[str, str]:
    import platform

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "torch_threads": str(torch.get_num_threads()),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else "none",
    }
