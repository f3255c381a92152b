"""``validate`` (timm's validate.py for one weight) and ``export torchscript|exported-program``,
with tags and finetune-style folders as the model argument."""

import csv
import json

import pytest
import torch

import resnet_zoo
from resnet_zoo.cli import main
from resnet_zoo.infer.validate import class_mapping, imagenet_synsets
from resnet_zoo.train.datasets import export_digits

DIGITS = "cifar_resnet20.digits"


@pytest.fixture(scope="module")
def heldout(tmp_path_factory):
    root = tmp_path_factory.mktemp("digits")
    assert export_digits(root, split="test") == 450
    return root


def test_validate_reproduces_the_digits_weight(heldout, tmp_path, capsys):
    out_csv, out_json = tmp_path / "results.csv", tmp_path / "r.json"
    assert main(["validate", DIGITS, "--data", str(heldout), "--batch-size", "100", "--no-progress",
                 "--results-csv", str(out_csv), "--results-json", str(out_json)]) == 0  # fmt: skip
    printed = capsys.readouterr().out
    assert "99.556" in printed and "reported top1" in printed
    row = next(csv.DictReader(out_csv.open()))
    assert list(row) == ["model", "img_size", "top1", "top1_err", "top5", "top5_err", "param_count", "crop_pct",
                         "interpolation"]  # fmt: skip
    assert row["model"] == DIGITS and float(row["top1"]) == 99.556 and row["img_size"] == "32"
    result = json.loads(out_json.read_text())
    assert round(result["top1"] / 100, 4) == 0.9956 and result["reported_top1"] == 99.556 and result["images"] == 450


def test_validate_a_saved_folder_with_options(heldout, tmp_path):
    folder = resnet_zoo.save_pretrained(resnet_zoo.create_model(DIGITS, pretrained=True), tmp_path / "saved")
    r = resnet_zoo.validate(str(folder), heldout, batch_size=128, channels_last=True, amp="bf16")
    assert r.top1 > 98.5 and r.images == 450 and r.model == "cifar_resnet20.digits"
    bigger = resnet_zoo.validate(DIGITS, heldout, img_size=40, crop_pct=0.9)
    assert bigger.img_size == 40 and bigger.crop_pct == 0.9


def test_validate_refuses_unknown_folders_and_maps_classes(heldout, tmp_path):
    (tmp_path / "3").mkdir()
    (tmp_path / "three").mkdir()
    for name in ("3", "three"):
        (tmp_path / name / "a.png").write_bytes(
            (heldout / "3" / next(iter(sorted((heldout / "3").iterdir()))).name).read_bytes()
        )
    with pytest.raises(resnet_zoo.InvalidArgumentError, match=r"\['three'\] match no class"):
        resnet_zoo.validate(DIGITS, tmp_path)
    class_map = tmp_path / "map.txt"
    class_map.write_text("\n".join(["zero", "one", "two", "three", "3", "x", "y", "z", "w", "v"]))
    mapping = class_mapping(["3", "three"], resnet_zoo.get_weights(DIGITS), str(class_map))
    assert mapping == {"three": 3, "3": 4}
    imagenet = resnet_zoo.get_weights("resnet50.a1_in1k")
    synsets = imagenet_synsets()
    assert len(synsets) == 1000 and synsets[0] == "n01440764"
    assert class_mapping(["n01440764", "n15075141"], imagenet) == {"n01440764": 0, "n15075141": 999}


@pytest.mark.parametrize("fmt,suffix", [("torchscript", "pt"), ("exported-program", "pt2")])
def test_export_commands_check_against_eager(fmt, suffix, tmp_path, capsys):
    out = tmp_path / f"digits.{suffix}"
    assert main(["export", fmt, DIGITS, "--out", str(out)]) == 0
    assert "matches eager PyTorch" in capsys.readouterr().out
    model = resnet_zoo.create_model(DIGITS, pretrained=True)
    x = torch.randn(4, 1, 32, 32)
    loaded = torch.jit.load(str(out)) if fmt == "torchscript" else torch.export.load(str(out)).module()
    with torch.no_grad():
        assert torch.allclose(loaded(x), model(x), atol=1e-5)


def test_export_and_predict_take_a_folder(heldout, tmp_path, capsys):
    folder = resnet_zoo.save_pretrained(
        resnet_zoo.create_model(DIGITS, pretrained=True), tmp_path / "run", class_names=[f"d{i}" for i in range(10)]
    )
    assert main(["export", "torchscript", str(folder), "--out", str(tmp_path / "m.pt")]) == 0
    assert main(["export", "onnx", str(folder), "--out", str(tmp_path / "m.onnx")]) == 0
    image = next(iter(sorted((heldout / "7").iterdir())))
    capsys.readouterr()
    assert main(["predict", str(image), "--model", str(folder), "--topk", "1"]) == 0
    assert "d7" in capsys.readouterr().out
