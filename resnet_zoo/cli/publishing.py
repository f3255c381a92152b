"""``convert``, ``publish``, ``build-hub``: origin weights -> checked safetensors -> a hub."""

import argparse
from typing import Any

from ..factory import create_model, load_reference
from ..hub_io import push_to_hub
from ..tools.buildhub import build_hub
from ..tools.convert import DEFAULT_SOURCE, SOURCES, convert
from ..tools.publish import publish
from .common import add_command

SOURCE_HELP = (
    "where the numbers come from: 'origin', the origin's published file (needs network or a "
    "cache), or 'synthetic', seeded random weights (offline stand-ins, marked as such)"
)


def cmd_convert(args: argparse.Namespace) -> int:
    result = convert(args.tag, args.out, source=args.source, seed=args.seed, force=args.force)
    print(
        f"{result.spec.name}: wrote {result.out_dir} ({result.size / 2**20:.1f} MiB, sha256 {result.sha256}); "
        f"parity max |d| {result.parity.max_abs_diff:.2e}, top-5 agreement {result.parity.top5_agreement}"
    )
    return 0


def cmd_publish(args: argparse.Namespace) -> int:
    weight = publish(
        args.dir, repo_id=args.repo_id, to=args.to, manifest_path=args.manifest, allow_synthetic=args.allow_synthetic
    )
    where = f"local hub {args.to}" if args.to else "the Hugging Face Hub"
    print(
        f"published {weight.name} to {where} as {weight.hub.repo_id}@{weight.hub.revision} "
        f"(sha256 {weight.hub.sha256}, {weight.hub.size} bytes)"
        + (" - SYNTHETIC weights (random numbers)" if weight.synthetic else "")
    )
    return 0


def cmd_push(args: argparse.Namespace) -> int:
    if args.model:  # a bare weight file of the user's: the arch comes from --model
        model = create_model(args.model, pretrained=args.source)
    else:
        model, _ = load_reference(args.source, arch_default_weight=True)
    commit = push_to_hub(model, args.repo_id, private=args.private or None, commit_message=args.message)
    print(f"pushed {args.source} to {args.repo_id}@{commit}: model.safetensors, config.json (timm's layout), README.md")
    return 0


def cmd_build_hub(args: argparse.Namespace) -> int:
    from ..tools.tables import text_table

    rows = build_hub(args.to, args.names, source=args.source, seed=args.seed)
    print(
        text_table(
            [
                [
                    r.name,
                    f"{r.size_mb:.1f}",
                    r.revision[:12],
                    f"{r.max_abs_diff:.2e}",
                    f"{r.loaded_diff:.2e}",
                    "-" if r.hub_diff is None else f"{r.hub_diff:.2e}",
                ]
                for r in rows
            ],
            ["weight", "MiB", "revision", "convert max|d|", "create_model max|d|", "torch.hub max|d|"],
        )
    )
    print(
        f"\n{len(rows)} weights converted, published to {args.to}, loaded back and matching their reference "
        "(timm for timm weights)"
    )
    if args.source == "synthetic":
        print(
            "These weights are SYNTHETIC: seeded random numbers standing in for the trained weights (no network); "
            "they are marked so in their manifest entries, files, config.json and model cards"
        )
    return 0


def add_parsers(sub: Any) -> None:
    p = add_command(
        sub,
        "convert",
        "origin weights -> model.safetensors + config.json + model card, parity-checked",
        "  resnet-zoo convert resnet50.a1_in1k --out out/\n"
        "  resnet-zoo convert resnet50.a1_in1k --out out/ --source synthetic",
    )
    p.add_argument("tag", help="a weight tag (arch.tag) or an architecture (its default weight)")
    p.add_argument("--out", required=True, help="the folder to write (new or empty, unless --force)")
    p.add_argument("--force", action="store_true", help="overwrite the files of a non-empty --out folder")
    p.add_argument("--source", choices=SOURCES, default=DEFAULT_SOURCE, help=SOURCE_HELP)
    p.add_argument("--seed", type=int, default=0, help="seed of synthetic weights")
    p.set_defaults(func=cmd_convert)

    p = add_command(
        sub,
        "publish",
        "publish a converted folder and pin it in a manifest",
        "  resnet-zoo publish out/ --to local_hub/\n  resnet-zoo publish out/ --repo-id my-org/resnet50.a1_in1k",
    )
    p.add_argument("dir", help="a folder written by 'resnet-zoo convert'")
    p.add_argument("--repo-id", help="ORG/NAME on the Hub (default resnet-zoo/<tag>)")
    p.add_argument("--to", help="a local hub directory instead of the Hugging Face Hub")
    p.add_argument(
        "--manifest",
        help="the manifest to record into (default: the hub directory's, or ./weights_manifest.json for the Hub)",
    )
    p.add_argument(
        "--allow-synthetic",
        action="store_true",
        help="upload SYNTHETIC weights (random numbers) to the Hub anyway; refused without it",
    )
    p.set_defaults(func=cmd_publish)

    p = add_command(
        sub,
        "push",
        "push a model (finetune output, repo, tag or weight file) to the Hub in timm's layout",
        "  resnet-zoo push runs/digits/best --repo-id me/digits-resnet20\n"
        "  resnet-zoo push my.safetensors --model resnet50 --repo-id me/resnet50-mine",
    )
    p.add_argument("source", help="a finetune output folder, local-dir:/hf-hub: repo, weight tag, or a weight file")
    p.add_argument("--repo-id", required=True, help="ORG/NAME on the Hub")
    p.add_argument("--model", help="the architecture of a bare weight file (a folder names its own)")
    p.add_argument("--private", action="store_true", help="create the repo private")
    p.add_argument("--message", help="the commit message")
    p.set_defaults(func=cmd_push)

    p = add_command(
        sub,
        "build-hub",
        "convert, check and publish many weights into a local hub, then load them back",
        "  resnet-zoo build-hub --to local_hub --source synthetic --names resnet18 'resnet50.*'",
    )
    p.add_argument("--to", required=True, help="the local hub directory")
    p.add_argument("--names", nargs="+", metavar="PATTERN", help="weights (arch = its default, or wildcards)")
    p.add_argument("--source", choices=SOURCES, default=DEFAULT_SOURCE, help=SOURCE_HELP)
    p.add_argument("--seed", type=int, default=0, help="seed of synthetic weights")
    p.set_defaults(func=cmd_build_hub)
