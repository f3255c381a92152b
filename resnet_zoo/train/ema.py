"""An exponential moving average of a model's weights (timm's ``--model-ema``): validated and
saved in place of the raw weights, which it usually beats on small, noisy fine-tuning sets."""

import copy

import torch
import torch.nn as nn


class ModelEma:
    """``ema = decay * ema + (1 - decay) * weights`` after every optimiser step; buffers (BatchNorm
    statistics) are copied. ``module`` is a frozen copy in eval mode on the model's device."""

    def __init__(self, model: nn.Module, decay: float) -> None:
        self.decay = decay
        self.module = copy.deepcopy(_unwrap(model)).eval()
        for p in self.module.parameters():
            p.requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        source = _unwrap(model).state_dict()
        for name, value in self.module.state_dict().items():
            new = source[name].detach()
            if value.dtype.is_floating_point:
                value.mul_(self.decay).add_(new, alpha=1 - self.decay)
            else:
                value.copy_(new)

    def state_dict(self) -> dict[str, torch.Tensor]:
        return self.module.state_dict()

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self.module.load_state_dict(state)


def _unwrap(model: nn.Module) -> nn.Module:
    return model.module if isinstance(model, nn.parallel.DistributedDataParallel) else model
