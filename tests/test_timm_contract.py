"""timm's model contract on our models: pretrained_cfg dicts, global_pool='', forward_intermediates,
prune_intermediate_layers and FeatureGetterNet, checked against timm with the same weights."""

import pytest
import timm
import timm.data
import torch
from conftest import max_rel_diff
from timm.models._features import FeatureGetterNet

import resnet_zoo
from resnet_zoo.tools.parity import randomize_

CFG_KEYS = {
    "input_size",
    "test_input_size",
    "pool_size",
    "crop_pct",
    "crop_mode",
    "interpolation",
    "mean",
    "std",
    "num_classes",
    "first_conv",
    "classifier",
    "fixed_input_size",
    "label_names",
}


def pair(name: str, **kwargs):
    """(ours, timm's) with the same random weights and statistics, in eval mode."""
    ref = randomize_(timm.create_model(name, **kwargs)).eval()
    ours = resnet_zoo.create_model(name, **kwargs).eval()
    ours.load_state_dict(ref.state_dict(), strict=True)
    return ours, ref


def test_pretrained_cfg_is_timms_dict_without_weights():
    model = resnet_zoo.create_model("resnetv2_50d")
    cfg = model.pretrained_cfg
    assert isinstance(cfg, dict) and set(cfg) >= CFG_KEYS and model.default_cfg is cfg
    ref = timm.create_model("resnetv2_50d").pretrained_cfg
    for key in ("input_size", "pool_size", "first_conv", "classifier", "num_classes", "fixed_input_size"):
        assert cfg[key] == ref[key], key
    assert model.weights is None
    assert timm.data.resolve_model_data_config(model)["input_size"] == (3, 224, 224)
    assert resnet_zoo.create_model("cifar_resnet20", in_chans=1).pretrained_cfg["input_size"] == (1, 32, 32)


def test_pretrained_cfg_of_a_weight_drives_timms_transform():
    from PIL import Image

    model = resnet_zoo.create_model("cifar_resnet20.digits", pretrained=True)
    cfg = model.pretrained_cfg
    assert cfg["tag"] == "digits" and cfg["label_names"] == tuple("0123456789") and cfg["num_classes"] == 10
    assert model.weights.name == "cifar_resnet20.digits" and model.weights.labels() == list("0123456789")
    data_cfg = timm.data.resolve_model_data_config(model)
    assert data_cfg["input_size"] == (1, 32, 32) and data_cfg["mean"] == (0.5,)
    timm_tf = timm.data.create_transform(**data_cfg)
    img = Image.linear_gradient("L").resize((45, 37))
    assert torch.allclose(timm_tf(img), model.weights.transforms()(img), atol=1e-6)
    with pytest.warns(UserWarning, match="new 3-class"):
        new_head = resnet_zoo.create_model("cifar_resnet20.digits", pretrained=True, num_classes=3)
    assert new_head.pretrained_cfg["label_names"] is None


def test_pretrained_cfg_overlay_and_tag_argument():
    model = resnet_zoo.create_model("resnet18", pretrained_cfg_overlay=dict(mean=[0.5] * 3, crop_pct=1.0))
    assert model.pretrained_cfg["mean"] == (0.5, 0.5, 0.5) and model.pretrained_cfg["crop_pct"] == 1.0
    model = resnet_zoo.create_model("cifar_resnet20", pretrained=True, pretrained_cfg="digits")
    assert model.weights.name == "cifar_resnet20.digits"


@pytest.mark.parametrize("name", ["resnet18", "resnetv2_18d"])
def test_global_pool_empty_gives_unpooled_features_as_timm(name, odd_input):
    ours, ref = pair(name, num_classes=0, global_pool="")
    with torch.no_grad():
        a, b = ours(odd_input), ref(odd_input)
    assert a.ndim == 4 and a.shape == b.shape and max_rel_diff(a, b) <= 1e-5
    ours2 = resnet_zoo.create_model(name)
    ours2.reset_classifier(0, "")
    assert ours2.forward_head(torch.randn(1, ours2.num_features, 3, 3)).shape[-2:] == (3, 3)


def test_global_pool_empty_with_classes():
    ours, ref = pair("resnetv2_18", global_pool="")  # a 1x1-conv classifier: a map of logits, as timm
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.allclose(ours(x), ref(x), atol=1e-5) and ours(x).shape == (1, 1000, 2, 2)
    with pytest.raises(resnet_zoo.InvalidArgumentError, match="global_pool=''"):
        resnet_zoo.create_model("resnet18", global_pool="")  # timm builds it and fails in forward


CASES = [
    ("resnet18", dict()),
    ("resnet50d", dict(indices=2, stop_early=True)),
    ("resnet26t", dict(indices=[0, -1])),
    ("resnetv2_18d", dict(indices=[1, 4], norm=True)),
    ("resnetv2_50", dict(indices=[0, 2], stop_early=True)),
]


@pytest.mark.parametrize("name,kwargs", CASES)
def test_forward_intermediates_equal_timm(name, kwargs):
    ours, ref = pair(name)
    c = 3
    x = torch.randn(2, c, 67, 93, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        final, inters = ours.forward_intermediates(x, **kwargs)
        ref_final, ref_inters = ref.forward_intermediates(x, **kwargs)
        only = ours.forward_intermediates(x, intermediates_only=True, **kwargs)
    assert len(inters) == len(ref_inters) == len(only)
    for a, b, o in zip(inters, ref_inters, only):
        assert max_rel_diff(a, b) <= 1e-5 and torch.equal(a, o)
    assert max_rel_diff(final, ref_final) <= 1e-5
    with pytest.raises(resnet_zoo.InvalidArgumentError, match="NCHW"):
        ours.forward_intermediates(x, output_fmt="NHWC")


@pytest.mark.parametrize(
    "name,indices,prune_norm",
    [("resnet50", [1, 2], False), ("resnetv2_18", 1, False), ("resnetv2_34d", [0, 3], True), ("resnet18", [0], False)],
)
def test_prune_intermediate_layers_equal_timm(name, indices, prune_norm, odd_input):
    ours, ref = pair(name)
    assert ours.prune_intermediate_layers(indices, prune_norm=prune_norm) == ref.prune_intermediate_layers(
        indices, prune_norm=prune_norm
    )
    assert ours.num_features == ref.num_features and ours.num_classes == ref.num_classes == 0
    with torch.no_grad():
        assert max_rel_diff(ours.forward_features(odd_input), ref.forward_features(odd_input)) <= 1e-5
        assert max_rel_diff(ours(odd_input), ref(odd_input)) <= 1e-5
        a = ours.forward_intermediates(odd_input, indices, intermediates_only=True)
        b = ref.forward_intermediates(odd_input, indices, intermediates_only=True)
    assert all(max_rel_diff(p, q) <= 1e-5 for p, q in zip(a, b))


@pytest.mark.parametrize("name,norm", [("resnet34", False), ("resnetv2_50d", True), ("resnetv2_18", False)])
def test_timm_feature_getter_wraps_our_models(name, norm, odd_input):
    ours, ref = pair(name)
    mine, theirs = FeatureGetterNet(ours, out_indices=(1, 3, 4), norm=norm), FeatureGetterNet(ref, (1, 3, 4), norm=norm)
    with torch.no_grad():
        a, b = mine(odd_input), theirs(odd_input)
    assert [t.shape for t in a] == [t.shape for t in b]
    assert all(max_rel_diff(p, q) <= 1e-5 for p, q in zip(a, b))
    assert mine.feature_info.channels() == theirs.feature_info.channels()


def test_timm_factory_arguments():
    model = resnet_zoo.create_model("resnet18", scriptable=True, exportable=True, no_jit=True)
    assert isinstance(model, resnet_zoo.ResNet)
    backbone = resnet_zoo.create_model("resnet18", features_only=True, feature_cfg=dict(out_indices=(2, 4)))
    assert backbone.feature_info.channels() == [128, 512]
    getter = resnet_zoo.create_model("resnet18", features_only=True, feature_cls="getter").eval()
    assert len(getter(torch.randn(1, 3, 32, 32))) == 5
    with pytest.raises(resnet_zoo.InvalidArgumentError, match="create_feature_extractor"):
        resnet_zoo.create_model("resnet18", features_only=True, feature_cls="dict")
    with pytest.raises(resnet_zoo.InvalidArgumentError, match="HF_HUB_CACHE"):
        resnet_zoo.create_model("resnet18", pretrained=True, cache_dir="/tmp/x")
    with pytest.raises(resnet_zoo.InvalidArgumentError, match="download the file"):
        resnet_zoo.create_model("resnet18", pretrained=True, pretrained_cfg_overlay=dict(url="http://x/y.pth"))


def test_checkpoint_path_and_overlay_file(tmp_path):
    from safetensors.torch import save_file

    src = randomize_(resnet_zoo.create_model("resnet10t", num_classes=7)).eval()
    path = tmp_path / "ckpt.safetensors"
    save_file({k: v.contiguous() for k, v in src.state_dict().items()}, str(path))
    x = torch.randn(1, 3, 40, 40)
    a = resnet_zoo.create_model("resnet10t", num_classes=7, checkpoint_path=str(path)).eval()
    b = resnet_zoo.create_model("resnet10t", pretrained=True, pretrained_cfg_overlay=dict(file=str(path)))
    with torch.no_grad():
        assert torch.equal(a(x), src(x)) and torch.allclose(b(x), src(x), atol=1e-6)
    with pytest.raises(resnet_zoo.IncompatibleCheckpointError, match="num_classes=7"):
        resnet_zoo.create_model("resnet10t", checkpoint_path=str(path))


def test_torchvision_enum_names_are_aliases():
    assert resnet_zoo.get_weights("resnet50.IMAGENET1K_V1").name == "resnet50.tv_in1k"
    assert resnet_zoo.get_weights("resnet50.IMAGENET1K_V2").name == "resnet50.tv2_in1k"
    assert resnet_zoo.get_weights("resnet50.DEFAULT").name == resnet_zoo.get_weights("resnet50").name
    assert resnet_zoo.get_weights("cifar_resnet20.DEFAULT").name == "cifar_resnet20.digits"
    model = resnet_zoo.create_model("cifar_resnet20.DEFAULT", pretrained=True)
    assert model.weights.name == "cifar_resnet20.digits"


def test_listings_in_timms_shape():
    assert resnet_zoo.list_models("resnet50*")[:2] == ["resnet50", "resnet50c"]
    tagged = resnet_zoo.list_models("resnet50", pretrained=True)
    assert tagged and all(n.startswith("resnet50.") for n in tagged)
    assert resnet_zoo.list_models("cifar*", pretrained=True, include_tags=False) == ["cifar_resnet20"]
    assert resnet_zoo.list_pretrained("resnet50.*", exclude_filters="*tv*") == [
        n for n in resnet_zoo.list_pretrained("resnet50.*") if "tv" not in n
    ]
