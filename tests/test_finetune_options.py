"""finetune as a practitioner uses it: output folders, resume, image size, options, the Python API."""

import json

import pytest
import torch
from PIL import Image

import resnet_zoo
from resnet_zoo.cli import main
from resnet_zoo.train.autoaugment import parse_policy
from resnet_zoo.train.mixup import Mixup

TINY = dict(data="digits", epochs=1, max_steps=2, batch_size=16, progress=False)


def _folder(root, classes=("a", "b"), size=(40, 36), mode="RGB", n=4):
    for k, label in enumerate(classes):
        folder = root / label
        folder.mkdir(parents=True)
        for i in range(n):
            color = (i * 50, 120 * k, 30) if mode == "RGB" else i * 50 + k * 20
            Image.new(mode, size, color).save(folder / f"{i}.png")
    return root


def test_an_out_folder_holding_a_run_is_refused_unless_resume_or_overwrite(tmp_path):
    out = tmp_path / "run"
    resnet_zoo.finetune("cifar_resnet20", out=out, **TINY)
    before = (out / "best" / "model.safetensors").read_bytes()
    with pytest.raises(
        resnet_zoo.InvalidArgumentError,
        match=r"already holds a run \(cifar_resnet20, epochs 1-1\).*--resume.*--overwrite",
    ):
        resnet_zoo.finetune("cifar_resnet20", out=out, **TINY)
    assert (out / "best" / "model.safetensors").read_bytes() == before  # nothing was touched
    result = resnet_zoo.finetune("cifar_resnet20", out=out, overwrite=True, **TINY)
    assert [r["epoch"] for r in result.history] == [1]  # replaced, not appended to
    with pytest.raises(resnet_zoo.InvalidArgumentError, match="contradict"):
        resnet_zoo.finetune("cifar_resnet20", out=out, overwrite=True, resume=True, **TINY)


def test_resume_with_nothing_to_resume_is_an_error(tmp_path, capsys):
    args = ["finetune", "cifar_resnet20", "--data", "digits", "--out", str(tmp_path / "none"), "--resume"]
    assert main(args) == 2
    assert "nothing to resume" in capsys.readouterr().err
    assert not (tmp_path / "none").exists()


def test_resume_refuses_other_classes_naming_both(tmp_path):
    data = _folder(tmp_path / "ab")
    common = dict(epochs=1, batch_size=4, progress=False, img_size=16)
    resnet_zoo.finetune("resnet10t", data=data, out=tmp_path / "o", **common)
    three = _folder(tmp_path / "abc", classes=("a", "b", "c"))
    with pytest.raises(
        resnet_zoo.IncompatibleCheckpointError,
        match=r"trained on 2 classes, this data has 3 \(\[a, b\] vs \[a, b, c\]\)",
    ):
        resnet_zoo.finetune("resnet10t", data=three, out=tmp_path / "o", resume=True, **{**common, "epochs": 2})
    renamed = _folder(tmp_path / "ax", classes=("a", "x"))
    with pytest.raises(resnet_zoo.IncompatibleCheckpointError, match=r"first difference: 'b' vs 'x'"):
        resnet_zoo.finetune("resnet10t", data=renamed, out=tmp_path / "o", resume=True, **{**common, "epochs": 2})
    with pytest.raises(
        resnet_zoo.IncompatibleCheckpointError, match=r"holds a 'resnet10t' checkpoint, this run is 'resnet18'"
    ):
        resnet_zoo.finetune("resnet18", data=data, out=tmp_path / "o", resume=True, **{**common, "epochs": 2})


def test_metrics_continue_without_duplicates_after_an_interrupted_epoch(tmp_path):
    out = tmp_path / "run"
    resnet_zoo.finetune("cifar_resnet20", out=out, **TINY)
    with open(out / "metrics.jsonl", "a") as f:  # a run killed after logging epoch 2, before its checkpoint
        f.write(json.dumps({"epoch": 2, "val_acc": 0.5}) + "\n")
    result = resnet_zoo.finetune("cifar_resnet20", out=out, resume=True, **{**TINY, "epochs": 3})
    assert [r["epoch"] for r in result.history] == [1, 2, 3]
    assert len((out / "metrics.jsonl").read_text().splitlines()) == 3


def test_an_arch_tag_means_its_weights_and_channel_conversion_is_logged(tmp_path, caplog):
    data = _folder(tmp_path / "rgb", size=(12, 12))
    with caplog.at_level("INFO", logger="resnet_zoo"):
        result = resnet_zoo.finetune(
            "cifar_resnet20.digits", data=data, out=tmp_path / "o", epochs=1, batch_size=4, progress=False
        )
    assert "starting from the weights cifar_resnet20.digits" in caplog.text
    assert "RGB images are converted to 1-channel grayscale" in caplog.text
    config = json.loads((result.best_dir / "config.json").read_text())
    assert config["finetune"]["pretrained"] is True and config["preprocessing"]["input_size"] == [1, 32, 32]
    caplog.clear()
    with caplog.at_level("INFO", logger="resnet_zoo"):
        resnet_zoo.finetune("cifar_resnet20", out=tmp_path / "scratch", **TINY)
    assert "from scratch (random init); --pretrained (or the model cifar_resnet20.digits)" in caplog.text


def test_img_size_default_and_option(tmp_path):
    data = _folder(tmp_path / "d", size=(24, 24))
    small = resnet_zoo.finetune(
        "resnet10t", data=data, out=tmp_path / "a", epochs=1, batch_size=4, progress=False, img_size=48
    )
    config = json.loads((small.best_dir / "config.json").read_text())
    assert config["preprocessing"]["input_size"] == [3, 48, 48]
    # a CIFAR-style arch from scratch trains at the data's size
    cifar = resnet_zoo.finetune("cifar_resnet20", data=data, out=tmp_path / "b", epochs=1, batch_size=4, progress=False)
    assert json.loads((cifar.best_dir / "config.json").read_text())["preprocessing"]["input_size"] == [3, 24, 24]


def test_augmentation_ema_patience_workers_through_the_cli(tmp_path, capsys):
    out = tmp_path / "o"
    args = [
        "finetune",
        "cifar_resnet20.digits",
        "--data",
        "digits",
        "--out",
        str(out),
        "--epochs",
        "3",
        "--max-steps",
        "2",
    ]
    args += [
        "--batch-size",
        "16",
        "--no-progress",
        "--aa",
        "rand-m9-n2-mstd0.5",
        "--color-jitter",
        "0.3",
        "--mixup",
        "0.2",
    ]
    args += ["--cutmix", "1.0", "--smoothing", "0.1", "--ema", "--model-ema-decay", "0.9", "--patience", "1"]
    args += ["--workers", "1", "--device", "cpu", "--seed", "3"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    rows = [json.loads(l) for l in (out / "metrics.jsonl").read_text().splitlines()]
    assert "val_acc_raw" in rows[0]  # validation is of the EMA weights, the raw ones reported beside
    if len(rows) < 3:  # the digits weight is already at its best: patience stops it
        assert "stopped early" in printed
    assert json.loads((out / "best" / "config.json").read_text())["finetune"]["aa"] == "rand-m9-n2-mstd0.5"


def test_option_errors_name_the_option(tmp_path):
    cases = {
        "--img-size=4": dict(img_size=4),
        "--workers=-1": dict(workers=-1),
        "--device='tpu'": dict(device="tpu"),
        "--scale 0.9 0.1": dict(scale=(0.9, 0.1)),
        "--patience=0": dict(patience=0),
        "--hflip=2": dict(hflip=2.0),
    }
    for message, options in cases.items():
        with pytest.raises(resnet_zoo.InvalidArgumentError, match=message.replace("(", r"\(")):
            resnet_zoo.finetune("cifar_resnet20", out=tmp_path / "x", **{**TINY, **options})
    with pytest.raises(resnet_zoo.InvalidArgumentError, match="--aa 'auto'"):
        resnet_zoo.finetune("cifar_resnet20", out=tmp_path / "x", **{**TINY, "aa": "auto"})
    with pytest.raises(resnet_zoo.InvalidArgumentError, match="unknown option"):
        resnet_zoo.finetune("cifar_resnet20", out=tmp_path / "x", learning_rate=1)
    if not torch.cuda.is_available():
        with pytest.raises(resnet_zoo.InvalidArgumentError, match="no CUDA device"):
            resnet_zoo.finetune("cifar_resnet20", out=tmp_path / "x", **{**TINY, "device": "cuda"})
    assert not (tmp_path / "x").exists()


def test_policies_and_mixup():
    img = Image.new("RGB", (20, 16), (10, 200, 30))
    for policy in ("rand-m9-n2", "rand-m5-n3-mstd0.5", "trivial"):
        out = parse_policy(policy)(img)
        assert out.size == img.size and out.mode == "RGB"
    gray = parse_policy("trivial")(Image.new("L", (8, 8), 30))
    assert gray.mode == "L"
    mix = Mixup(1.0, 1.0, num_classes=4, smoothing=0.1)
    x, y = torch.randn(6, 3, 16, 16), torch.tensor([0, 1, 2, 3, 0, 1])
    mixed, target = mix(x, y)
    assert mixed.shape == x.shape and torch.allclose(target.sum(1), torch.ones(6))


def test_a_tensor_given_to_a_transform_is_a_clear_error():
    transform = resnet_zoo.get_weights("cifar_resnet20.digits").transforms()
    with pytest.raises(
        resnet_zoo.InvalidArgumentError, match=r"takes a PIL image, got a torch.Tensor of shape \(3, 32, 32\)"
    ):
        transform(torch.rand(3, 32, 32))
    with pytest.raises(resnet_zoo.InvalidArgumentError, match="numpy.ndarray"):
        import numpy as np

        transform(np.zeros((8, 8), dtype="uint8"))
