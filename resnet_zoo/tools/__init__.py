"""The optional-dependency side: convert -> check -> publish, model cards, build-hub, parity against
timm/torchvision, interop with Keras and transformers, manifest sync, README tables.

Nothing in the runtime road imports this package; its modules import timm, keras, transformers
or numpy where they need them.
"""
