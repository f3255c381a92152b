"""The weights road: manifest (tag -> facts), fetch (the source order), cache (hash, verify,
quarantine), load (read, check, convert, adapt, assign), transforms and labels."""

from .fetch import SOURCES, WeightFile, fetch_weights, weight_entry
from .manifest import (
    HubLocation,
    Origin,
    Parity,
    ReportedAccuracy,
    Weights,
    get_weights,
    list_pretrained,
    load_manifest,
)
from .transforms import EvalTransform, Preprocessing, eval_transform

__all__ = [
    "SOURCES",
    "WeightFile",
    "fetch_weights",
    "weight_entry",
    "HubLocation",
    "Origin",
    "Parity",
    "ReportedAccuracy",
    "Weights",
    "get_weights",
    "list_pretrained",
    "load_manifest",
    "EvalTransform",
    "Preprocessing",
    "eval_transform",
]
