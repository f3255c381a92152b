"""Every registered name that timm has: same keys, shapes, parameter count, feature_info and
outputs (eval and train mode) with timm's randomised weights loaded strictly."""

import pytest
import timm
import torch
from conftest import assert_parity, max_rel_diff, sweep

import resnet_zoo
from resnet_zoo.tools.parity import RTOL, check_parity, has_reference, randomize_

TIMM_NAMES = [n for n in resnet_zoo.list_models() if has_reference(n, "timm")]


def test_every_non_cifar_name_has_a_timm_counterpart():
    missing = [n for n in resnet_zoo.list_models(exclude=["cifar_*", "*_keras"]) if not has_reference(n, "timm")]
    assert missing == []
    assert set(TIMM_NAMES) <= set(timm.list_models())


@pytest.mark.parametrize("name", sweep(TIMM_NAMES))
def test_outputs_match_timm(name):
    assert_parity(check_parity(name, "timm"))


@pytest.mark.parametrize("name", sweep(TIMM_NAMES))
def test_state_dict_and_feature_info_match_timm(name):
    with torch.device("meta"):
        ref = timm.create_model(name)
        ours = resnet_zoo.create_model(name)
    ref_shapes = {k: tuple(v.shape) for k, v in ref.state_dict().items()}
    our_shapes = {k: tuple(v.shape) for k, v in ours.state_dict().items()}
    assert our_shapes == ref_shapes
    assert list(ours.feature_info) == [dict(d) for d in ref.feature_info]
    assert ours.num_features == ref.num_features


GRAD_NAMES = [
    "resnet18",
    "resnet50d",
    "resnext50_32x4d",
    "seresnext26t_32x4d",
    "ecaresnet26t",
    "resnetrs50",
    "resnetv2_18d",
    "resnetv2_50t",
]


@pytest.mark.parametrize("name", sweep(GRAD_NAMES, fast={"resnet50d", "resnetv2_18d"}))
def test_gradients_match_timm(name, odd_input):
    ref = randomize_(timm.create_model(name)).train()
    ours = resnet_zoo.create_model(name).train()
    ours.load_state_dict(ref.state_dict(), strict=True)
    weight = torch.randn(1000, generator=torch.Generator().manual_seed(1))
    (ref(odd_input) * weight).sum().backward()
    (ours(odd_input) * weight).sum().backward()
    ref_grads = dict(ref.named_parameters())
    for key, p in ours.named_parameters():
        assert max_rel_diff(p.grad, ref_grads[key].grad) <= RTOL, key


@pytest.mark.parametrize(
    "name,kwargs",
    [
        ("resnet50", dict(output_stride=16)),
        ("resnet50", dict(output_stride=8)),
        ("resnet50d", dict(output_stride=8)),  # avg-down inside dilated stages: 'SAME' avg pool
        ("resnetrs50", dict(output_stride=16)),
        ("resnetv2_50d", dict(output_stride=8)),
        ("resnetv2_18", dict(output_stride=16)),
        ("resnet18", dict(global_pool="max")),
        ("resnet18", dict(global_pool="avgmax")),
        ("resnet18", dict(global_pool="catavgmax")),
        ("resnetv2_18", dict(global_pool="catavgmax")),
        ("resnet18", dict(num_classes=0)),
        ("resnetv2_18", dict(num_classes=0)),
        ("resnet34d", dict(in_chans=1, num_classes=7)),
        ("resnetv2_34d", dict(in_chans=4, num_classes=3)),
    ],
)
def test_arguments_match_timm(name, kwargs, odd_input):
    ref = randomize_(timm.create_model(name, **kwargs)).eval()
    ours = resnet_zoo.create_model(name, **kwargs).eval()
    ours.load_state_dict(ref.state_dict(), strict=True)
    x = odd_input[:, :1].repeat(1, kwargs.get("in_chans", 3), 1, 1)
    with torch.no_grad():
        y_ref, y_ours = ref(x), ours(x)
        assert y_ours.shape == y_ref.shape
        assert max_rel_diff(y_ours, y_ref) <= RTOL
        assert max_rel_diff(ours.forward_features(x), ref.forward_features(x)) <= RTOL
        feats = ours.forward_features(x)
        assert max_rel_diff(ours.forward_head(feats, pre_logits=True), ref.forward_head(feats, pre_logits=True)) <= RTOL
    assert list(ours.feature_info) == [dict(d) for d in ref.feature_info]


@pytest.mark.parametrize("name", ["resnet50d", "resnetv2_50d", "seresnet34"])
def test_drop_path_rates_and_zero_init_match_timm(name):
    kwargs = dict(drop_path_rate=0.2)
    ref, ours = timm.create_model(name, **kwargs), resnet_zoo.create_model(name, **kwargs)
    rates = lambda m: [round(float(x.drop_prob), 6) for x in m.modules() if type(x).__name__ == "DropPath"]  # noqa: E731
    assert rates(ours) == rates(ref) and len(rates(ours)) > 0
    # zero_init_last as timm's defaults: on for v1 (last BN scale zero), off for v2
    zero_ref = sorted(k for k, v in ref.state_dict().items() if k.endswith("weight") and v.abs().max() == 0)
    zero_ours = sorted(k for k, v in ours.state_dict().items() if k.endswith("weight") and v.abs().max() == 0)
    assert zero_ours == zero_ref
