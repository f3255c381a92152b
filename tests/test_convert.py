"""Converters: explicit, strict maps from origin layouts to ours."""

import pytest
import timm
import torch
import torchvision

import resnet_zoo
from resnet_zoo import IncompatibleCheckpointError
from resnet_zoo.convert.timm import from_timm
from resnet_zoo.convert.torchvision import from_torchvision
from resnet_zoo.factory import keys_of


def test_from_timm_is_the_identity_map_checked_strictly():
    sd = timm.create_model("resnet26d").state_dict()
    out = from_timm(sd, keys_of("resnet26d"))
    assert list(out) == list(sd) and all(out[k] is sd[k] for k in sd)
    resnet_zoo.create_model("resnet26d").load_state_dict(out, strict=True)


def test_from_timm_accepts_training_checkpoints_and_wrapper_prefixes():
    sd = timm.create_model("resnetv2_18").state_dict()
    wrapped = {"state_dict": {f"module.{k}": v for k, v in sd.items()}, "epoch": 3}
    out = from_timm(wrapped, keys_of("resnetv2_18"))
    assert set(out) == set(sd)


def test_from_torchvision_is_the_identity_map():
    sd = torchvision.models.resnext50_32x4d().state_dict()
    out = from_torchvision(sd, keys_of("resnext50_32x4d"))
    resnet_zoo.create_model("resnext50_32x4d").load_state_dict(out, strict=True)
    with pytest.raises(IncompatibleCheckpointError, match="torchvision has no 'resnet50d'"):
        from_torchvision(sd, keys_of("resnet50d"))


def test_strictness_lists_every_problem():
    sd = dict(timm.create_model("resnet18").state_dict())
    sd.pop("layer1.0.bn1.running_var")
    sd["layer9.extra.weight"] = torch.zeros(1)
    sd["layer2.0.conv1.weight"] = torch.zeros(128, 64, 5, 5)
    with pytest.raises(IncompatibleCheckpointError) as e:
        from_timm(sd, keys_of("resnet18"))
    message = str(e.value)
    assert "unexpected keys: layer9.extra.weight" in message
    assert "missing keys: layer1.0.bn1.running_var" in message
    assert "layer2.0.conv1.weight: checkpoint (128, 64, 5, 5) vs resnet18 (128, 64, 3, 3)" in message


def test_a_checkpoint_of_another_arch_is_refused():
    sd = timm.create_model("resnet34").state_dict()
    with pytest.raises(IncompatibleCheckpointError, match="does not fit 'resnet18'") as e:
        from_timm(sd, keys_of("resnet18"))
    assert "unexpected keys: layer1.2" in str(e.value)


def test_other_num_classes_and_in_chans_checkpoints_convert():
    sd = timm.create_model("resnet18", num_classes=10, in_chans=1).state_dict()
    out = from_timm(sd, keys_of("resnet18"))
    resnet_zoo.create_model("resnet18", num_classes=10, in_chans=1).load_state_dict(out, strict=True)
