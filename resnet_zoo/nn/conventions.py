"""The conventions of the checkpoint families: where strides and biases go, BatchNorm epsilon."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Convention:
    """Where a reference implementation puts strides and biases, and its BatchNorm epsilon.

    (A *convention* is about the network; a checkpoint's key *format* is the converters' business.)

    "timm" (also torchvision's): bias-free convs, BN eps 1e-5, the bottleneck's stride on its 3x3
    ("v1.5"), a v2 stage's stride on its first block. "keras" (Keras Applications): biased convs,
    eps 1.001e-5, the stride on the bottleneck's first 1x1 (the original v1), and a v2 stage's
    stride on its last block with a subsampling shortcut.
    """

    name: str
    conv_bias: bool = False
    bn_eps: float = 1e-5
    stride_in_1x1: bool = False
    stride_in_last_block: bool = False


CONVENTIONS = {
    "timm": Convention("timm"),
    "keras": Convention("keras", conv_bias=True, bn_eps=1.001e-5, stride_in_1x1=True, stride_in_last_block=True),
}
TIMM = CONVENTIONS["timm"]
