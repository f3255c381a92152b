"""The ``resnet-zoo`` command (also ``python -m resnet_zoo``)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence

from . import __version__
from .errors import ResNetZooError
from .registry import list_models, model_info


def _table(rows: list[list[str]], headers: list[str]) -> str:
    widths = [max(len(str(c)) for c in col) for col in zip(headers, *rows)]
    line = lambda cells: "  ".join(str(c).ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def _cmd_list(args: argparse.Namespace) -> int:
    names = list_models(args.filter or "", exclude=args.exclude or "")
    if args.json:
        print(json.dumps(names))
        return 0
    if args.markdown:
        print(variants_markdown(names))
        return 0
    rows = []
    for name in names:
        info = model_info(name)
        rows.append([name, f"{info.params / 1e6:.2f}", f"{info.gmacs:.2f}", "x".join(map(str, info.input_size[1:])),
                     info.timm_name or "-", info.torchvision_name or "-"])
    print(_table(rows, ["name", "params (M)", "GMACs", "input", "timm", "torchvision"]))
    return 0


def variants_markdown(names: Sequence[str]) -> str:
    """The README's table of variants, generated from the registry."""
    lines = ["| name | params (M) | GMACs | input | timm | torchvision | what it is |",
             "|---|---:|---:|---|---|---|---|"]
    for name in names:
        info = model_info(name)
        lines.append(f"| `{name}` | {info.params / 1e6:.2f} | {info.gmacs:.2f} | "
                     f"{info.input_size[1]}x{info.input_size[2]} | {info.timm_name or '-'} | "
                     f"{info.torchvision_name or '-'} | {info.summary} |")
    return "\n".join(lines)


def _cmd_info(args: argparse.Namespace) -> int:
    info = model_info(args.name)
    out = {
        "name": info.name, "family": info.family, "summary": info.summary, "paper": info.paper,
        "params": info.params, "gmacs": round(info.gmacs, 4), "gflops": round(info.gflops, 4),
        "input_size": list(info.input_size), "feature_info": list(info.feature_info),
        "timm": info.timm_name, "torchvision": info.torchvision_name,
    }
    print(json.dumps(out, indent=2))
    return 0


def _cmd_check(args: argparse.Namespace) -> int:
    from .parity import RTOL, check_parity, has_reference

    selected = args.names or list_models()
    names = [n for n in selected if has_reference(n, args.reference)]
    skipped = [n for n in selected if n not in names]
    if skipped:
        print(f"skipped (no {args.reference} counterpart): {', '.join(skipped)}")
    if not names:
        print(f"no selected model has a {args.reference} counterpart", file=sys.stderr)
        return 2
    # Rows are printed as they finish (a full sweep takes minutes), so widths are fixed up front.
    row = "{:<22} {:>10} {:>7} {:>12} {:>12} {:>10} {:>8} {:>6}".format
    print(row("name", "params (M)", "GMACs", "max|d| eval", "max|d| train", "max|ref|", "result", "time"))
    failures, worst = [], 0.0
    for name in names:
        start = time.perf_counter()
        r = check_parity(name, args.reference, seed=args.seed)
        worst = max(worst, max(r.max_abs_diff_eval, r.max_abs_diff_train) / max(r.reference_scale, 1e-12))
        if not r.ok:
            failures.append(name)
        print(row(name, f"{r.params / 1e6:.2f}", f"{r.gmacs:.2f}", f"{r.max_abs_diff_eval:.2e}",
                  f"{r.max_abs_diff_train:.2e}", f"{r.reference_scale:.2e}", "ok" if r.ok else "MISMATCH",
                  f"{time.perf_counter() - start:.1f}s"), flush=True)
    print(f"\n{len(names) - len(failures)}/{len(names)} match {args.reference} "
          f"(tolerance {RTOL:g} x max|ref|; worst relative |d| {worst:.2e})")
    if failures:
        print(f"MISMATCH: {', '.join(failures)}", file=sys.stderr)
        return 1
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="resnet-zoo", description=__doc__)
    parser.add_argument("--version", action="version", version=f"resnet-zoo {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("list", help="list registered architectures with params and GMACs")
    p.add_argument("filter", nargs="?", help="shell-style wildcard, e.g. 'resnet5*'")
    p.add_argument("--exclude", help="wildcard of names to leave out")
    p.add_argument("--json", action="store_true", help="names only, as JSON")
    p.add_argument("--markdown", action="store_true", help="the README's Markdown table")
    p.set_defaults(func=_cmd_list)

    p = sub.add_parser("info", help="params, GMACs, feature channels of one architecture")
    p.add_argument("name")
    p.set_defaults(func=_cmd_info)

    p = sub.add_parser("check", help="output parity of every variant against timm or torchvision")
    p.add_argument("--reference", choices=("timm", "torchvision"), default="timm")
    p.add_argument("--names", nargs="+", metavar="NAME", help="only these architectures")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_cmd_check)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ResNetZooError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
