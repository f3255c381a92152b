"""Origin checkpoint layouts -> resnet_zoo state_dicts: one module per source format.

Converters are pure key and layout maps over tensors; they know nothing of files or hubs. Each
is strict: a key it cannot place, a key the architecture needs but the checkpoint lacks, or a
shape that does not fit raises :class:`~resnet_zoo.errors.IncompatibleCheckpointError` listing them.
"""

from .common import expected_shapes, strip_wrappers, verify_state_dict
from .timm import from_timm
from .torchvision import from_torchvision
from .keras import from_keras
from .transformers import from_transformers

CONVERTERS = {"timm": from_timm, "torchvision": from_torchvision, "transformers": from_transformers, "keras": from_keras,
              "resnet_zoo": from_timm}  # ours == timm's keys

__all__ = ["from_timm", "from_torchvision", "from_transformers", "from_keras", "verify_state_dict", "expected_shapes", "strip_wrappers", "CONVERTERS"]
