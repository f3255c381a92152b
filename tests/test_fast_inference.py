"""bf16 and int8 inference (issue 13): outputs against fp32, the same contract, accuracy on real data.

Speed is measured in benchmarks/, never here. Compiled variants of every family are slow-marked;
the fast subset checks the uncompiled graphs (same weights, same quantisation) and the digits accuracy.
"""

import warnings

import pytest
import torch
import torch.nn.functional as F

import resnet_zoo
from resnet_zoo.infer.optimize import bf16_unsupported_reason
from resnet_zoo.tools.parity import randomize_
from resnet_zoo.train.datasets import load_digits_split

FAMILIES = {
    "v1": ("resnet18", (4, 3, 64, 64)),
    "v2": ("resnetv2_18d", (4, 3, 64, 64)),
    "cifar": ("cifar_resnet20", (4, 3, 32, 32)),
}
BF16 = bf16_unsupported_reason(torch.device("cpu")) is None


def _model_and_batches(family: str):
    name, shape = FAMILIES[family]
    model = randomize_(resnet_zoo.create_model(name), seed=1).eval()
    gen = torch.Generator().manual_seed(0)
    calibration = [torch.randn(*shape, generator=gen) for _ in range(4)]
    return model, calibration, torch.randn(*shape, generator=gen)


def _cosine(a: torch.Tensor, b: torch.Tensor) -> float:
    return F.cosine_similarity(a.flatten(1).double(), b.flatten(1).double()).min().item()


@pytest.mark.parametrize("compile", [False, pytest.param(True, marks=pytest.mark.slow)])
@pytest.mark.parametrize("family", list(FAMILIES))
def test_bf16_agrees_with_fp32(family, compile):
    model, _, x = _model_and_batches(family)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore" if BF16 else "default")
        fast = resnet_zoo.optimize_for_inference(model, precision="bf16", compile=compile)
    assert fast.precision == ("bf16" if BF16 else "fp32")
    with torch.no_grad():
        ref = model(x)
    out = fast(x)
    assert out.dtype == torch.float32 and out.shape == ref.shape == (4, model.num_classes)
    assert _cosine(out, ref) >= 0.999  # bf16 keeps 8 bits of mantissa: agreement, not equality


@pytest.mark.parametrize("compile", [False, pytest.param(True, marks=pytest.mark.slow)])
@pytest.mark.parametrize(
    "family", ["cifar", pytest.param("v1", marks=pytest.mark.slow), pytest.param("v2", marks=pytest.mark.slow)]
)
def test_int8_agrees_with_fp32_and_serves_any_batch(family, compile):
    pytest.importorskip("torchao", reason="torchao is the [quantize] extra; CI installs it")
    model, calibration, x = _model_and_batches(family)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # uncompiled int8 warns that it is slow, by design
        fast = resnet_zoo.optimize_for_inference(model, precision="int8", calibration=calibration, compile=compile)
    assert fast.precision == "int8" and fast.num_classes == model.num_classes
    with torch.no_grad():
        for batch in (x, x[:1]):  # one quantisation, two batch sizes
            out, ref = fast(batch), model(batch)
            assert out.dtype == torch.float32 and out.shape == ref.shape
            assert _cosine(out, ref) >= 0.99  # random weights: a smoke check, not an accuracy claim


def test_optimized_models_are_inference_only_and_refuse_bad_arguments():
    model, calibration, _ = _model_and_batches("cifar")
    fast = resnet_zoo.optimize_for_inference(model, compile=False)
    with pytest.raises(resnet_zoo.InvalidArgumentError, match="inference-only"):
        fast.train()
    with pytest.raises(resnet_zoo.InvalidArgumentError, match="precision='fp8' is not supported"):
        resnet_zoo.optimize_for_inference(model, precision="fp8")
    with pytest.raises(resnet_zoo.InvalidArgumentError, match="needs calibration= data"):
        resnet_zoo.optimize_for_inference(model, precision="int8")
    with pytest.raises(resnet_zoo.InvalidArgumentError, match="fp16.*is for GPUs"):
        resnet_zoo.optimize_for_inference(model, precision="fp16")
    with pytest.raises(resnet_zoo.InvalidArgumentError, match="NCHW tensor batches"):
        resnet_zoo.optimize_for_inference(model, precision="int8", calibration=[torch.randn(3, 32, 32)])


def test_bf16_falls_back_with_a_warning_where_the_cpu_lacks_it(monkeypatch):
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False)
    model, _, _ = _model_and_batches("cifar")
    with pytest.warns(RuntimeWarning, match="neither AVX512_BF16 nor AMX"):
        fast = resnet_zoo.optimize_for_inference(model, precision="bf16", compile=False)
    assert fast.precision == "fp32"


def _digits_top1(model, images, labels, transform) -> float:
    x = torch.stack([transform(img) for img in images])
    with torch.no_grad():
        predicted = torch.cat([model(x[i : i + 64]) for i in range(0, len(x), 64)]).argmax(1)
    return (predicted == torch.tensor(labels)).float().mean().item()


@pytest.mark.parametrize("precision,max_drop", [("bf16", 0.003), ("int8", 0.005)])
def test_digits_accuracy_survives_bf16_and_int8(precision, max_drop):
    """The one genuinely trained weight, on its 450 held-out digits; int8 calibrated on 200 training digits."""
    pytest.importorskip("torchao")
    weight = resnet_zoo.get_weights("cifar_resnet20.digits")
    transform = weight.transforms()
    train_x, _, test_x, test_y = load_digits_split()
    model = resnet_zoo.create_model("cifar_resnet20.digits", pretrained=True).eval()
    fp32 = _digits_top1(model, test_x, test_y, transform)
    calibration = [torch.stack([transform(img) for img in train_x[i : i + 25]]) for i in range(0, 200, 25)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fast = resnet_zoo.optimize_for_inference(model, precision=precision, calibration=calibration)
    measured = _digits_top1(fast, test_x, test_y, transform)
    assert fp32 == pytest.approx(0.9956, abs=1e-4)
    assert measured >= fp32 - max_drop, (precision, measured, fp32)
