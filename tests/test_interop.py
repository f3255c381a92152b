"""Keras Applications, 🤗 transformers and ONNX, each checked against its own reference
(random weights, randomised BatchNorm statistics)."""

from __future__ import annotations

import re

import h5py
import numpy as np
import pytest
import torch
from conftest import max_rel_diff, sweep

import resnet_zoo
from resnet_zoo import IncompatibleCheckpointError
from resnet_zoo.cli import main
from resnet_zoo.convert.keras import from_keras
from resnet_zoo.convert.transformers import from_transformers
from resnet_zoo.factory import keys_of
from resnet_zoo.tools.interop import KerasLogits, keras_model, randomize_keras_, transformers_config
from resnet_zoo.tools.parity import randomize_

KERAS = [
    "resnet50_keras",
    "resnet101_keras",
    "resnet152_keras",
    "resnet50v2_keras",
    "resnet101v2_keras",
    "resnet152v2_keras",
]
SHAPE = (2, 3, 67, 93)


def write_legacy_h5(model, path) -> None:
    """The Keras 2 weights layout that Keras Applications publishes: a group per layer name."""
    import keras

    with h5py.File(path, "w") as f:
        names = [layer.name for layer in model.layers if layer.weights]
        f.attrs["layer_names"] = [n.encode() for n in names]
        for layer in model.layers:
            if not layer.weights:
                continue
            group = f.create_group(layer.name)
            labels = (
                ["kernel", "bias"] if len(layer.weights) <= 2 else ["gamma", "beta", "moving_mean", "moving_variance"]
            )
            weight_names = [f"{layer.name}/{label}:0" for label in labels[: len(layer.weights)]]
            group.attrs["weight_names"] = [w.encode() for w in weight_names]
            for name, w in zip(weight_names, layer.weights):
                group[name] = np.asarray(keras.ops.convert_to_numpy(w))


@pytest.mark.parametrize("arch", sweep(KERAS))
def test_keras_model_and_h5_import_match_keras(arch, tmp_path):
    model = randomize_keras_(keras_model(arch, SHAPE[2:] + (3,)), seed=1)
    x = torch.randn(*SHAPE, generator=torch.Generator().manual_seed(0))
    reference = KerasLogits(model)(x)
    ours = resnet_zoo.create_model(arch).eval()
    state = from_keras(model, keys_of(arch))
    ours.load_state_dict(state, strict=True)
    with torch.no_grad():
        assert max_rel_diff(ours(x), reference) <= 1e-4
    model.save_weights(str(tmp_path / "model.weights.h5"))  # Keras 3's own file
    from_file = from_keras(tmp_path / "model.weights.h5", keys_of(arch))
    assert from_file.keys() == state.keys() and all(torch.equal(from_file[k], state[k]) for k in state)
    if arch in ("resnet50_keras", "resnet50v2_keras"):
        write_legacy_h5(model, tmp_path / "legacy.h5")
        legacy = from_keras(tmp_path / "legacy.h5", keys_of(arch))
        assert all(torch.equal(legacy[k], state[k]) for k in state)
    n_keras = sum(int(np.prod(w.shape)) for w in model.weights)
    n_ours = sum(v.numel() for k, v in state.items() if not k.endswith("num_batches_tracked"))
    assert n_keras == n_ours  # every Keras weight used exactly once


def test_keras_import_is_strict():
    model = keras_model("resnet50_keras", (64, 64, 3))
    with pytest.raises(IncompatibleCheckpointError, match="do not fit 'resnet101_keras'"):
        from_keras(model, keys_of("resnet101_keras"))
    with pytest.raises(IncompatibleCheckpointError, match="not a Keras-convention architecture"):
        from_keras(model, keys_of("resnet50"))


@pytest.mark.parametrize("tag,mode", [("resnet50_keras.keras_in1k", "caffe"), ("resnet50v2_keras.keras_in1k", "tf")])
def test_keras_preprocessing_is_the_weight_s_transform(tag, mode):
    from keras.applications import imagenet_utils
    from PIL import Image

    spec = resnet_zoo.get_weights(tag)
    assert spec.origin.url.endswith(".h5") and len(spec.origin.url_md5) == 32 and spec.origin.library == "keras"
    transform = spec.transforms()
    img = Image.fromarray(np.random.default_rng(0).integers(0, 256, (240, 300, 3), dtype=np.uint8))
    cropped = np.asarray(transform.center_crop(transform.resize(img)), dtype=np.float32)
    expected = imagenet_utils.preprocess_input(cropped.copy(), mode=mode, data_format="channels_last")
    got = transform(img).permute(1, 2, 0).numpy()
    assert np.abs(got - expected).max() <= 1e-4 * max(1.0, np.abs(expected).max())


@pytest.mark.parametrize("arch", ["resnet18", "resnet26", "resnet34", "resnet50"])
def test_transformers_import_matches_transformers(arch):
    from transformers import ResNetConfig, ResNetForImageClassification

    hf = randomize_(ResNetForImageClassification(ResNetConfig(**transformers_config(arch)))).eval()
    ours = resnet_zoo.create_model(arch).eval()
    ours.load_state_dict(from_transformers(hf, keys_of(arch)), strict=True)
    ours2 = resnet_zoo.create_model(arch).eval()
    ours2.load_state_dict(from_transformers(hf.state_dict(), keys_of(arch)), strict=True)
    x = torch.randn(*SHAPE, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        ref = hf(pixel_values=x).logits
        assert max_rel_diff(ours(x), ref) <= 1e-5 and torch.equal(ours(x), ours2(x))


def test_transformers_import_refuses_other_stride_placements():
    from transformers import ResNetConfig, ResNetForImageClassification

    hf = ResNetForImageClassification(ResNetConfig(**transformers_config("resnet50"), downsample_in_bottleneck=True))
    with pytest.raises(IncompatibleCheckpointError, match="downsample_in_bottleneck=True"):
        from_transformers(hf, keys_of("resnet50"))
    assert resnet_zoo.get_weights("resnet50.microsoft_in1k").origin.hf_hub_id == "microsoft/resnet-50"


@pytest.mark.parametrize(
    "name,dynamic",
    [("resnet18", True), ("resnetv2_18d", False), ("cifar_resnet20.digits", True), ("resnet50v2_keras", False)],
)
def test_onnx_export_matches_onnxruntime(name, dynamic, tmp_path, capsys):
    out = tmp_path / "model.onnx"
    args = ["export", "onnx", name, "--out", str(out)] + (["--dynamic-batch"] if dynamic else [])
    assert main(args) == 0
    printed = capsys.readouterr().out
    diff = float(re.search(r"max \|Δ\| ([0-9.e+-]+)", printed).group(1))
    assert out.exists() and diff <= 1e-4
    assert "format ONNX, opset 20" in printed  # the exporter's default, read back from the file
    assert (", 3x" in printed) == dynamic  # a second batch size checked
