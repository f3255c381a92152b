"""``python -m benchmarks.run [--quick] [--names ...] [--json OUT] [--markdown OUT] [--plot OUT]``

One process run measures resnet_zoo beside timm and torchvision on this machine: time to first
logits from a warm cache, peak RSS of that load, eager throughput, optimize_for_inference, import
cost, and (when a GPU is present) bf16 throughput. Figures are medians of repeats; ratios are
ours / theirs (higher is better for throughput, lower for time and memory).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

from . import measure, precision, sources
from .report import markdown, plot, terminal_table

FULL = dict(
    load_archs=["resnet50"],
    throughput_archs=["resnet18", "resnet50", "seresnet50"],
    batches=[1, 8],
    repeats=7,
    rss_repeats=3,
    import_repeats=7,
    compile=True,
    opt_archs=["resnet50"],
    precision_archs=["resnet18", "resnet50", "resnet101"],
)
QUICK = dict(
    load_archs=["resnet10t"],
    throughput_archs=["resnet10t"],
    batches=[1],
    repeats=2,
    rss_repeats=1,
    import_repeats=2,
    compile=False,
    opt_archs=["resnet10t"],
    precision_archs=["resnet10t"],
)


def run(settings: dict, workdir: Path, log=print) -> dict:
    results: dict = {
        "machine": {**measure.machine(), "cpu_flags": precision.cpu_flags()},
        "settings": {k: v for k, v in settings.items()},
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    r = settings["repeats"]
    results["time_to_first_logits"] = {}
    results["peak_rss"] = {}
    for arch in settings["load_archs"]:
        log(f"time to first logits: {arch}")
        results["time_to_first_logits"][arch] = measure.time_to_first_logits(arch, workdir, max(r, 3))
        log(f"time to first logits by source: {arch}")
        results.setdefault("ttfl_by_source", {})[arch] = sources.time_to_first_logits_by_source(
            arch, workdir, max(r, 3)
        )
        log(f"peak RSS of the load: {arch}")
        results["peak_rss"][arch] = measure.peak_rss(arch, workdir, settings["rss_repeats"])
    results["throughput"] = {}
    for arch in settings["throughput_archs"]:
        for batch in settings["batches"]:
            for channels_last in (False, True):
                key = f"{arch} b{batch} {'channels_last' if channels_last else 'NCHW'}"
                log(f"eager throughput: {key}")
                results["throughput"][key] = measure.throughput(arch, batch, channels_last, r)
    results["optimized"] = {}
    for arch in settings["opt_archs"]:
        batch = max(settings["batches"])
        log(f"optimize_for_inference: {arch} b{batch}")
        results["optimized"][f"{arch} b{batch}"] = measure.optimized_throughput(arch, batch, r, settings["compile"])
    results["precision"] = {}
    for arch in settings["precision_archs"]:
        for batch in settings["batches"]:
            log(f"fp32 / bf16 / int8: {arch} b{batch}")
            results["precision"][f"{arch} b{batch}"] = precision.precision_throughput(
                arch, batch, r, settings["compile"]
            )
    log("digits accuracy per precision")
    results["digits_accuracy"] = precision.digits_accuracy(settings["compile"])
    log("import cost")
    results["import"] = measure.import_cost(settings["import_repeats"])
    if torch.cuda.is_available():
        log("GPU bf16 channels_last throughput")
        results["gpu"] = {arch: measure.gpu_throughput(arch, 256, r) for arch in settings["throughput_archs"]}
    else:
        results["gpu"] = {"skipped": "no GPU on this machine"}
    results["targets"] = targets(results)
    return results


def targets(results: dict) -> dict[str, dict]:
    """The issue's targets as measured ratios."""
    out: dict[str, dict] = {}
    for arch, t in results["time_to_first_logits"].items():
        ours, timm = t["resnet_zoo"]["median"], t["timm"]["median"]
        load = t["resnet_zoo (load only)"]["median"]
        floor = t["load_file floor"]["median"]
        out[f"{arch} time to first logits / timm"] = {"ratio": ours / timm, "target": "<= 0.15"}
        out[f"{arch} load / load_file floor"] = {"ratio": load / floor, "target": "<= 3"}
    for arch, rows in results.get("ttfl_by_source", {}).items():
        for source, row in rows.items():
            if not source.startswith("floor"):
                out[f"{arch} time to first logits, {source} / floor"] = {"ratio": row["x_floor"], "target": "<= 1.25"}
    for arch, m in results["peak_rss"].items():
        out[f"{arch} peak RSS / file size"] = {
            "ratio": m["resnet_zoo"]["x_file_size"],
            "target": "<= 1.15 (load + first forward)",
            "timm": m["timm"]["x_file_size"],
        }
    paired = {k: v["resnet_zoo"]["paired_ratio_vs_timm"] for k, v in results["throughput"].items()}
    if paired:
        worst = min(paired, key=paired.get)
        out["eager throughput / timm, paired (worst case)"] = {
            "ratio": paired[worst],
            "target": ">= 0.98",
            "case": worst,
        }
        out["eager throughput / timm, paired (median over cases)"] = {
            "ratio": statistics.median(paired.values()),
            "target": ">= 0.98",
        }
    for key, v in results["optimized"].items():
        out[f"{key} optimize_for_inference / timm eager, paired"] = {
            "ratio": v["resnet_zoo optimize_for_inference"]["paired_ratio_vs_timm_eager"],
            "target": ">= 1.25",
        }
        if "resnet_zoo optimize_for_inference(compile=True)" in v:
            out[f"{key} optimize_for_inference(compile=True) / timm + torch.compile"] = {
                "ratio": v["resnet_zoo optimize_for_inference(compile=True)"]["images_per_s"]
                / v["timm + torch.compile"]["images_per_s"],
                "target": "(same compile on both)",
            }
    amx = results["machine"].get("cpu_flags", {}).get("amx_tile", False)
    for key, rows in results.get("precision", {}).items():
        for prec, target in (
            ("bf16", ">= 6" if amx else "(no AMX here: reported)"),
            ("int8", ">= 8" if amx else "(no AMX here: reported)"),
        ):
            out[f"{key} {prec} / timm fp32 eager, paired"] = {
                "ratio": rows[f"resnet_zoo {prec} optimised"]["paired_ratio_vs_timm_eager"],
                "target": target,
            }
    digits = results.get("digits_accuracy", {})
    if digits:
        fp32 = digits["fp32 eager"]["top1"]
        for prec, allowed in (("bf16", 0.003), ("int8", 0.005)):
            out[f"digits top-1 drop, {prec} (points)"] = {
                "ratio": 100 * (fp32 - digits[prec]["top1"]),
                "target": f"<= {100 * allowed:g}",
            }
    imp = results["import"]
    out["import resnet_zoo - import torch (ms)"] = {
        "ratio": (imp["resnet_zoo"]["median"] - imp["torch"]["median"]) * 1000,
        "target": "<= 100",
    }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a tiny arch, few repeats: a smoke run (CI)")
    parser.add_argument("--names", nargs="+", help="architectures for the throughput rows")
    parser.add_argument("--json", dest="json_out", help="write the results as JSON")
    parser.add_argument("--markdown", help="write the Markdown table")
    parser.add_argument("--plot", help="write the PNG plot")
    parser.add_argument("--workdir", help="where the benchmark weight files live (default: a temp dir)")
    parser.add_argument("--render", metavar="JSON", help="measure nothing: redo the tables and plot of a saved run")
    args = parser.parse_args(argv)
    if args.render:
        results = json.loads(Path(args.render).read_text())
        print(terminal_table(results))
        if args.markdown:
            Path(args.markdown).write_text(markdown(results))
        if args.plot:
            plot(results, args.plot)
        return 0
    settings = dict(QUICK if args.quick else FULL)
    if args.names:
        settings["throughput_archs"] = args.names
    log = lambda msg: print(f"[bench] {msg}", file=sys.stderr, flush=True)  # noqa: E731
    with tempfile.TemporaryDirectory(prefix="resnet-zoo-bench-") as tmp:
        results = run(settings, Path(args.workdir or tmp), log)
    print(terminal_table(results))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(results, indent=1) + "\n")
    if args.markdown:
        Path(args.markdown).write_text(markdown(results))
    if args.plot:
        plot(results, args.plot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
