"""The registry and model API as a user meets it."""

import pytest
import torch

import resnet_zoo
from resnet_zoo import InvalidArgumentError, ResNetZooError, UnknownModelError

ALL_ISSUE_NAMES = [
    "resnet10t",
    "resnet14t",
    "resnet18",
    "resnet18d",
    "resnet26",
    "resnet26d",
    "resnet26t",
    "resnet34",
    "resnet34d",
    "resnet50",
    "resnet50c",
    "resnet50d",
    "resnet50s",
    "resnet50t",
    "resnet101",
    "resnet101c",
    "resnet101d",
    "resnet101s",
    "resnet152",
    "resnet152c",
    "resnet152d",
    "resnet152s",
    "resnet200",
    "resnet200d",
    "resnext50_32x4d",
    "resnext50d_32x4d",
    "resnext101_32x4d",
    "resnext101_32x8d",
    "resnext101_32x16d",
    "resnext101_64x4d",
    "wide_resnet50_2",
    "wide_resnet101_2",
    "seresnet18",
    "seresnet34",
    "seresnet50",
    "seresnet101",
    "seresnet152",
    "seresnet152d",
    "seresnext26d_32x4d",
    "seresnext26t_32x4d",
    "seresnext50_32x4d",
    "seresnext101_32x4d",
    "seresnext101_32x8d",
    "ecaresnet26t",
    "ecaresnet50d",
    "ecaresnet50t",
    "ecaresnet101d",
    "ecaresnetlight",
    "resnetrs50",
    "resnetrs101",
    "resnetrs152",
    "resnetrs200",
    "resnetv2_18",
    "resnetv2_18d",
    "resnetv2_34",
    "resnetv2_34d",
    "resnetv2_50",
    "resnetv2_50d",
    "resnetv2_50t",
    "resnetv2_101",
    "resnetv2_101d",
    "resnetv2_152",
    "resnetv2_152d",
    "cifar_resnet20",
    "cifar_resnet32",
    "cifar_resnet44",
    "cifar_resnet56",
    "cifar_resnet110",
    "resnet50_keras",
    "resnet101_keras",
    "resnet152_keras",
    "resnet50v2_keras",
    "resnet101v2_keras",
    "resnet152v2_keras",
]


def test_every_required_name_is_registered_once():
    names = resnet_zoo.list_models()
    assert sorted(names) == sorted(ALL_ISSUE_NAMES)
    assert len(names) == len(set(names))


def test_list_models_wildcards_and_exclude():
    assert resnet_zoo.list_models("resnet50?") == ["resnet50c", "resnet50d", "resnet50s", "resnet50t"]
    assert resnet_zoo.list_models(["cifar*", "resnetrs*"], exclude="*110") == [
        "resnetrs50",
        "resnetrs101",
        "resnetrs152",
        "resnetrs200",
        "cifar_resnet20",
        "cifar_resnet32",
        "cifar_resnet44",
        "cifar_resnet56",
    ]
    assert resnet_zoo.list_models("nothing*") == []


def test_is_model():
    assert resnet_zoo.is_model("resnet50") and resnet_zoo.is_model("resnet50.a1_in1k")
    assert not resnet_zoo.is_model("resnet51") and not resnet_zoo.is_model(50)


def test_model_info_resnet50():
    info = resnet_zoo.model_info("resnet50")
    assert info.params == 25_557_032
    assert info.gmacs == pytest.approx(4.09, abs=0.01)  # timm's/torchvision's published figure: 4.1
    assert info.gflops == pytest.approx(2 * info.gmacs)
    assert info.input_size == (3, 224, 224)
    assert [(f["num_chs"], f["reduction"]) for f in info.feature_info] == [
        (64, 2),
        (256, 4),
        (512, 8),
        (1024, 16),
        (2048, 32),
    ]
    assert info.timm_name == "resnet50" and info.torchvision_name == "resnet50"
    assert resnet_zoo.model_info("cifar_resnet20").input_size == (3, 32, 32)


def test_seed_article_check():
    net = resnet_zoo.ResNet101(img_channel=3, num_classes=1000)
    with torch.no_grad():
        assert net(torch.randn(4, 3, 224, 224)).shape == (4, 1000)
    assert resnet_zoo.ResNet50(img_channel=1, num_classes=5).conv1.in_channels == 1
    assert sum(p.numel() for p in resnet_zoo.ResNet152().parameters()) == 60_192_808


def test_timm_model_methods():
    model = resnet_zoo.create_model("resnet18", num_classes=10).eval()
    x = torch.randn(2, 3, 45, 61)
    feats = model.forward_features(x)
    assert feats.shape == (2, 512, 2, 2) and model.num_features == 512
    assert model.forward_head(feats, pre_logits=True).shape == (2, 512)
    assert torch.equal(model.forward_head(feats), model(x))
    assert model.get_classifier() is model.fc
    model.reset_classifier(3)
    assert model(x).shape == (2, 3)
    model.reset_classifier(0, global_pool="catavgmax")
    assert model(x).shape == (2, 1024)
    assert [f["module"] for f in model.feature_info] == ["act1", "layer1", "layer2", "layer3", "layer4"]


def test_v2_model_methods():
    model = resnet_zoo.create_model("resnetv2_18").eval()
    x = torch.randn(1, 3, 33, 35)
    assert model.get_classifier() is model.head.fc
    model.reset_classifier(5)
    assert model(x).shape == (1, 5) and "head.fc.weight" in model.state_dict()
    assert model.forward_head(model.forward_features(x), pre_logits=True).shape == (1, 512)


@pytest.mark.parametrize("name", ["resnet26d", "resnetv2_18d", "cifar_resnet20"])
def test_grad_checkpointing_gives_same_gradients(name):
    torch.manual_seed(0)
    model = resnet_zoo.create_model(name, num_classes=4).train()
    size = 32 if name.startswith("cifar") else 53
    x = torch.randn(2, 3, size, size + 6)
    model(x).square().sum().backward()
    plain = {k: p.grad.clone() for k, p in model.named_parameters()}
    model.zero_grad()
    model.set_grad_checkpointing(True)
    assert model.grad_checkpointing
    model(x).square().sum().backward()
    for k, p in model.named_parameters():
        torch.testing.assert_close(p.grad, plain[k], rtol=1e-5, atol=1e-6, msg=k)


def test_unknown_model_names_close_matches():
    with pytest.raises(UnknownModelError) as e:
        resnet_zoo.create_model("resnet51")
    message = str(e.value)
    assert "'resnet51'" in message and "resnet50" in message
    assert message.count(",") <= 4  # at most 5 suggestions
    assert isinstance(e.value, ResNetZooError) and isinstance(e.value, KeyError)
    with pytest.raises(UnknownModelError, match="list_models"):
        resnet_zoo.create_model("qqqqqq")


@pytest.mark.parametrize(
    "name,kwargs,needles",
    [
        ("resnet18", dict(num_classes=-1), ["num_classes=-1", ">= 0"]),
        ("resnet18", dict(num_classes=2.5), ["num_classes=2.5"]),
        ("resnet18", dict(in_chans=0), ["in_chans=0", ">= 1"]),
        ("resnet50", dict(output_stride=4), ["output_stride=4", "[8, 16, 32]"]),
        ("resnetv2_50", dict(output_stride=12), ["output_stride=12", "[8, 16, 32]"]),
        ("resnet18", dict(global_pool="mean"), ["global_pool='mean'", "'avg'", "'catavgmax'"]),
        ("resnet18", dict(shortcut="option_c"), ["shortcut='option_c'", "'projection'", "'zero_pad'"]),
        ("resnetv2_50", dict(shortcut="zero_pad"), ["shortcut='zero_pad'", "pre-activation", "'projection'"]),
        ("resnet50d", dict(shortcut="zero_pad"), ["avg_down", "zero_pad"]),
        ("resnet18", dict(drop_rate=1.5), ["drop_rate=1.5", "[0, 1)"]),
        ("resnet18", dict(dropout=0.1), ["dropout", "accepted", "drop_rate"]),
        ("resnet18", dict(layers=(1, 1, 1, 1)), ["layers", "cannot be overridden"]),
    ],
)
def test_bad_arguments_are_refused_before_any_tensor_is_allocated(name, kwargs, needles, monkeypatch):
    def no_allocation(*args, **kw):
        raise AssertionError("a layer was built before the arguments were checked")

    monkeypatch.setattr(torch.nn.Conv2d, "__init__", no_allocation)
    with pytest.raises(InvalidArgumentError) as e:
        resnet_zoo.create_model(name, **kwargs)
    assert isinstance(e.value, ValueError)
    for needle in needles:
        assert needle in str(e.value)


def test_bad_arguments_to_the_classes_directly():
    with pytest.raises(InvalidArgumentError, match="block='triple'"):
        resnet_zoo.ResNet(block="triple", layers=(1, 1, 1, 1))
    with pytest.raises(InvalidArgumentError, match="layers=\\(1, 1\\)"):
        resnet_zoo.ResNet(block="basic", layers=(1, 1))
    with pytest.raises(InvalidArgumentError, match="BasicBlock supports cardinality=1"):
        resnet_zoo.ResNet(block="basic", layers=(1, 1, 1, 1), cardinality=32, base_width=4)


def test_pretrained_argument():
    with pytest.raises(InvalidArgumentError, match="pretrained=3"):
        resnet_zoo.create_model("resnet18", pretrained=3)
    with pytest.raises(UnknownModelError, match="unknown weight 'resnet18.b9_in1k'"):
        resnet_zoo.create_model("resnet18", pretrained="b9_in1k")
    with pytest.raises(UnknownModelError, match="'seresnet18' has no pretrained weights"):
        resnet_zoo.create_model("seresnet18", pretrained=True)
    with pytest.raises(InvalidArgumentError, match="names the tag 'a1_in1k' but pretrained='a2_in1k'"):
        resnet_zoo.create_model("resnet18.a1_in1k", pretrained="a2_in1k")


def test_arch_dot_tag_names_build_the_arch():
    model = resnet_zoo.create_model("resnet18.a1_in1k")
    assert model.arch_name == "resnet18"
