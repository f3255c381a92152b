"""Tables (terminal, Markdown) and a PNG plot of a benchmark run."""

from __future__ import annotations

from typing import Any

IMPLS = ("resnet_zoo", "timm", "torchvision")


def _rows(results: dict[str, Any]) -> list[tuple[str, str, dict[str, float], str]]:
    """(section, case, {implementation: value}, unit) rows."""
    rows = []
    for arch, t in results["time_to_first_logits"].items():
        values = {k: t[k]["median"] * 1000 for k in IMPLS if k in t}
        values["load_file floor"] = t["load_file floor"]["median"] * 1000
        rows.append(("time to first logits (warm cache)", arch, values, "ms"))
    for arch, by_source in results.get("ttfl_by_source", {}).items():
        values = {
            f"resnet_zoo {k}" if not k.startswith("floor") else k: v["median"] * 1000 for k, v in by_source.items()
        }
        rows.append(("time to first logits by source", arch, values, "ms"))
    for arch, m in results["peak_rss"].items():
        rows.append(
            ("peak RSS, load + first forward", arch, {k: m[k]["x_file_size"] for k in IMPLS if k in m}, "x file size")
        )
    for key, v in results["throughput"].items():
        rows.append(("eager throughput, fp32", key, {k: v[k]["images_per_s"] for k in IMPLS if k in v}, "img/s"))
    for key, v in results["optimized"].items():
        rows.append(("optimised inference", key, {k: val["images_per_s"] for k, val in v.items()}, "img/s"))
    for key, v in results.get("precision", {}).items():
        rows.append(("fp32 / bf16 / int8 (CPU)", key, {k: val["images_per_s"] for k, val in v.items()}, "img/s"))
    imp = results["import"]
    rows.append(("import cost", "python -c 'import X'", {k: imp[k]["median"] * 1000 for k in imp}, "ms"))
    gpu = results.get("gpu", {})
    for arch, v in gpu.items():
        if isinstance(v, dict) and "resnet_zoo" in v:
            rows.append(
                (
                    f"GPU bf16 channels_last b256 ({v['device']['name']})",
                    arch,
                    {k: v[k]["images_per_s"] for k in IMPLS if k in v},
                    "img/s",
                )
            )
    return rows


def _ratio(values: dict[str, float], unit: str) -> str:
    ours = next((v for k, v in values.items() if k.startswith("resnet_zoo")), None)
    theirs = values.get("timm") or values.get("timm eager") or values.get("timm fp32 eager")
    if ours is None or not theirs:
        return "-"
    if unit == "img/s":
        best = max(v for k, v in values.items() if k.startswith("resnet_zoo"))
        return f"{best / theirs:.2f}x timm"
    return f"{ours / theirs:.2f}x timm"


def terminal_table(results: dict[str, Any]) -> str:
    lines = [f"machine: {results['machine']}"]
    flags = results["machine"].get("cpu_flags", {})
    if flags:
        lines.append("cpu flags: " + ", ".join(f"{k}={'yes' if v else 'no'}" for k, v in flags.items()))
    for section, case, values, unit in _rows(results):
        cells = ", ".join(f"{k} {v:.3g}" for k, v in values.items())
        lines.append(f"{section:<38} {case:<30} {unit:<12} {cells}  [{_ratio(values, unit)}]")
    lines.append("targets:")
    for name, t in results["targets"].items():
        lines.append(f"  {name:<60} {t['ratio']:.3g}  (target {t['target']})")
    return "\n".join(lines)


def markdown(results: dict[str, Any]) -> str:
    m = results["machine"]
    out = [
        f"Measured {results['started']} on {m['cpu']} ({m['cores']} cores, torch {m['torch']} with "
        f"{m['torch_threads']} threads, GPU: {m['gpu']}; CPU flags: "
        f"{', '.join(k for k, v in m.get('cpu_flags', {}).items() if v) or 'not read'}); "
        f"medians of {results['settings']['repeats']} repeats "
        "after warm-up, implementations interleaved. Command: `python -m benchmarks.run`.",
        "",
        "| measurement | case | unit | resnet_zoo | timm | torchvision | other | ratio |",
        "|---|---|---|---:|---:|---:|---|---:|",
    ]
    for section, case, values, unit in _rows(results):
        ours = next((f"{v:.3g}" for k, v in values.items() if k.startswith("resnet_zoo")), "-")
        timm = next((f"{v:.3g}" for k, v in values.items() if k in ("timm", "timm eager", "timm fp32 eager")), "-")
        tv = f"{values['torchvision']:.3g}" if "torchvision" in values else "-"
        other = "; ".join(
            f"{k} {v:.3g}"
            for k, v in values.items()
            if k
            not in (
                "resnet_zoo",
                "timm",
                "timm eager",
                "timm fp32 eager",
                "torchvision",
                "resnet_zoo optimize_for_inference",
            )
        )
        out.append(
            f"| {section} | {case} | {unit} | {ours} | {timm} | {tv} | {other or '-'} | {_ratio(values, unit)} |"
        )
    digits = results.get("digits_accuracy", {})
    if digits:
        out += ["", "| digits held-out top-1 (450 images) | top-1 | build s |", "|---|---:|---:|"]
        out += [f"| {k} | {v['top1']:.4f} | {v['build_seconds']:.1f} |" for k, v in digits.items()]
    for key, v in results.get("precision", {}).items():
        builds = "; ".join(
            f"{k.split()[1]} {val['build_seconds']:.1f} s" for k, val in v.items() if val["build_seconds"]
        )
        out.append(f"\nBuild (fold + quantise + compile) for {key}: {builds}.")
    out += ["", "| target | measured | target |", "|---|---:|---|"]
    for name, t in results["targets"].items():
        out.append(f"| {name} | {t['ratio']:.3g} | {t['target']} |")
    gpu = results.get("gpu", {})
    if "skipped" in gpu:
        out += ["", f"GPU rows: not measured ({gpu['skipped']})."]
    return "\n".join(out) + "\n"


def plot(results: dict[str, Any], path: str) -> None:
    """Ours vs timm vs torchvision, one panel per measurement, each normalised to timm = 1."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = _rows(results)
    fig, ax = plt.subplots(figsize=(10, 0.42 * len(rows) + 1.6))
    labels, y = [], 0
    colors = {"resnet_zoo": "#1f77b4", "timm": "#ff7f0e", "torchvision": "#2ca02c"}
    for section, case, values, unit in rows:
        theirs = values.get("timm") or values.get("timm eager") or values.get("timm fp32 eager")
        if not theirs:
            continue
        ours = max(v for k, v in values.items() if k.startswith("resnet_zoo"))
        if unit not in ("img/s",):  # lower is better: show theirs / ours so that right is better
            ours = min(v for k, v in values.items() if k.startswith("resnet_zoo"))
        bars = {"resnet_zoo": ours, "timm": theirs}
        if "torchvision" in values:
            bars["torchvision"] = values["torchvision"]
        for i, (impl, v) in enumerate(bars.items()):
            rel = v / theirs if unit == "img/s" else theirs / v
            ax.barh(y + i * 0.27 - 0.27, rel, height=0.26, color=colors[impl], label=impl if y == 0 else None)
        labels.append(f"{section}: {case}")
        y += 1
    ax.set_yticks(range(len(labels)), labels, fontsize=7)
    ax.axvline(1.0, color="grey", lw=0.8, ls="--")
    ax.set_xscale("log")  # memory and load time differ by 10-20x, throughput by a few percent
    ax.set_xlabel("relative to timm, log scale (right is better: throughput, or 1/time and 1/memory)")
    ax.invert_yaxis()
    ax.legend(loc="lower right", fontsize=8)
    m = results["machine"]
    ax.set_title(f"resnet_zoo vs timm vs torchvision on {m['cpu']} ({m['cores']} cores)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
