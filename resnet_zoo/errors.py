"""One error hierarchy for the whole zoo; every message names the offending value and the fix."""

from __future__ import annotations


class ResNetZooError(Exception):
    """Base class of every error resnet_zoo raises on purpose."""


class UnknownModelError(ResNetZooError, KeyError):
    """A model name (or weight tag) that is not registered."""

    def __str__(self) -> str:  # KeyError would quote the message; keep it readable
        return str(self.args[0]) if self.args else ""


class InvalidArgumentError(ResNetZooError, ValueError):
    """A builder or API argument outside its allowed values."""


class WeightsNotAvailableError(ResNetZooError):
    """Weights were asked for but cannot be had (none published, or offline and not cached)."""


class IntegrityError(ResNetZooError):
    """A weight file's bytes do not match the hash pinned for it."""


class IncompatibleCheckpointError(ResNetZooError):
    """A checkpoint whose keys or shapes do not fit the architecture."""
