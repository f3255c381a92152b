"""Class names of the label sets that weights are trained on."""

from functools import cache
from importlib import resources

DIGITS = [str(d) for d in range(10)]


@cache
def _imagenet_1k() -> tuple[str, ...]:
    text = (resources.files("resnet_zoo") / "data" / "imagenet-1k.txt").read_text()
    return tuple(line for line in text.splitlines() if line)


def label_names(label_set: str, num_classes: int) -> list[str]:
    """Names in class-index order; ``class_<i>`` for sets we hold no names for."""
    if label_set == "imagenet-1k":
        return list(_imagenet_1k())
    if label_set == "digits":
        return list(DIGITS)
    return [f"class_{i}" for i in range(num_classes)]
