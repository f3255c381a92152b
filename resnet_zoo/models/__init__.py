"""The model classes: the shared contract (``ResNetBase``), ResNet v1 (and CIFAR nets), ResNet v2."""

from .base import FeatureInfo, ResNetBase
from .resnet import BasicBlock, Bottleneck, ResNet
from .resnetv2 import PreActBasic, PreActBottleneck, ResNetV2

__all__ = [
    "ResNetBase",
    "FeatureInfo",
    "ResNet",
    "BasicBlock",
    "Bottleneck",
    "ResNetV2",
    "PreActBasic",
    "PreActBottleneck",
]
