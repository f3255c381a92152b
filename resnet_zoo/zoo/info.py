"""``model_info``: parameters, GMACs and feature taps of an architecture, counted on ``meta``."""

from dataclasses import dataclass
from functools import cache
from typing import Any

import torch
import torch.nn as nn
from torch.utils.flop_counter import FlopCounterMode

from ..nn.meta import meta_device
from .registry import build_model, get_spec


@dataclass(frozen=True)
class ModelInfo:
    name: str
    family: str
    summary: str
    paper: str
    params: int
    gmacs: float
    input_size: tuple[int, int, int]
    feature_info: tuple[dict[str, Any], ...]
    timm_name: str | None
    torchvision_name: str | None

    @property
    def gflops(self) -> float:
        """FLOPs as ``torch.utils.flop_counter`` counts them: two per multiply-accumulate."""
        return 2 * self.gmacs


def count_gmacs(model: nn.Module, input_size: tuple[int, int, int]) -> float:
    """Multiply-accumulates (billions) of one forward at ``input_size``, via torch's flop counter
    (which counts two FLOPs per MAC)."""
    device = next(model.parameters()).device
    x = torch.empty((1, *input_size), device=device)
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model.eval()(x)
    return counter.get_total_flops() / 2 / 1e9


@cache
def model_info(name: str) -> ModelInfo:
    """Parameter count, GMACs at the default input, feature channels/reductions of ``name``.

    Built on the ``meta`` device, so this costs no memory and no initialisation.
    """
    spec = get_spec(name)
    with meta_device():
        model = build_model(spec.name)
        params = sum(p.numel() for p in model.parameters())
        gmacs = count_gmacs(model, spec.input_size)
    return ModelInfo(
        spec.name,
        spec.family,
        spec.summary,
        spec.paper,
        params,
        gmacs,
        spec.input_size,
        tuple(dict(d) for d in model.feature_info),
        spec.timm_name,
        spec.torchvision_name,
    )
