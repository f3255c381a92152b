"""Output parity against reference implementations (timm, torchvision), built with random weights.

The reference packages are imported only inside these functions: they are test- and tool-time
dependencies (``pip install resnet-zoo[test]``), never runtime ones.
"""

from dataclasses import dataclass

import torch
import torch.nn as nn

from ..errors import ResNetZooError
from ..zoo import build_model, get_spec, model_info

REFERENCES = ("timm", "torchvision")
PARITY_INPUT = (2, 3, 67, 93)  # odd, non-square: catches padding, ceil-mode and pooling mistakes
RTOL = 1e-5  # max |delta| allowed, as a fraction of max |reference output|


@torch.no_grad()
def randomize_(model: nn.Module, seed: int = 0) -> nn.Module:
    """Give every norm layer random affine parameters and running statistics.

    A freshly built ResNet zero-initialises the last BN of each branch and has identity running
    statistics, which would hide most mistakes in a residual branch or in eval-mode BN.
    """
    gen = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.running_mean is not None and m.running_var is not None:
            n = m.num_features
            m.weight.copy_(torch.rand(n, generator=gen) * 0.5 + 0.5)
            m.bias.copy_(torch.randn(n, generator=gen) * 0.1)
            m.running_mean.copy_(torch.randn(n, generator=gen) * 0.1)
            m.running_var.copy_(torch.rand(n, generator=gen) * 0.5 + 0.75)
    return model


def reference_model(name: str, reference: str = "timm", **kwargs) -> nn.Module:
    """Build the reference implementation's model of the same name (random init)."""
    spec = get_spec(name)
    if reference == "timm":
        if spec.timm_name is None:
            raise ResNetZooError(f"{name!r} has no timm counterpart")
        import timm

        return timm.create_model(spec.timm_name, pretrained=False, **kwargs)
    if reference == "torchvision":
        if spec.torchvision_name is None:
            raise ResNetZooError(f"{name!r} has no torchvision counterpart")
        import torchvision

        return getattr(torchvision.models, spec.torchvision_name)(weights=None, **kwargs)
    raise ResNetZooError(f"unknown reference {reference!r}; choose one of {list(REFERENCES)}")


def has_reference(name: str, reference: str) -> bool:
    spec = get_spec(name)
    return (spec.timm_name if reference == "timm" else spec.torchvision_name) is not None


@dataclass(frozen=True)
class ParityResult:
    name: str
    reference: str
    params: int
    reference_params: int
    gmacs: float
    max_abs_diff_eval: float
    max_abs_diff_train: float
    reference_scale: float

    @property
    def ok(self) -> bool:
        tol = RTOL * self.reference_scale
        return self.params == self.reference_params and self.max_abs_diff_eval <= tol and self.max_abs_diff_train <= tol


def check_parity(name: str, reference: str = "timm", seed: int = 0) -> ParityResult:
    """Load the reference's (randomised) state_dict into ours with ``strict=True`` and compare
    outputs on a seeded odd-sized input, in eval mode and in train mode (batch statistics)."""
    torch.manual_seed(seed)
    ref = randomize_(reference_model(name, reference), seed)
    ours = build_model(name)
    ours.load_state_dict(ref.state_dict(), strict=True)
    x = torch.randn(*PARITY_INPUT, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        y_ref, y_ours = ref.eval()(x), ours.eval()(x)
        diff_eval = (y_ref - y_ours).abs().max().item()
        scale = y_ref.abs().max().item()
        diff_train = (ref.train()(x) - ours.train()(x)).abs().max().item()
    return ParityResult(
        name,
        reference,
        sum(p.numel() for p in ours.parameters()),
        sum(p.numel() for p in ref.parameters()),
        model_info(name).gmacs,
        diff_eval,
        diff_train,
        scale,
    )
