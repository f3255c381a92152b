"""torch.hub entrypoints for resnet_zoo: one per registered architecture, generated from its spec.

model = torch.hub.load("<owner>/resnet_zoo", "resnet50")    # from GitHub (<owner>: the account hosting it)
model = torch.hub.load("/path/to/resnet_zoo", "resnet50", source="local")  # from a checkout
model = torch.hub.load(..., "resnet50", pretrained=True, weights="a1_in1k")
"""

import resnet_zoo as _zoo

dependencies = ["torch", "safetensors", "huggingface_hub", "requests"]


class _Entrypoint:
    """A named builder whose docstring (with parameter count and GMACs) is computed when read.

    Computing FLOPs for all entrypoints at import would cost ~20 s on every torch.hub.load;
    torch.hub.help reads ``__doc__`` of one entrypoint only.
    """

    def __init__(self, name):
        self.__name__ = self.__qualname__ = name

    def __call__(self, pretrained=False, weights=None, **kwargs):
        name = self.__name__
        if weights is not None:
            name = weights if weights.startswith(f"{self.__name__}.") else f"{self.__name__}.{weights}"
        return _zoo.create_model(name, pretrained=pretrained or weights is not None, **kwargs)

    def __repr__(self):
        return f"<resnet_zoo hub entrypoint {self.__name__}>"

    @property
    def __doc__(self):
        info = _zoo.model_info(self.__name__)
        tags = [n.split(".", 1)[1] for n in _zoo.list_pretrained(f"{self.__name__}.*")]
        if tags:
            shown = ", ".join(repr(t) for t in tags[:3]) + (", ..." if len(tags) > 3 else "")
            weights_doc = f"a weight tag of this architecture ({shown}); implies pretrained."
        else:
            weights_doc = "none are published for this architecture (random init only)."
        return (
            f"{info.summary}.\n\n"
            f"{info.paper}.\n"
            f"{info.params / 1e6:.2f}M parameters, {info.gmacs:.2f} GMACs "
            f"({info.gflops:.2f} GFLOPs as torch.utils.flop_counter counts them) at "
            f"{info.input_size[1]}x{info.input_size[2]}.\n\n"
            "Args:\n"
            "    pretrained: False for random init; True for the default weights; a tag or a\n"
            "        .safetensors path.\n"
            f"    weights: {weights_doc}\n"
            "    **kwargs: num_classes, in_chans, drop_rate, drop_path_rate, global_pool,\n"
            "        output_stride and the other resnet_zoo.create_model arguments.\n"
        )


for _name in _zoo.list_models():
    globals()[_name] = _Entrypoint(_name)
del _name
