"""Tag -> weights. Until the weights hub lands, every request for weights is refused clearly."""

from __future__ import annotations

from typing import Any

import torch.nn as nn

from .errors import WeightsNotAvailableError


def load_pretrained_model(name: str, pretrained: bool | str, overrides: dict[str, Any]) -> nn.Module:
    raise WeightsNotAvailableError(
        f"no pretrained weights are published for {name!r} yet (pretrained={pretrained!r}); "
        "use pretrained=False, or load a timm/torchvision state_dict with model.load_state_dict(...)")
