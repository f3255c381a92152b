"""One error hierarchy for the whole zoo; every message names the offending value and the fix.

This module imports nothing, so every other module can raise these.
"""


class ResNetZooError(Exception):
    """Base class of every error resnet_zoo raises on purpose."""


class UnknownModelError(ResNetZooError, KeyError):
    """A model name (or weight tag) that is not registered."""

    def __str__(self) -> str:  # KeyError would quote the message; keep it readable
        return str(self.args[0]) if self.args else ""


class InvalidArgumentError(ResNetZooError, ValueError):
    """A builder or API argument outside its allowed values."""


class ManifestError(ResNetZooError, ValueError):
    """A manifest entry is malformed; the message names the entry and the field."""


class WeightsNotAvailableError(ResNetZooError):
    """Weights were asked for but cannot be had (none published, or offline and not cached)."""


class DownloadError(WeightsNotAvailableError):
    """A download kept failing (server errors, dropped connections, stalls) until the retries ran out."""


class NetworkUnreachableError(DownloadError):
    """The server cannot be reached at all (DNS failure, connection refused): not retried."""


class IntegrityError(ResNetZooError):
    """A weight file's bytes do not match the hash pinned for it."""


class IncompatibleCheckpointError(ResNetZooError):
    """A checkpoint whose keys or shapes do not fit the architecture."""


class ParityMismatchError(ResNetZooError):
    """A converted weight does not reproduce its origin's outputs; nothing was written."""


class ExportMismatchError(ResNetZooError):
    """An exported model's outputs differ from PyTorch's; the exported file was removed."""


class SyntheticWeightsWarning(UserWarning):
    """Loaded weights are synthetic: seeded random numbers standing in for trained weights."""


__all__ = [
    "ResNetZooError",
    "UnknownModelError",
    "InvalidArgumentError",
    "ManifestError",
    "WeightsNotAvailableError",
    "DownloadError",
    "NetworkUnreachableError",
    "IntegrityError",
    "IncompatibleCheckpointError",
    "ParityMismatchError",
    "ExportMismatchError",
    "SyntheticWeightsWarning",
]
