"""``list``, ``info``, ``check``: the architectures of the registry."""

import argparse
import json
import sys
import time
from typing import Any

from ..tools.parity import RTOL, check_parity, has_reference
from ..tools.tables import text_table, variants_markdown
from ..zoo import get_spec, list_models, model_info
from .common import add_command, no_match


def cmd_list(args: argparse.Namespace) -> int:
    names = list_models(args.filter or "", exclude=args.exclude or "")
    if not names:
        raise no_match(args.filter or "", list_models(), "architecture", "resnet-zoo list")
    if args.json:
        print(json.dumps(names))
        return 0
    if args.markdown:
        print(variants_markdown(names))
        return 0
    rows = []
    for name in names:
        info = model_info(name)
        rows.append(
            [
                name,
                f"{info.params / 1e6:.2f}",
                f"{info.gmacs:.2f}",
                "x".join(map(str, info.input_size[1:])),
                info.timm_name or "-",
                info.torchvision_name or "-",
            ]
        )
    print(text_table(rows, ["name", "params (M)", "GMACs", "input", "timm", "torchvision"]))
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    info = model_info(args.name)
    out = {
        "name": info.name,
        "family": info.family,
        "summary": info.summary,
        "paper": info.paper,
        "params": info.params,
        "gmacs": round(info.gmacs, 4),
        "gflops": round(info.gflops, 4),
        "input_size": list(info.input_size),
        "feature_info": list(info.feature_info),
        "timm": info.timm_name,
        "torchvision": info.torchvision_name,
    }
    print(json.dumps(out, indent=2))
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    for name in args.names or []:
        get_spec(name)  # an unknown name is an error with close matches, not a skipped row
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
        print(
            row(
                name,
                f"{r.params / 1e6:.2f}",
                f"{r.gmacs:.2f}",
                f"{r.max_abs_diff_eval:.2e}",
                f"{r.max_abs_diff_train:.2e}",
                f"{r.reference_scale:.2e}",
                "ok" if r.ok else "MISMATCH",
                f"{time.perf_counter() - start:.1f}s",
            ),
            flush=True,
        )
    print(
        f"\n{len(names) - len(failures)}/{len(names)} match {args.reference} "
        f"(tolerance {RTOL:g} x max|ref|; worst relative |d| {worst:.2e})"
    )
    if failures:
        print(f"MISMATCH: {', '.join(failures)}", file=sys.stderr)
        return 1
    return 0


def add_parsers(sub: Any) -> None:
    p = add_command(
        sub,
        "list",
        "list registered architectures with params and GMACs",
        "  resnet-zoo list 'seresnext*'\n  resnet-zoo list --markdown",
    )
    p.add_argument("filter", nargs="?", help="shell-style wildcard, e.g. 'resnet5*'")
    p.add_argument("--exclude", help="wildcard of names to leave out")
    p.add_argument("--json", action="store_true", help="names only, as JSON")
    p.add_argument("--markdown", action="store_true", help="the README's Markdown table")
    p.set_defaults(func=cmd_list)

    p = add_command(sub, "info", "params, GMACs, feature channels of one architecture", "  resnet-zoo info resnet50")
    p.add_argument("name", help="a registered architecture")
    p.set_defaults(func=cmd_info)

    p = add_command(
        sub,
        "check",
        "output parity of every variant against timm or torchvision",
        "  resnet-zoo check --reference torchvision\n  resnet-zoo check --names resnet50d",
    )
    p.add_argument("--reference", choices=("timm", "torchvision"), default="timm", help="the implementation to match")
    p.add_argument("--names", nargs="+", metavar="NAME", help="only these architectures")
    p.add_argument("--seed", type=int, default=0, help="seed of the random weights and input")
    p.set_defaults(func=cmd_check)
