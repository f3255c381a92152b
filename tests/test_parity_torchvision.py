"""torchvision's ten ResNet builders: torchvision's randomised state_dict loads strictly into ours
and gives the same outputs."""

import pytest
import torchvision
from conftest import assert_parity, sweep

import resnet_zoo
from resnet_zoo.tools.parity import check_parity, has_reference

TORCHVISION_BUILDERS = [
    "resnet18",
    "resnet34",
    "resnet50",
    "resnet101",
    "resnet152",
    "resnext50_32x4d",
    "resnext101_32x8d",
    "resnext101_64x4d",
    "wide_resnet50_2",
    "wide_resnet101_2",
]


def test_all_ten_torchvision_resnets_are_registered_with_their_names():
    assert [n for n in resnet_zoo.list_models() if has_reference(n, "torchvision")] == TORCHVISION_BUILDERS
    for name in TORCHVISION_BUILDERS:
        assert callable(getattr(torchvision.models, name))


@pytest.mark.parametrize("name", sweep(TORCHVISION_BUILDERS, fast={"resnet18", "resnext50_32x4d"}))
def test_outputs_match_torchvision(name):
    assert_parity(check_parity(name, "torchvision"))
