"""Backbones (features_only), freezing, parameter groups, checkpointing, compile, SyncBatchNorm."""

import warnings

import pytest
import timm
import torch
from conftest import max_rel_diff, sweep

import resnet_zoo
from resnet_zoo.tools.parity import randomize_

ALL = resnet_zoo.list_models()


@pytest.mark.parametrize("name", sweep(ALL))
def test_features_only_for_every_arch(name):
    info = resnet_zoo.model_info(name)
    size = info.input_size[1]
    with torch.device("meta"):
        backbone = resnet_zoo.create_model(name, features_only=True)
        feats = backbone(torch.empty(1, 3, size + 5, size + 3))
    assert [f.shape[1] for f in feats] == backbone.feature_info.channels()
    assert backbone.feature_info == list(info.feature_info)
    for f, r in zip(feats, backbone.feature_info.reduction()):
        assert f.shape[-2] == -(-(size + 5) // r)
    assert not any(k.startswith(("fc.", "head.fc.")) for k in backbone.state_dict())
    if info.timm_name:
        with torch.device("meta"):
            ref = timm.create_model(name, features_only=True)
        assert backbone.feature_info.channels() == ref.feature_info.channels()
        assert backbone.feature_info.reduction() == ref.feature_info.reduction()
        assert backbone.feature_info.module_name() == ref.feature_info.module_name()


@pytest.mark.parametrize(
    "name,kwargs",
    [
        ("resnet18", dict(out_indices=(1, 2, 3, 4))),
        ("resnetrs50", dict(out_indices=(0, 2, 4))),
        ("resnet50d", dict(out_indices=(2, 3, 4), output_stride=8)),
        ("seresnext26t_32x4d", {}),
        ("resnetv2_18d", dict(out_indices=(1, 3))),
        ("resnetv2_50", dict(out_indices=(4,), output_stride=16)),
    ],
)
def test_feature_maps_equal_timm(name, kwargs, odd_input):
    ref = randomize_(timm.create_model(name, output_stride=kwargs.get("output_stride", 32))).eval()
    backbone = resnet_zoo.create_model(name, features_only=True, **kwargs).eval()
    missing, unexpected = backbone.load_state_dict(ref.state_dict(), strict=False)
    assert not missing and all(k.startswith(("fc.", "head.fc.", "layer", "stages", "norm")) for k in unexpected)
    timm_backbone = timm.create_model(name, features_only=True, **kwargs)
    indices = kwargs.get("out_indices", tuple(range(5)))
    with torch.no_grad():
        ours = backbone(odd_input)
        theirs = ref.forward_intermediates(odd_input, indices=list(indices), intermediates_only=True)
    assert len(ours) == len(theirs) == len(indices)
    for a, b in zip(ours, theirs):
        assert max_rel_diff(a, b) <= 1e-5
    assert backbone.feature_info.channels() == timm_backbone.feature_info.channels()
    assert backbone.feature_info.reduction() == timm_backbone.feature_info.reduction()


def test_features_only_with_pretrained_weights_has_no_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        backbone = resnet_zoo.create_model(
            "cifar_resnet20.digits", pretrained=True, features_only=True, out_indices=(1, 2, 3)
        )
    full = resnet_zoo.create_model("cifar_resnet20.digits", pretrained=True)
    x = torch.randn(2, 1, 32, 32)
    with torch.no_grad():
        assert torch.equal(backbone(x)[-1], full.forward_features(x))
    assert backbone.feature_info.channels() == [16, 32, 64]


def test_features_only_argument_errors():
    with pytest.raises(resnet_zoo.InvalidArgumentError, match="out_indices=\\(1, 7\\) has 7"):
        resnet_zoo.create_model("resnet18", features_only=True, out_indices=(1, 7))
    with pytest.raises(resnet_zoo.InvalidArgumentError, match="pass features_only=True"):
        resnet_zoo.create_model("resnet18", out_indices=(1, 2))
    with pytest.raises(resnet_zoo.InvalidArgumentError, match="num_classes=10"):
        resnet_zoo.create_model("resnet18", features_only=True, num_classes=10)


@pytest.mark.parametrize("name,up_to", [("resnet26d", "layer2"), ("resnetv2_18", "layer2"), ("cifar_resnet20", "stem")])
def test_frozen_parameters_are_bit_identical_after_a_step(name, up_to):
    torch.manual_seed(0)
    model = resnet_zoo.create_model(name, num_classes=5)
    resnet_zoo.freeze(model, up_to=up_to)
    model.train()
    frozen = {
        k: v.clone()
        for k, v in model.state_dict().items()
        if k.startswith(("conv1", "bn1", "stem", "layer1", "layer2", "stages.0", "stages.1"))
    }
    if up_to == "stem":
        frozen = {k: v for k, v in frozen.items() if k.startswith(("conv1", "bn1", "stem"))}
    trainable = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.SGD(trainable, lr=0.5, momentum=0.9, weight_decay=1e-2)
    size = 32 if name.startswith("cifar") else 61
    for _ in range(2):
        loss = model(torch.randn(4, 3, size, size)).square().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    state = model.state_dict()
    assert frozen and all(torch.equal(state[k], v) for k, v in frozen.items())  # BN running stats too
    head_key = "head.fc.weight" if name.startswith("resnetv2") else "fc.weight"
    assert model.get_parameter(head_key).requires_grad
    norms = [model.get_submodule(n) for n in model.frozen_norms]
    assert norms and all(not n.training for n in norms) and model.training
    resnet_zoo.unfreeze(model)
    model.train()
    assert all(p.requires_grad for p in model.parameters()) and all(n.training for n in norms)


def test_freeze_errors():
    with pytest.raises(resnet_zoo.InvalidArgumentError, match="up_to='layer9'"):
        resnet_zoo.freeze(resnet_zoo.create_model("resnet18"), up_to="layer9")


@pytest.mark.parametrize("layer_decay", [None, 0.75])
def test_param_groups_put_every_parameter_in_exactly_one_group(layer_decay):
    model = resnet_zoo.create_model("resnet18d")
    groups = resnet_zoo.param_groups(model, weight_decay=0.05, layer_decay=layer_decay, lr=1e-3)
    ids = [id(p) for g in groups for p in g["params"]]
    assert sorted(ids) == sorted(id(p) for p in model.parameters()) and len(ids) == len(set(ids))
    for g in groups:
        one_d = all(p.ndim <= 1 for p in g["params"])
        assert g["weight_decay"] == (0.0 if one_d else 0.05)
        assert g["lr"] == pytest.approx(1e-3 * g["lr_scale"])
    if layer_decay:
        scales = {g["name"].split("/")[0]: g["lr_scale"] for g in groups}
        assert scales["head"] == 1.0 and scales["layer4"] == 0.75 and scales["stem"] == pytest.approx(0.75**5)
    torch.optim.AdamW(groups)  # usable as they are


def test_torch_compile_on_a_small_arch():
    model = resnet_zoo.create_model("cifar_resnet20").eval()
    x = torch.randn(2, 3, 32, 32)
    compiled = torch.compile(model)
    with torch.no_grad():
        assert max_rel_diff(compiled(x), model(x)) <= 1e-4


@pytest.mark.parametrize("name", ["resnet18d", "resnetv2_18d"])
def test_sync_batchnorm_conversion_keeps_the_network(name):
    model = randomize_(resnet_zoo.create_model(name)).eval()
    converted = torch.nn.SyncBatchNorm.convert_sync_batchnorm(resnet_zoo.create_model(name))
    converted.load_state_dict(model.state_dict())
    converted.eval()
    assert not any(type(m) is torch.nn.BatchNorm2d for m in converted.modules())
    x = torch.randn(1, 3, 45, 45)
    with torch.no_grad():
        assert torch.equal(converted(x), model(x))  # eval-mode SyncBatchNorm == BatchNorm, activations intact
