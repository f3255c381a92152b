"""The runtime road with nothing but torch, safetensors, huggingface_hub and requests.

Loads the bundled digits weight and classifies digit images (Pillow decodes them when it is
there; without it the check reads the raw 8-bit pixels written beside them), loads a weight from
a local hub directory, and builds every torch.hub entrypoint from a plain copy of the repository.
Run by the test suite under an import system that refuses the optional packages, and by
``.ci/run`` in a venv that holds only the wheel and its runtime dependencies.

    python scripts/lean_runtime_check.py --digits DIR --hub-dir DIR --hub-tag TAG --repo DIR
"""

import argparse
import json
import sys
from pathlib import Path

import torch

# what torch itself imports is torch's business (torch.hub takes tqdm when it is installed)
LOADED_BY_TORCH = frozenset(m.split(".")[0] for m in sys.modules)
OPTIONAL = (
    "numpy",
    "PIL",
    "timm",
    "torchvision",
    "keras",
    "transformers",
    "onnx",
    "onnxruntime",
    "sklearn",
    "matplotlib",
    "tqdm",
    "h5py",
    "torchao",
)


def digit_tensors(folder: Path) -> tuple[torch.Tensor, list[int]]:
    """The exported digits (``<label>/<n>.raw``: 32x32 8-bit gray) as a normalised batch, without Pillow."""
    import resnet_zoo

    weight = resnet_zoo.get_weights("cifar_resnet20.digits")
    mean, std = weight.preprocessing.mean[0], weight.preprocessing.std[0]
    xs, labels = [], []
    for raw in sorted(folder.glob("*/*.raw")):
        pixels = torch.frombuffer(bytearray(raw.read_bytes()), dtype=torch.uint8).float().div(255)
        xs.append(((pixels.view(1, 32, 32)) - mean) / std)
        labels.append(int(raw.parent.name))
    return torch.stack(xs), labels


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--digits", required=True, type=Path, help="exported digits (<label>/<n>.raw)")
    parser.add_argument("--hub-dir", required=True, help="a local hub directory holding --hub-tag")
    parser.add_argument("--hub-tag", required=True)
    parser.add_argument("--repo", required=True, help="a plain copy of the repository (hubconf.py)")
    parser.add_argument("--with-pil", action="store_true", help="also run the weight's transform on the PNGs")
    args = parser.parse_args()
    import resnet_zoo

    model = resnet_zoo.create_model("cifar_resnet20.digits", pretrained=True).eval()
    x, labels = digit_tensors(args.digits)
    with torch.no_grad():
        predicted = model(x).argmax(1).tolist()
    correct = sum(p == y for p, y in zip(predicted, labels))
    pil_equal = None
    if args.with_pil:  # the weight's own transform on PIL images gives the same batch
        from PIL import Image

        transform = resnet_zoo.get_weights("cifar_resnet20.digits").transforms()
        pngs = sorted(args.digits.glob("*/*.png"))
        pil_equal = torch.allclose(torch.stack([transform(Image.open(p)) for p in pngs]), x, atol=1e-6)
    hub_model = resnet_zoo.create_model(args.hub_tag, pretrained=True, hub_dir=args.hub_dir)
    allowed = ({"PIL"} if args.with_pil else set()) | LOADED_BY_TORCH
    # measured before torch.hub runs: torch.hub imports tqdm itself for its progress bars when it is installed
    loaded_optional = sorted(m for m in OPTIONAL if m in sys.modules and m not in allowed)
    hub_entry = torch.hub.load(args.repo, "cifar_resnet20", source="local", trust_repo=True, pretrained=True)
    with torch.no_grad():
        same = torch.equal(hub_entry.eval()(x), model(x))
    # every entrypoint builds (on "meta": architecture only, no memory); torch.hub.list needs GitHub
    entrypoints = resnet_zoo.list_models()
    with torch.device("meta"):
        built = [torch.hub.load(args.repo, name, source="local", trust_repo=True) for name in entrypoints]
    entrypoints = [n for n, m in zip(entrypoints, built) if isinstance(m, resnet_zoo.ResNetBase)]
    report = {
        "digits": len(labels),
        "correct": correct,
        "hub_tag": hub_model.weights.name,
        "torch_hub_equal": same,
        "pil_transform_equal": pil_equal,
        "entrypoints": len(entrypoints),
        "optional_loaded": loaded_optional,
        "torch": torch.__version__,
    }
    print(json.dumps(report))
    ok = labels and correct >= len(labels) - 1 and same and not loaded_optional and len(entrypoints) > 60
    ok = ok and pil_equal is not False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
