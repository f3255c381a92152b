"""Train, measure and bundle the zoo's own weight: ``cifar_resnet20.digits``.

    python scripts/make_digits_weight.py            # ~2 minutes on 2 CPU cores

Trains ``cifar_resnet20`` (in_chans=1, 10 classes, 8x8 digits upsampled to 32x32) on scikit-learn's
digits with ``resnet-zoo finetune`` (recipe below, seed 0), keeps the last epoch's weights (no
selection on the held-out set), measures held-out accuracy through the public API and the
weight's own transform, copies the file into the package and records its manifest entry.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import torch

import resnet_zoo
from resnet_zoo.tools.publish import record_in_manifest
from resnet_zoo.train.datasets import load_digits_split
from resnet_zoo.train.finetune import DIGITS_PREPROCESSING, FinetuneConfig, run
from resnet_zoo.weights.cache import sha256_file
from resnet_zoo.weights.manifest import Origin, ReportedAccuracy
from resnet_zoo.weights.manifest import Weights as WeightSpec
from resnet_zoo.weights.transforms import eval_transform

TAG = "cifar_resnet20.digits"
BUNDLED = "data/cifar_resnet20.digits.safetensors"
RECIPE = dict(
    model="cifar_resnet20",
    data="digits",
    epochs=25,
    lr=5e-3,
    batch_size=32,
    warmup_epochs=1.0,
    weight_decay=0.05,
    label_smoothing=0.1,
    seed=0,
)
COMMAND = (
    "resnet-zoo finetune cifar_resnet20 --data digits --epochs 25 --lr 5e-3 --batch-size 32 "
    "--warmup-epochs 1 --weight-decay 0.05 --label-smoothing 0.1 --seed 0 (last epoch kept)"
)


def held_out_accuracy(model: torch.nn.Module, transform) -> tuple[float, float]:
    _, _, images, labels = load_digits_split()
    with torch.no_grad():
        logits = model.eval()(torch.stack([transform(img) for img in images]))
    y = torch.tensor(labels)
    top1 = (logits.argmax(1) == y).float().mean().item()
    top5 = (logits.topk(5, dim=1).indices == y[:, None]).any(1).float().mean().item()
    return top1, top5


def main() -> None:
    torch.set_num_threads(max(1, torch.get_num_threads()))
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        run(FinetuneConfig(out=tmp, progress=False, **RECIPE))
        trained = Path(tmp) / "last" / "model.safetensors"
        target = REPO / "resnet_zoo" / BUNDLED
        shutil.copyfile(trained, target)
    minutes = (time.perf_counter() - started) / 60
    model = resnet_zoo.create_model("cifar_resnet20", pretrained=str(target))
    top1, top5 = held_out_accuracy(model, eval_transform(DIGITS_PREPROCESSING))
    spec = WeightSpec(
        name=TAG,
        arch="cifar_resnet20",
        tag="digits",
        default=True,
        num_classes=10,
        label_set="digits",
        preprocessing=DIGITS_PREPROCESSING,
        license="apache-2.0",
        source="bundled",
        paper=(resnet_zoo.get_spec("cifar_resnet20").paper,),
        source_url="https://scikit-learn.org/stable/datasets/toy_dataset.html#digits-dataset",
        reported=(
            ReportedAccuracy(
                img_size=32,
                top1=round(100 * top1, 3),
                top5=round(100 * top5, 3),
                crop_pct=1.0,
                interpolation="bilinear",
                citation="measured by scripts/make_digits_weight.py on the 450 held-out digits "
                "(train_test_split(test_size=0.25, random_state=0, stratify=y))",
            ),
        ),
        origin=Origin(library="resnet_zoo", library_version=resnet_zoo.__version__, format="resnet_zoo"),
        bundled_file=BUNDLED,
        bundled_sha256=sha256_file(target),
        recipe=f"{COMMAND}; scripts/make_digits_weight.py; {minutes:.1f} min on {torch.get_num_threads()} CPU threads",
        notes="Trained by resnet_zoo on scikit-learn's load_digits (1,797 real 8x8 handwritten digits).",
    )
    record_in_manifest(REPO / "weights_manifest.json", spec)
    # the public road: tag -> manifest -> bundled file -> verified -> loaded, with the weight's transform
    public = resnet_zoo.create_model(TAG, pretrained=True)
    again, _ = held_out_accuracy(public, resnet_zoo.get_weights(TAG).transforms())
    assert again == top1, (again, top1)
    print(
        f"{TAG}: held-out top-1 {top1:.4f}, top-5 {top5:.4f}; {target.stat().st_size / 1e6:.2f} MB; "
        f"trained in {minutes:.1f} min; sha256 {spec.bundled_sha256}"
    )


if __name__ == "__main__":
    main()
