import os
import socket
import tempfile

# No test reaches the internet or the user's caches: huggingface_hub reads these at import, so
# they are set before anything imports it. Tests that need a Hub start olah on loopback.
with socket.socket() as _s:
    _s.bind(("127.0.0.1", 0))
    _CLOSED_PORT = _s.getsockname()[1]
os.environ["HF_ENDPOINT"] = f"http://127.0.0.1:{_CLOSED_PORT}"
os.environ["HF_HOME"] = tempfile.mkdtemp(prefix="resnet-zoo-tests-hf-")
os.environ.pop("HF_HUB_OFFLINE", None)
os.environ.pop("RESNET_ZOO_HUB_DIR", None)
os.environ.pop("RESNET_ZOO_MANIFEST", None)
os.environ.setdefault("KERAS_BACKEND", "torch")  # Keras 3 on PyTorch: no TensorFlow on these machines

import pytest
import torch

from resnet_zoo.tools.parity import PARITY_INPUT


@pytest.fixture
def odd_input() -> torch.Tensor:
    """A seeded, odd-sized, non-square batch (2x3x67x93)."""
    return torch.randn(*PARITY_INPUT, generator=torch.Generator().manual_seed(0))


def max_rel_diff(ours: torch.Tensor, ref: torch.Tensor) -> float:
    """max |ours - ref| as a fraction of max |ref|."""
    return ((ours - ref).abs().max() / ref.abs().max().clamp_min(1e-12)).item()


def assert_parity(result) -> None:
    """A ParityResult within tolerance: same parameter count, eval and train outputs within RTOL."""
    from resnet_zoo.tools.parity import RTOL

    assert result.reference_scale > 0 and result.params == result.reference_params, result
    assert result.max_abs_diff_eval <= RTOL * result.reference_scale, result
    assert result.max_abs_diff_train <= RTOL * result.reference_scale, result


# One representative per family stays in the fast subset (pytest -m "not slow"); the rest of a sweep
# over every variant is marked slow. The README's test command runs both.
FAST_REPRESENTATIVES = {
    "resnet18",
    "resnet50d",
    "resnet10t",
    "resnext50_32x4d",
    "seresnext26t_32x4d",
    "ecaresnet26t",
    "resnetrs50",
    "resnetv2_18d",
    "resnetv2_50t",
    "resnet50_keras",
    "resnet50v2_keras",
    "cifar_resnet20",
}


def sweep(names, fast=FAST_REPRESENTATIVES):
    """``names`` as pytest params, all but the representatives marked slow."""
    return [n if n in fast else pytest.param(n, marks=pytest.mark.slow) for n in names]
