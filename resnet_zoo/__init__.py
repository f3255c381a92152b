"""resnet_zoo: the ResNet family from scratch, with verified pretrained weights.

>>> import resnet_zoo
>>> model = resnet_zoo.create_model("resnet50")
>>> resnet_zoo.list_models("resnet5*")[:3]
['resnet50', 'resnet50c', 'resnet50d']
"""

from .errors import (IncompatibleCheckpointError, IntegrityError, InvalidArgumentError, ResNetZooError,
                     UnknownModelError, WeightsNotAvailableError)
from .inference import optimize_for_inference
from .manifest import WeightSpec, get_weights, list_pretrained
from .registry import ModelInfo, create_model, get_spec, is_model, list_models, model_info
from .resnet import ResNet
from .resnetv2 import ResNetV2
from .seed_api import ResNet50, ResNet101, ResNet152
from .specs import SPECS, ResNetSpec
from .tuning import freeze, param_groups, unfreeze

__version__ = "0.1.0"

__all__ = [
    "create_model", "list_models", "optimize_for_inference", "freeze", "unfreeze", "param_groups", "list_pretrained", "get_weights", "WeightSpec", "is_model", "model_info", "get_spec", "ModelInfo", "ResNet", "ResNetV2",
    "ResNetSpec", "SPECS", "ResNet50", "ResNet101", "ResNet152", "ResNetZooError", "UnknownModelError",
    "InvalidArgumentError", "WeightsNotAvailableError", "IntegrityError", "IncompatibleCheckpointError",
    "__version__",
]
