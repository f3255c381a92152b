"""timm's ``pretrained_cfg`` of a weight: a plain dict with timm's keys, from a manifest entry.

``timm.data.resolve_model_data_config(model)`` reads it; ``config.json`` files in timm's layout
carry it. The architecture-side keys (``first_conv``, ``classifier``, ``pool_size``) come from the
model (``resnet_zoo.models.base.arch_pretrained_cfg``); these overlay them.
"""

from typing import Any

from .manifest import Weights
from .transforms import Preprocessing


def preprocessing_cfg(pre: Preprocessing) -> dict[str, Any]:
    """The data keys of a pretrained_cfg (what ``timm.data.resolve_data_config`` reads)."""
    return {
        "input_size": tuple(pre.input_size),
        "test_input_size": tuple(pre.test_input_size) if pre.test_input_size else None,
        "fixed_input_size": False,
        "interpolation": pre.interpolation,
        "crop_pct": pre.crop_pct,
        "test_crop_pct": pre.test_crop_pct,
        "crop_mode": pre.crop_mode,
        "mean": tuple(pre.mean),
        "std": tuple(pre.std),
    }


def preprocessing_from_cfg(cfg: dict[str, Any], extra: dict[str, Any] | None = None) -> Preprocessing:
    """The inverse of :func:`preprocessing_cfg` (timm's defaults where a key is missing);
    ``extra`` holds our own fields (``channel_order``, ``scale``) where a config keeps them."""
    size = tuple(cfg.get("input_size") or (3, 224, 224))
    test = cfg.get("test_input_size")
    return Preprocessing(
        input_size=size,
        interpolation=cfg.get("interpolation") or "bicubic",
        mean=tuple(cfg.get("mean") or (0.485, 0.456, 0.406)),
        std=tuple(cfg.get("std") or (0.229, 0.224, 0.225)),
        crop_pct=float(cfg.get("crop_pct") or 0.875),
        crop_mode=cfg.get("crop_mode") or "center",
        test_input_size=tuple(test) if test else None,
        test_crop_pct=cfg.get("test_crop_pct"),
        **(extra or {}),
    )


def hub_id_of(weight: Weights) -> str:
    """Where timm (or anyone) finds this weight on the Hub: our published repo, else the origin's."""
    return weight.hub.repo_id if weight.hub.published else weight.origin.hf_hub_id


def weight_cfg(weight: Weights) -> dict[str, Any]:
    """The weight's half of a pretrained_cfg: tag, source, preprocessing, classes, license."""
    return {
        "url": weight.origin.url,
        "hf_hub_id": hub_id_of(weight),
        "architecture": weight.arch,
        "tag": weight.tag,
        "custom_load": False,
        **preprocessing_cfg(weight.preprocessing),
        "num_classes": weight.num_classes,
        "label_names": tuple(weight.labels()) if weight.label_set != "none" else None,
        "license": weight.license,
        "origin_url": weight.source_url,
        "paper_ids": "; ".join(weight.paper),
    }
