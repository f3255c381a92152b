"""The bundled digits weight, resnet-zoo finetune (one process and torchrun), and predict."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image

import resnet_zoo
from resnet_zoo.cli import main
from resnet_zoo.infer.predict import GRID_CAPTION, GRID_CELL
from resnet_zoo.train.datasets import export_digits, load_digits_split
from resnet_zoo.train.finetune import FinetuneConfig, run
from resnet_zoo.weights.cache import sha256_file

TAG = "cifar_resnet20.digits"


def test_bundled_weight_is_pinned_and_ships_in_the_package():
    spec = resnet_zoo.get_weights(TAG)
    assert spec.storage == "bundled" and spec.default and spec.label_set == "digits"
    path = Path(resnet_zoo.__file__).parent / spec.bundled_file
    assert sha256_file(path) == spec.bundled_sha256
    assert 0.9e6 < path.stat().st_size < 1.3e6
    assert "make_digits_weight.py" in spec.recipe and spec.preprocessing.input_size == (1, 32, 32)
    assert spec.reported[0].top1 >= 97.0


def test_held_out_accuracy_through_the_public_api():
    model = resnet_zoo.create_model("cifar_resnet20", pretrained="digits")
    transform = resnet_zoo.get_weights(TAG).transforms()
    _, _, images, labels = load_digits_split()
    assert len(images) == 450 and images[0].mode == "L" and images[0].size == (8, 8)
    with torch.no_grad():
        predicted = model(torch.stack([transform(img) for img in images])).argmax(1)
    accuracy = (predicted == torch.tensor(labels)).float().mean().item()
    assert accuracy >= 0.97
    assert accuracy * 100 == pytest.approx(resnet_zoo.get_weights(TAG).reported[0].top1, abs=1e-3)


@pytest.fixture(scope="module")
def rotated_digits(tmp_path_factory):
    """A derived task: the digits rotated by 90 degrees, as an ImageFolder with train/ and val/."""
    root = tmp_path_factory.mktemp("rot90")
    export_digits(root / "train", split="train", rotate=90)
    export_digits(root / "val", split="test", rotate=90)
    return root


def test_fine_tuning_from_the_digits_weight_beats_scratch(rotated_digits, tmp_path):
    common = dict(model="cifar_resnet20", data=str(rotated_digits), epochs=1, lr=5e-3, batch_size=32, progress=False)
    tuned = run(FinetuneConfig(out=str(tmp_path / "tuned"), pretrained="digits", **common))
    scratch = run(FinetuneConfig(out=str(tmp_path / "scratch"), **common))
    print(
        f"one epoch on rot90 digits: from cifar_resnet20.digits {tuned['val_acc']:.3f}, "
        f"from scratch {scratch['val_acc']:.3f}"
    )
    assert tuned["val_acc"] > scratch["val_acc"] + 0.1
    # the best checkpoint is loadable as a pretrained file, and carries the class names
    config = json.loads((tmp_path / "tuned" / "best" / "config.json").read_text())
    assert config["class_names"] == [str(d) for d in range(10)] and config["architecture"] == "cifar_resnet20"
    model = resnet_zoo.create_model("cifar_resnet20", pretrained=str(tmp_path / "tuned" / "best" / "model.safetensors"))
    assert model.conv1.in_channels == 1 and model.num_classes == 10
    lines = (tmp_path / "tuned" / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == 1 and {"train_loss", "val_acc", "images_per_s"} <= set(json.loads(lines[0]))


def test_resume_continues_from_the_last_epoch(tmp_path, capsys):
    args = [
        "finetune",
        "cifar_resnet20",
        "--data",
        "digits",
        "--out",
        str(tmp_path),
        "--max-steps",
        "3",
        "--no-progress",
    ]
    assert main([*args, "--epochs", "1"]) == 0
    assert main([*args, "--epochs", "2", "--resume"]) == 0
    epochs = [json.loads(l)["epoch"] for l in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert epochs == [1, 2]
    with pytest.raises(resnet_zoo.IncompatibleCheckpointError, match="holds a 'cifar_resnet20' checkpoint"):
        run(
            FinetuneConfig(
                model="cifar_resnet32",
                data="digits",
                out=str(tmp_path),
                epochs=3,
                resume=True,
                max_steps=1,
                progress=False,
            )
        )


def test_torchrun_two_processes_on_cpu(tmp_path):
    out = tmp_path / "ddp"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node=2",
            "-m",
            "resnet_zoo",
            "finetune",
            "cifar_resnet20",
            "--data",
            "digits",
            "--out",
            str(out),
            "--epochs",
            "1",
            "--max-steps",
            "4",
            "--batch-size",
            "16",
            "--no-progress",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    # the digests are log lines (stderr); the epoch lines are the command's output (stdout), rank 0 only
    digests = dict(re.findall(r"rank (\d) weights sha256 ([0-9a-f]{64})", done.stderr))
    assert set(digests) == {"0", "1"} and digests["0"] == digests["1"]
    assert "world_size=2" in done.stdout
    assert sorted(p.name for p in out.iterdir()) == ["best", "last", "metrics.jsonl"]
    assert len((out / "metrics.jsonl").read_text().splitlines()) == 1  # rank 0 alone writes


def test_finetune_bad_input(tmp_path):
    with pytest.raises(resnet_zoo.InvalidArgumentError, match="does not exist"):
        run(FinetuneConfig(model="resnet18", data=str(tmp_path / "nope"), out=str(tmp_path / "o"), progress=False))
    (tmp_path / "empty").mkdir()
    with pytest.raises(resnet_zoo.InvalidArgumentError, match="holds no readable images"):
        run(FinetuneConfig(model="resnet18", data=str(tmp_path / "empty"), out=str(tmp_path / "o"), progress=False))
    one = tmp_path / "one" / "cats"
    one.mkdir(parents=True)
    for i in range(3):
        Image.new("RGB", (20, 20), (i * 40, 0, 0)).save(one / f"{i}.png")
    with pytest.raises(resnet_zoo.InvalidArgumentError, match="has 1 class"):
        run(FinetuneConfig(model="resnet18", data=str(tmp_path / "one"), out=str(tmp_path / "o"), progress=False))
    with pytest.raises(resnet_zoo.InvalidArgumentError, match="--epochs=0"):
        run(FinetuneConfig(model="resnet18", data="digits", out=str(tmp_path / "o"), epochs=0, progress=False))


def test_unreadable_images_are_skipped_with_a_count(tmp_path, caplog):
    for label in ("a", "b"):
        folder = tmp_path / "data" / label
        folder.mkdir(parents=True)
        for i in range(4):
            Image.new("RGB", (40, 36), (i * 60, 100 if label == "a" else 0, 0)).save(folder / f"{i}.png")
    (tmp_path / "data" / "a" / "broken.jpg").write_bytes(b"not an image at all")
    (tmp_path / "data" / "b" / "cut.png").write_bytes((tmp_path / "data" / "b" / "0.png").read_bytes()[:30])
    with caplog.at_level("WARNING"):
        best = run(
            FinetuneConfig(
                model="resnet10t",
                data=str(tmp_path / "data"),
                out=str(tmp_path / "o"),
                epochs=1,
                batch_size=4,
                progress=False,
            )
        )
    assert "skipped 2 unreadable image file(s)" in caplog.text
    assert "broken.jpg" in caplog.text and "cut.png" in caplog.text  # each one is named
    assert best["epoch"] == 1


def test_predict_digits_and_grid(tmp_path, capsys):
    folder = tmp_path / "digits"
    export_digits(folder, split="test", limit=30)
    images = sorted(folder.glob("*/*.png"))
    assert (
        main(["predict", *map(str, images), "--model", TAG, "--topk", "3", "--grid", str(tmp_path / "grid.png")]) == 0
    )
    out = capsys.readouterr().out
    for path in images:
        line = next(l for l in out.splitlines() if l.startswith(f"{path}:"))
        top1 = line.split(": ", 1)[1].split(",")[0].split()[0]
        assert top1 == path.parent.name, line  # every exported digit is recognised
    with Image.open(tmp_path / "grid.png") as grid:
        grid.verify()
    with Image.open(tmp_path / "grid.png") as grid:
        assert grid.format == "PNG" and grid.size == (4 * GRID_CELL, 8 * (GRID_CELL + GRID_CAPTION))


def test_predict_with_a_finetune_checkpoint(tmp_path, capsys):
    run(
        FinetuneConfig(
            model="cifar_resnet20",
            data="digits",
            out=str(tmp_path / "ft"),
            epochs=1,
            max_steps=2,
            pretrained="digits",
            progress=False,
        )
    )
    export_digits(tmp_path / "img", limit=2)
    image = next((tmp_path / "img").glob("*/*.png"))
    assert main(["predict", str(image), "--model", str(tmp_path / "ft" / "best"), "--topk", "2"]) == 0
    assert re.search(rf"{re.escape(str(image))}: \d \d\.\d{{3}}, \d \d\.\d{{3}}", capsys.readouterr().out)


def test_a_finetune_output_is_accepted_wherever_a_tag_is(tmp_path, capsys):
    """best/ is a folder in timm's layout: create_model(pretrained=DIR), local-dir:, get_weights(DIR),
    validate, export, finetune --pretrained DIR, all with its class names and transform."""
    run(FinetuneConfig(model="cifar_resnet20", data="digits", out=str(tmp_path / "ft"), epochs=1, max_steps=2,
                       pretrained="digits", progress=False))  # fmt: skip
    best = tmp_path / "ft" / "best"
    config = json.loads((best / "config.json").read_text())
    assert config["pretrained_cfg"]["input_size"] == [1, 32, 32] and config["resnet_zoo"]["class_names"] == list(
        "0123456789"
    )
    weight = resnet_zoo.get_weights(str(best))
    assert weight.labels() == list("0123456789") and weight.preprocessing.input_size == (1, 32, 32)
    a = resnet_zoo.create_model("cifar_resnet20", pretrained=str(best))
    b = resnet_zoo.create_model(f"local-dir:{best}", pretrained=True)
    x = torch.randn(2, 1, 32, 32)
    with torch.no_grad():
        assert torch.equal(a(x), b(x))
    assert a.pretrained_cfg["label_names"] == tuple("0123456789") and a.pretrained_cfg["mean"] == (0.5,)
    export_digits(tmp_path / "val", limit=40)
    assert resnet_zoo.validate(str(best), tmp_path / "val").images == 40
    assert main(["export", "exported-program", str(best), "--out", str(tmp_path / "m.pt2")]) == 0
    again = run(FinetuneConfig(model="cifar_resnet20", data="digits", out=str(tmp_path / "ft2"), epochs=1,
                               max_steps=1, pretrained=str(best), progress=False))  # fmt: skip
    assert "val_acc" in again
