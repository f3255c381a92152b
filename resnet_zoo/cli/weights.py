"""``weights``, ``download``, ``verify-cache``, ``manifest sync``: the weights the manifest pins."""

import argparse
import json
from pathlib import Path
from typing import Any

from ..errors import ResNetZooError
from ..factory import keys_of
from ..tools.manifest_sync import sync, write_imagenet_labels
from ..tools.publish import select_tags
from ..tools.tables import text_table
from ..weights.audit import accept, verify_cache
from ..weights.availability import load_source
from ..weights.fetch import fetch_weights, local_manifest, weight_entry
from ..weights.load import read_checked
from ..weights.localhub import hub_dir_from_env
from ..weights.manifest import list_pretrained, load_manifest, manifest_text, write_manifest
from .common import add_command, no_match


def cmd_weights(args: argparse.Namespace) -> int:
    hub_dir = hub_dir_from_env(args.hub_dir)
    overlay = local_manifest(hub_dir)
    entries = load_manifest(overlay)
    names = list_pretrained(args.filter or "", manifest=overlay)
    if not names:
        raise no_match(
            args.filter, sorted({*entries, *(w.arch for w in entries.values())}), "weight", "resnet-zoo weights"
        )
    if args.json:
        print(json.dumps(names))
        return 0
    rows = []
    for name in names:
        w = entries[name]
        top1 = max(w.reported, key=lambda r: r.top1) if w.reported else None
        rows.append(
            [
                name,
                "*" if w.default else "",
                w.license,
                "x".join(map(str, w.preprocessing.input_size[1:])),
                f"{top1.top1:.2f}@{top1.img_size}" if top1 else "-",
                load_source(w, hub_dir),
                "SYNTHETIC" if w.synthetic else "",
                "full" if w.hub.published or w.storage == "bundled" else "first use",
            ]
        )
    print(
        text_table(rows, ["weight", "default", "license", "input", "top-1 (timm)", "loads from", "numbers", "pinned"])
    )
    synthetic = [r[0] for r in rows if r[6]]
    if synthetic:
        print(f"\n{len(synthetic)} SYNTHETIC weight(s): seeded random numbers standing in for trained weights")
    print(
        "\nloads from: where create_model(..., pretrained=True) would read it now: bundled (inside the package), "
        "local hub (--hub-dir / $RESNET_ZOO_HUB_DIR), cached (downloaded before), needs network"
    )
    return 0


def cmd_download(args: argparse.Namespace) -> int:
    hub_dir = hub_dir_from_env(args.hub_dir)
    for name in select_tags(args.tags):
        weight = weight_entry(name, hub_dir)
        found = fetch_weights(weight, hub_dir, verify=True)
        read_checked(found, keys_of(weight.arch))  # content checks, and the pin of first use
        print(f"{name}: {found.path} ({found.source}{', SYNTHETIC' if weight.synthetic else ''})")
    return 0


def cmd_verify_cache(args: argparse.Namespace) -> int:
    for tag in args.accept or []:
        forgotten = accept(tag, args.hub_dir)
        print(f"{tag}: accepted; forgot the pins of first use of {', '.join(forgotten) or 'nothing (none recorded)'}")
    if args.accept:
        return 0
    checks = verify_cache(args.hub_dir)
    for c in checks:
        print(f"{'ok ' if c.ok else 'BAD'} {c.name}: {c.path} ({c.detail})")
    bad = [c for c in checks if not c.ok]
    print(
        f"{len(checks)} file(s) checked, {len(bad)} bad"
        + (" (quarantined: the next load fetches them again)" if bad else "")
    )
    return 1 if bad else 0


def cmd_manifest_sync(args: argparse.Namespace) -> int:
    manifest_path, results = Path(args.manifest), Path(args.results)
    if not results.is_file():
        raise ResNetZooError(
            f"manifest sync reads timm's results table {str(results)!r}, which is not there; run it "
            "from a checkout of resnet_zoo (its data/ folder has the table), or pass --results"
        )
    entries = sync(manifest_path, results)
    if args.check:
        same = manifest_path.exists() and manifest_path.read_text() == manifest_text(entries)
        print(
            f"{manifest_path}: {'up to date' if same else 'OUT OF DATE: run resnet-zoo manifest sync'}"
            f" ({len(entries)} weights)"
        )
        return 0 if same else 1
    write_manifest(manifest_path, entries)
    labels = manifest_path.parent / "resnet_zoo" / "data"
    if labels.is_dir():  # a checkout: regenerate its label list beside the manifest, never the installed copy
        write_imagenet_labels(labels / "imagenet-1k.txt")
    defaults = sum(e.default for e in entries)
    print(f"wrote {manifest_path}: {len(entries)} weights, {defaults} architectures with a default weight")
    return 0


def add_parsers(sub: Any) -> None:
    p = add_command(
        sub,
        "weights",
        "list pretrained weights (arch.tag)",
        "  resnet-zoo weights resnet50\n  resnet-zoo weights '*_in1k' --json",
    )
    p.add_argument("filter", nargs="?", help="wildcard or arch, e.g. 'resnet50' or '*_in1k'")
    p.add_argument("--json", action="store_true", help="names only, as JSON")
    p.add_argument("--hub-dir", help="a local hub directory whose manifest to show too (default $RESNET_ZOO_HUB_DIR)")
    p.set_defaults(func=cmd_weights)

    p = add_command(
        sub,
        "download",
        "pre-fetch and verify weights into the cache (for offline use)",
        "  resnet-zoo download resnet50.a1_in1k resnet18",
    )
    p.add_argument("tags", nargs="+", help="weight tags, architectures (their default weight) or wildcards")
    p.add_argument("--hub-dir", help="a local hub directory to read from")
    p.set_defaults(func=cmd_download)

    p = add_command(
        sub,
        "verify-cache",
        "rehash every cached weight file against its pinned sha256",
        "  resnet-zoo verify-cache --hub-dir local_hub",
    )
    p.add_argument("--hub-dir", help="a local hub directory to check too")
    p.add_argument(
        "--accept",
        nargs="+",
        metavar="TAG",
        help="accept changed origin files of these weights: forget their pins of first use (the next load re-pins)",
    )
    p.set_defaults(func=cmd_verify_cache)

    p = add_command(
        sub,
        "manifest",
        "maintain weights_manifest.json (from a checkout)",
        "  resnet-zoo manifest sync --check",
    )
    msub = p.add_subparsers(dest="manifest_command", required=True, metavar="SUBCOMMAND")
    m = add_command(
        msub,
        "sync",
        "regenerate from the installed timm and timm's published results",
        "  resnet-zoo manifest sync --check",
    )
    m.add_argument("--manifest", default="weights_manifest.json", help="the manifest file to write")
    m.add_argument("--results", default="data/timm-results-imagenet-resnet.csv", help="timm's results table")
    m.add_argument("--check", action="store_true", help="exit 1 if the file differs from a fresh sync")
    m.set_defaults(func=cmd_manifest_sync)
