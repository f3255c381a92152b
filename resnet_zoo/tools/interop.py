"""The other implementations weights come from, built for conversion checks (tool-time: imports
transformers or keras when called): 🤗 transformers' ResNetForImageClassification and Keras
Applications' ResNets, each wrapped to take an NCHW batch and return logits."""

import os
from typing import Any

import torch
import torch.nn as nn

from ..weights.manifest import Weights
from ..zoo import get_spec


def transformers_config(arch: str) -> dict[str, Any]:
    """ResNetConfig arguments of the microsoft/resnet-* checkpoint for one of our v1 archs."""
    args = get_spec(arch).args
    basic = args["block"] == "basic"
    return dict(
        layer_type="basic" if basic else "bottleneck",
        depths=list(args["layers"]),
        hidden_sizes=[64, 128, 256, 512] if basic else [256, 512, 1024, 2048],
        num_labels=1000,
    )


class LogitsOf(nn.Module):
    """A transformers image classifier as a plain ``x -> logits`` module."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(pixel_values=x).logits


def transformers_reference(spec: Weights, state_dict: dict[str, torch.Tensor] | None) -> nn.Module:
    from transformers import ResNetConfig, ResNetForImageClassification

    model = ResNetForImageClassification(ResNetConfig(**transformers_config(spec.arch)))
    if state_dict is not None:
        model.load_state_dict(state_dict, strict=True)
    return LogitsOf(model).eval()


KERAS_ARCHS = {
    "resnet50": "resnet50_keras",
    "resnet101": "resnet101_keras",
    "resnet152": "resnet152_keras",
    "resnet50v2": "resnet50v2_keras",
    "resnet101v2": "resnet101v2_keras",
    "resnet152v2": "resnet152v2_keras",
}


def keras_model(arch: str, input_shape: tuple[int, int, int] | None = None) -> Any:
    """The Keras Applications model of one of our ``*_keras`` archs (random weights, logits out)."""
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras

    name = {v: k for k, v in KERAS_ARCHS.items()}[arch]
    builder = getattr(keras.applications, name.replace("resnet", "ResNet").replace("v2", "V2"))
    return builder(weights=None, classifier_activation=None, input_shape=input_shape)


def randomize_keras_(model: Any, seed: int = 0) -> Any:
    """Random BatchNorm statistics and affine parameters (fresh Keras BNs are identities)."""
    import keras
    import numpy as np

    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            n = layer.weights[0].shape[0]
            layer.set_weights(
                [
                    rng.uniform(0.5, 1.5, n).astype("float32"),
                    rng.normal(0, 0.1, n).astype("float32"),
                    rng.normal(0, 0.1, n).astype("float32"),
                    rng.uniform(0.75, 1.25, n).astype("float32"),
                ]
            )
    return model


def keras_input(x: torch.Tensor) -> Any:
    """An NCHW batch as the NHWC array a Keras model takes."""
    return x.permute(0, 2, 3, 1).contiguous().numpy()


class KerasLogits(nn.Module):
    """A Keras model as an NCHW ``x -> logits`` callable (inference mode)."""

    def __init__(self, model: Any) -> None:
        super().__init__()
        self.keras_model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        import keras
        import numpy as np

        return torch.as_tensor(np.asarray(keras.ops.convert_to_numpy(self.keras_model(keras_input(x), training=False))))
