"""fp32 eager / fp32 optimised / bf16 / int8 against timm's fp32 eager, and what each keeps of the
digits weight's held-out accuracy. Build (fold + quantise + compile) seconds are reported per row."""

import time
import warnings
from pathlib import Path

import torch
import torch.nn.functional as F

from .measure import _models, forward_of, interleaved, paired_ratio

CPU_FLAGS = ("amx_bf16", "amx_int8", "amx_tile", "avx512_bf16", "avx512_vnni", "avx512f", "avx2")


def cpu_flags() -> dict[str, bool]:
    """The matrix-unit flags that decide which precisions are fast here (from /proc/cpuinfo)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
        flags = set(next(line for line in text.splitlines() if line.startswith("flags")).split(":", 1)[1].split())
    except (OSError, StopIteration):
        flags = set()
    return {f: f in flags for f in CPU_FLAGS}


def _optimised(model: torch.nn.Module, precision: str, batch: int, size: int, compile: bool):
    import resnet_zoo

    gen = torch.Generator().manual_seed(1)
    calibration = [torch.randn(batch, 3, size, size, generator=gen) for _ in range(4)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        fast = resnet_zoo.optimize_for_inference(
            model,
            precision=precision,
            calibration=calibration if precision == "int8" else None,
            compile=compile,
            example_input=calibration[0],
        )
    return fast, time.perf_counter() - start


def precision_throughput(arch: str, batch: int, repeats: int, compile: bool, size: int = 224) -> dict[str, dict]:
    """Images/s of the same (random) weights: timm fp32 eager, ours fp32 eager, optimised fp32, bf16, int8."""
    models = _models(arch)
    ours = models["resnet_zoo"]
    x = torch.randn(batch, 3, size, size)
    fns: dict[str, torch.nn.Module] = {"timm fp32 eager": models["timm"], "resnet_zoo fp32 eager": ours}
    build: dict[str, float] = {}
    for precision in ("fp32", "bf16", "int8"):
        name = f"resnet_zoo {precision} optimised"
        fns[name], build[name] = _optimised(ours, precision, batch, size, compile)
    with torch.no_grad():
        ref = ours(x)
        cosine = {k: F.cosine_similarity(m(x).flatten(1).double(), ref.double()).min().item() for k, m in fns.items()}
    timings = interleaved({k: forward_of(m, x) for k, m in fns.items()}, repeats, warmup=2)
    base = timings["timm fp32 eager"]
    return {
        k: {
            "images_per_s": batch / t.median,
            "spread": t.spread,
            "paired_ratio_vs_timm_eager": paired_ratio(base, t),
            "build_seconds": build.get(k, 0.0),
            "min_cosine_vs_fp32": cosine[k],
            "precision": getattr(fns[k], "precision", "fp32"),
        }
        for k, t in timings.items()
    }


def digits_accuracy(compile: bool) -> dict[str, dict]:
    """cifar_resnet20.digits on its 450 held-out digits in fp32, bf16 and int8 (calibrated on 200
    training digits); top-1 and the build seconds."""
    import resnet_zoo
    from resnet_zoo.train.datasets import load_digits_split

    transform = resnet_zoo.get_weights("cifar_resnet20.digits").transforms()
    train_x, _, test_x, test_y = load_digits_split()
    x = torch.stack([transform(img) for img in test_x])
    y = torch.tensor(test_y)
    calibration = [torch.stack([transform(img) for img in train_x[i : i + 25]]) for i in range(0, 200, 25)]
    model = resnet_zoo.create_model("cifar_resnet20.digits", pretrained=True).eval()
    out: dict[str, dict] = {}
    for precision in ("fp32 eager", "fp32", "bf16", "int8"):
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            runner = (
                model
                if precision == "fp32 eager"
                else resnet_zoo.optimize_for_inference(
                    model,
                    precision=precision,
                    calibration=calibration if precision == "int8" else None,
                    compile=compile,
                )
            )
        built = time.perf_counter() - start
        with torch.no_grad():
            predicted = torch.cat([runner(x[i : i + 64]) for i in range(0, len(x), 64)]).argmax(1)
        out[precision] = {"top1": (predicted == y).float().mean().item(), "build_seconds": built, "images": len(y)}
    return out
