"""resnet_zoo: the ResNet family from scratch, with verified pretrained weights.

>>> import resnet_zoo
>>> model = resnet_zoo.create_model("resnet50")
>>> resnet_zoo.list_models("resnet5*")[:3]
['resnet50', 'resnet50c', 'resnet50d']
"""

from . import errors
from .errors import *  # noqa: F403  # every error class is public API: errors.__all__ lists them once
from .factory import create_model, list_models, list_pretrained
from .hub_io import push_to_hub, save_pretrained
from .infer.optimize import optimize_for_inference
from .infer.validate import validate
from .models import ResNet, ResNetBase, ResNetV2
from .seed_api import ResNet50, ResNet101, ResNet152
from .train.finetune import FinetuneResult, finetune
from .train.tuning import freeze, param_groups, unfreeze
from .version import __version__
from .weights.manifest import Weights
from .weights.repo import weights_record as get_weights
from .zoo import SPECS, ModelInfo, ResNetSpec, get_spec, is_model, model_info

WeightSpec = Weights  # the 0.1 name of :class:`Weights`, kept for existing code

__all__ = [
    "create_model",
    "save_pretrained",
    "validate",
    "push_to_hub",
    "list_models",
    "is_model",
    "get_spec",
    "model_info",
    "ModelInfo",
    "SPECS",
    "ResNetSpec",
    "list_pretrained",
    "get_weights",
    "Weights",
    "WeightSpec",
    "ResNetBase",
    "ResNet",
    "ResNetV2",
    "ResNet50",
    "ResNet101",
    "ResNet152",
    "optimize_for_inference",
    "finetune",
    "FinetuneResult",
    "freeze",
    "unfreeze",
    "param_groups",
    *errors.__all__,
    "__version__",
]
