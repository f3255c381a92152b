"""The variant table and the registry over it: names -> specs -> models, and what they cost."""

from .info import ModelInfo, count_gmacs, model_info
from .registry import ArchKeys, arch_keys, build_model, get_spec, is_model, list_models, model_args, split_name
from .specs import SPECS, ResNetSpec

__all__ = [
    "SPECS",
    "ResNetSpec",
    "ModelInfo",
    "ArchKeys",
    "model_info",
    "count_gmacs",
    "arch_keys",
    "build_model",
    "get_spec",
    "is_model",
    "list_models",
    "model_args",
    "split_name",
]
