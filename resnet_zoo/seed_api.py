"""The API of the article the project started from: ``ResNet50(img_channel=3, num_classes=1000)``.

The article's network is the bottleneck ResNet with 1x1-projection shortcuts; these are the same
registered ``resnet50/101/152`` builds (stride on the 3x3 conv, as torchvision and timm).
"""

from .factory import create_model
from .models import ResNetBase


def ResNet50(img_channel: int = 3, num_classes: int = 1000) -> ResNetBase:
    """ResNet-50 (layers 3-4-6-3) for ``img_channel`` input channels."""
    return create_model("resnet50", in_chans=img_channel, num_classes=num_classes)


def ResNet101(img_channel: int = 3, num_classes: int = 1000) -> ResNetBase:
    """ResNet-101 (layers 3-4-23-3) for ``img_channel`` input channels."""
    return create_model("resnet101", in_chans=img_channel, num_classes=num_classes)


def ResNet152(img_channel: int = 3, num_classes: int = 1000) -> ResNetBase:
    """ResNet-152 (layers 3-8-36-3) for ``img_channel`` input channels."""
    return create_model("resnet152", in_chans=img_channel, num_classes=num_classes)
