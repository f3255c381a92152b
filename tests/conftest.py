import pytest
import torch

from resnet_zoo.parity import PARITY_INPUT


@pytest.fixture
def odd_input() -> torch.Tensor:
    """A seeded, odd-sized, non-square batch (2x3x67x93)."""
    return torch.randn(*PARITY_INPUT, generator=torch.Generator().manual_seed(0))


def max_rel_diff(ours: torch.Tensor, ref: torch.Tensor) -> float:
    """max |ours - ref| as a fraction of max |ref|."""
    return ((ours - ref).abs().max() / ref.abs().max().clamp_min(1e-12)).item()
