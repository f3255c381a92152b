"""Inference and deployment: BN folding and fast paths, prediction, export."""

from .optimize import optimize_for_inference

__all__ = ["optimize_for_inference"]
