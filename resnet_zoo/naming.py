"""The one naming rule both roads share: a weight is named ``arch.tag`` (``resnet50.a1_in1k``)."""


def split_name(name: str) -> tuple[str, str | None]:
    """``"resnet50.a1_in1k"`` -> ``("resnet50", "a1_in1k")``; a bare arch gives a ``None`` tag."""
    arch, _, tag = name.partition(".")
    return arch, (tag or None)
