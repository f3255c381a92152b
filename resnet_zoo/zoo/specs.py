"""The variant table: every registered name as one row of plain data.

A row names its family (which model class builds it), the architecture arguments, and where the
same network lives in timm and torchvision. Builders, ``hubconf.py`` entrypoints, CLI listings
and the README table are all generated from this table.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

PAPERS = {
    "resnet": "He et al. 2015, Deep Residual Learning for Image Recognition (arXiv:1512.03385)",
    "bag_of_tricks": "He et al. 2018, Bag of Tricks for Image Classification with CNNs (arXiv:1812.01187)",
    "resnext": "Xie et al. 2017, Aggregated Residual Transformations for Deep Neural Networks (arXiv:1611.05431)",
    "wide": "Zagoruyko & Komodakis 2016, Wide Residual Networks (arXiv:1605.07146)",
    "se": "Hu et al. 2018, Squeeze-and-Excitation Networks (arXiv:1709.01507)",
    "eca": "Wang et al. 2020, ECA-Net: Efficient Channel Attention (arXiv:1910.03151)",
    "resnetrs": "Bello et al. 2021, Revisiting ResNets: Improved Training and Scaling Strategies (arXiv:2103.07579)",
    "preact": "He et al. 2016, Identity Mappings in Deep Residual Networks (arXiv:1603.05027)",
    "rsb": "Wightman et al. 2021, ResNet strikes back (arXiv:2110.00476)",
    "keras": "Keras Applications (keras.applications.ResNet50 etc.), after He et al. 2015 and 2016",
}


@dataclass(frozen=True)
class ResNetSpec:
    """One registered architecture.

    ``family`` selects the class ("resnet": v1 :class:`~resnet_zoo.models.ResNet`, "resnetv2":
    pre-activation :class:`~resnet_zoo.models.ResNetV2`, "cifar": v1 class with the CIFAR stem);
    ``args`` are that class's keyword arguments.
    """

    name: str
    family: str
    args: Mapping[str, Any]
    summary: str
    paper: str
    timm_name: str | None = None
    torchvision_name: str | None = None
    input_size: tuple[int, int, int] = (3, 224, 224)


# Shorthand for the rows below. Stage depths:
R18, R34, R50, R101, R152, R200 = (2, 2, 2, 2), (3, 4, 6, 3), (3, 4, 6, 3), (3, 4, 23, 3), (3, 8, 36, 3), (3, 24, 36, 3)
D: dict[str, Any] = dict(stem_type="deep", stem_width=32, avg_down=True)  # ResNet-D: deep stem + avg-pool shortcut
C: dict[str, Any] = dict(stem_type="deep", stem_width=32)  # ResNet-C: deep stem
S: dict[str, Any] = dict(stem_type="deep", stem_width=64)  # ResNet-S: wide deep stem
T: dict[str, Any] = dict(stem_type="tiered", stem_width=32, avg_down=True)  # ResNet-T: tiered stem + avg-down
RS: dict[str, Any] = dict(
    stem_type="deep", stem_width=32, replace_stem_pool=True, avg_down=True, attention="se", se_ratio=0.25
)

_STEM_WORDS = {"": "7x7 stem", "deep": "deep 3x3 stem", "tiered": "tiered 3x3 stem"}


def _v1(
    name: str, block: str, layers: tuple[int, ...], paper: str, *, torchvision: bool = False, **args: Any
) -> ResNetSpec:
    parts = [_STEM_WORDS[args.get("stem_type", "")]]
    if args.get("avg_down"):
        parts.append("avg-down shortcut")
    if args.get("replace_stem_pool"):
        parts.append("conv stem pool")
    if args.get("attention"):
        parts.append(f"{args['attention'].upper()} attention")
    cardinality, base_width = args.get("cardinality", 1), args.get("base_width", 64)
    if cardinality > 1:
        parts.append(f"{cardinality}x{base_width}d grouped 3x3")
    elif base_width > 64:
        parts.append(f"{base_width // 64}x wide bottleneck")
    depth = sum(layers) * (2 if block == "basic" else 3) + 2
    summary = f"ResNet v1, {depth} layers, {block} blocks {layers}, {', '.join(parts)}"
    return ResNetSpec(
        name,
        "resnet",
        MappingProxyType(dict(block=block, layers=layers, **args)),
        summary,
        PAPERS[paper],
        timm_name=name,
        torchvision_name=name if torchvision else None,
    )


def _v2(name: str, layers: tuple[int, ...], *, basic: bool = False, **args: Any) -> ResNetSpec:
    channels = (64, 128, 256, 512) if basic else (256, 512, 1024, 2048)
    depth = sum(layers) * (2 if basic else 3) + 2
    stem = {"": "7x7 stem", "deep": "deep 3x3 stem", "tiered": "tiered 3x3 stem"}[args.get("stem_type", "")]
    extras = ", avg-down shortcut" if args.get("avg_down") else ""
    summary = (
        f"Pre-activation ResNet v2, {depth} layers, {'basic' if basic else 'bottleneck'} blocks "
        f"{layers}, {stem}{extras}"
    )
    return ResNetSpec(
        name,
        "resnetv2",
        MappingProxyType(dict(layers=layers, channels=channels, basic=basic, **args)),
        summary,
        PAPERS["preact"],
        timm_name=name,
    )


def _keras(name: str, layers: tuple[int, ...], v2: bool) -> ResNetSpec:
    depth = sum(layers) * 3 + 2
    if v2:
        args = dict(layers=layers, channels=(256, 512, 1024, 2048), basic=False, convention="keras")
        summary = (
            f"Keras Applications' ResNet{depth}V2: pre-activation, each stage's stride on its last block, "
            "biased stem/projection/last convs, BN eps 1.001e-5"
        )
    else:
        args = dict(block="bottleneck", layers=layers, convention="keras")
        summary = (
            f"Keras Applications' ResNet{depth}: v1 with the stride on the first 1x1, biased convs, BN eps 1.001e-5"
        )
    return ResNetSpec(name, "resnetv2" if v2 else "resnet", MappingProxyType(args), summary, PAPERS["keras"])


def _cifar(depth: int) -> ResNetSpec:
    n = (depth - 2) // 6
    return ResNetSpec(
        f"cifar_resnet{depth}",
        "cifar",
        MappingProxyType(
            dict(
                block="basic",
                layers=(n, n, n),
                channels=(16, 32, 64),
                stem_type="cifar",
                shortcut="zero_pad",
                num_classes=10,
            )
        ),
        f"CIFAR ResNet-{depth} (6n+2, n={n}): 3 stages of 16/32/64 channels, option-A zero-pad shortcuts",
        PAPERS["resnet"] + ", section 4.2",
        input_size=(3, 32, 32),
    )


SPECS: tuple[ResNetSpec, ...] = (
    # ResNet v1 / v1.5 and the Bag-of-Tricks stems
    _v1("resnet10t", "basic", (1, 1, 1, 1), "bag_of_tricks", **T),
    _v1("resnet14t", "bottleneck", (1, 1, 1, 1), "bag_of_tricks", **T),
    _v1("resnet18", "basic", R18, "resnet", torchvision=True),
    _v1("resnet18d", "basic", R18, "bag_of_tricks", **D),
    _v1("resnet26", "bottleneck", R18, "resnet"),
    _v1("resnet26d", "bottleneck", R18, "bag_of_tricks", **D),
    _v1("resnet26t", "bottleneck", R18, "bag_of_tricks", **T),
    _v1("resnet34", "basic", R34, "resnet", torchvision=True),
    _v1("resnet34d", "basic", R34, "bag_of_tricks", **D),
    _v1("resnet50", "bottleneck", R50, "resnet", torchvision=True),
    _v1("resnet50c", "bottleneck", R50, "bag_of_tricks", **C),
    _v1("resnet50d", "bottleneck", R50, "bag_of_tricks", **D),
    _v1("resnet50s", "bottleneck", R50, "bag_of_tricks", **S),
    _v1("resnet50t", "bottleneck", R50, "bag_of_tricks", **T),
    _v1("resnet101", "bottleneck", R101, "resnet", torchvision=True),
    _v1("resnet101c", "bottleneck", R101, "bag_of_tricks", **C),
    _v1("resnet101d", "bottleneck", R101, "bag_of_tricks", **D),
    _v1("resnet101s", "bottleneck", R101, "bag_of_tricks", **S),
    _v1("resnet152", "bottleneck", R152, "resnet", torchvision=True),
    _v1("resnet152c", "bottleneck", R152, "bag_of_tricks", **C),
    _v1("resnet152d", "bottleneck", R152, "bag_of_tricks", **D),
    _v1("resnet152s", "bottleneck", R152, "bag_of_tricks", **S),
    _v1("resnet200", "bottleneck", R200, "resnet"),
    _v1("resnet200d", "bottleneck", R200, "bag_of_tricks", **D),
    # ResNeXt and wide ResNets
    _v1("resnext50_32x4d", "bottleneck", R50, "resnext", torchvision=True, cardinality=32, base_width=4),
    _v1("resnext50d_32x4d", "bottleneck", R50, "resnext", cardinality=32, base_width=4, **D),
    _v1("resnext101_32x4d", "bottleneck", R101, "resnext", cardinality=32, base_width=4),
    _v1("resnext101_32x8d", "bottleneck", R101, "resnext", torchvision=True, cardinality=32, base_width=8),
    _v1("resnext101_32x16d", "bottleneck", R101, "resnext", cardinality=32, base_width=16),
    _v1("resnext101_64x4d", "bottleneck", R101, "resnext", torchvision=True, cardinality=64, base_width=4),
    _v1("wide_resnet50_2", "bottleneck", R50, "wide", torchvision=True, base_width=128),
    _v1("wide_resnet101_2", "bottleneck", R101, "wide", torchvision=True, base_width=128),
    # Squeeze-and-excitation
    _v1("seresnet18", "basic", R18, "se", attention="se"),
    _v1("seresnet34", "basic", R34, "se", attention="se"),
    _v1("seresnet50", "bottleneck", R50, "se", attention="se"),
    _v1("seresnet101", "bottleneck", R101, "se", attention="se"),
    _v1("seresnet152", "bottleneck", R152, "se", attention="se"),
    _v1("seresnet152d", "bottleneck", R152, "se", attention="se", **D),
    _v1("seresnext26d_32x4d", "bottleneck", R18, "se", attention="se", cardinality=32, base_width=4, **D),
    _v1("seresnext26t_32x4d", "bottleneck", R18, "se", attention="se", cardinality=32, base_width=4, **T),
    _v1("seresnext50_32x4d", "bottleneck", R50, "se", attention="se", cardinality=32, base_width=4),
    _v1("seresnext101_32x4d", "bottleneck", R101, "se", attention="se", cardinality=32, base_width=4),
    _v1("seresnext101_32x8d", "bottleneck", R101, "se", attention="se", cardinality=32, base_width=8),
    # Efficient channel attention
    _v1("ecaresnet26t", "bottleneck", R18, "eca", attention="eca", **T),
    _v1("ecaresnet50d", "bottleneck", R50, "eca", attention="eca", **D),
    _v1("ecaresnet50t", "bottleneck", R50, "eca", attention="eca", **T),
    _v1("ecaresnet101d", "bottleneck", R101, "eca", attention="eca", **D),
    _v1("ecaresnetlight", "bottleneck", (1, 1, 11, 3), "eca", attention="eca", stem_width=32, avg_down=True),
    # ResNet-RS
    _v1("resnetrs50", "bottleneck", R50, "resnetrs", **RS),
    _v1("resnetrs101", "bottleneck", R101, "resnetrs", **RS),
    _v1("resnetrs152", "bottleneck", R152, "resnetrs", **RS),
    _v1("resnetrs200", "bottleneck", R200, "resnetrs", **RS),
    # Pre-activation ResNet v2 (BatchNorm)
    _v2("resnetv2_18", R18, basic=True),
    _v2("resnetv2_18d", R18, basic=True, stem_type="deep", avg_down=True),
    _v2("resnetv2_34", R34, basic=True),
    _v2("resnetv2_34d", R34, basic=True, stem_type="deep", avg_down=True),
    _v2("resnetv2_50", R50),
    _v2("resnetv2_50d", R50, stem_type="deep", avg_down=True),
    _v2("resnetv2_50t", R50, stem_type="tiered", avg_down=True),
    _v2("resnetv2_101", R101),
    _v2("resnetv2_101d", R101, stem_type="deep", avg_down=True),
    _v2("resnetv2_152", R152),
    _v2("resnetv2_152d", R152, stem_type="deep", avg_down=True),
    # Keras Applications' networks, exactly (their weights convert from .h5 or a live keras.Model)
    _keras("resnet50_keras", R50, v2=False),
    _keras("resnet101_keras", R101, v2=False),
    _keras("resnet152_keras", R152, v2=False),
    _keras("resnet50v2_keras", R50, v2=True),
    _keras("resnet101v2_keras", R101, v2=True),
    _keras("resnet152v2_keras", R152, v2=True),
    # CIFAR ResNets (He et al. 2015, section 4.2)
    *(_cifar(d) for d in (20, 32, 44, 56, 110)),
)
