"""Keras Applications (ResNet50/101/152 and their V2) -> resnet_zoo ``*_keras`` state_dicts.

Sources: a live ``keras.Model`` (Keras 3, any backend), a Keras 3 ``.weights.h5`` file
(``model.save_weights``), or a legacy Keras 2 ``.h5`` weights file (the files Keras Applications
publishes), read with h5py alone, no TensorFlow. Kernels are transposed from HWIO to OIHW and Dense
kernels from (in, out) to (out, in); BatchNorm's gamma/beta/moving mean/variance become
weight/bias/running_mean/running_var. Strict: every Keras weight is used exactly once.
"""

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import IncompatibleCheckpointError
from .common import ArchKeys, KeysFor, verify_state_dict

BN_FIELDS = ("weight", "bias", "running_mean", "running_var")  # Keras order: gamma, beta, mean, variance


def _structure(keys: ArchKeys) -> tuple[bool, list[int]]:
    """(pre-activation?, blocks per stage) of a Keras-convention architecture, read off its keys."""
    shapes = keys.shapes
    v2 = "stem.conv.weight" in shapes
    if not ("stem.conv.bias" in shapes if v2 else "conv1.bias" in shapes):  # Keras' stems are biased
        raise IncompatibleCheckpointError(
            f"{keys.arch!r} is not a Keras-convention architecture; use one of the "
            "*_keras names (resnet50_keras, resnet50v2_keras, ...)"
        )
    pattern = re.compile(r"^stages\.(\d+)\.blocks\.(\d+)\." if v2 else r"^layer(\d+)\.(\d+)\.")
    blocks: dict[int, set[int]] = {}
    for key in shapes:
        m = pattern.match(key)
        if m:
            blocks.setdefault(int(m[1]), set()).add(int(m[2]))
    return v2, [len(blocks[s]) for s in sorted(blocks)]


def keras_layer_names(keys: ArchKeys) -> list[tuple[str, str]]:
    """(Keras layer name, kind) with weights, in the order Keras Applications creates them."""
    v2, depths = _structure(keys)
    names = [("conv1_conv", "conv")] + ([] if v2 else [("conv1_bn", "bn")])
    # model.layers order (topological): the residual branch's first two convs come before the
    # shortcut conv, which comes before the last conv of the branch
    for s, depth in enumerate(depths, start=2):
        for b in range(1, depth + 1):
            p = f"conv{s}_block{b}"
            branch = [(f"{p}_1_conv", "conv"), (f"{p}_1_bn", "bn"), (f"{p}_2_conv", "conv"), (f"{p}_2_bn", "bn")]
            if v2:
                names += [(f"{p}_preact_bn", "bn"), *branch]
                names += [(f"{p}_0_conv", "conv")] if b == 1 else []
                names.append((f"{p}_3_conv", "conv"))
            elif b == 1:
                names += [
                    *branch,
                    (f"{p}_0_conv", "conv"),
                    (f"{p}_3_conv", "conv"),
                    (f"{p}_0_bn", "bn"),
                    (f"{p}_3_bn", "bn"),
                ]
            else:
                names += [*branch, (f"{p}_3_conv", "conv"), (f"{p}_3_bn", "bn")]
    names += ([("post_bn", "bn")] if v2 else []) + [("predictions", "dense")]
    return names


def _target(name: str, v2: bool) -> str:
    """Our module name for a Keras layer name."""
    if name == "conv1_conv":
        return "stem.conv" if v2 else "conv1"
    if name == "conv1_bn":
        return "bn1"
    if name == "post_bn":
        return "norm"
    if name == "predictions":
        return "head.fc" if v2 else "fc"
    m = re.fullmatch(r"conv(\d)_block(\d+)_(preact|\d)_(conv|bn)", name)
    if not m:
        raise IncompatibleCheckpointError(f"Keras layer {name!r} is not part of a Keras Applications ResNet")
    stage, block, part, kind = int(m[1]) - 2, int(m[2]) - 1, m[3], m[4]
    if v2:
        base = f"stages.{stage}.blocks.{block}"
        return {
            "preact": f"{base}.norm1",
            "0": f"{base}.downsample.conv",
            "1": f"{base}.conv1" if kind == "conv" else f"{base}.norm2",
            "2": f"{base}.conv2" if kind == "conv" else f"{base}.norm3",
            "3": f"{base}.conv3",
        }[part]
    base = f"layer{stage + 1}.{block}"
    if part == "0":
        return f"{base}.downsample.{0 if kind == 'conv' else 1}"
    return f"{base}.{kind}{part}"


def _weights_of_model(model: Any) -> dict[str, list[np.ndarray]]:
    import keras

    return {
        layer.name: [np.asarray(keras.ops.convert_to_numpy(w)) for w in layer.weights]
        for layer in model.layers
        if layer.weights
    }


def _weights_of_h5(path: Path, keys: ArchKeys) -> dict[str, list[np.ndarray]]:
    import h5py

    with h5py.File(path, "r") as f:
        if "layers" in f and "layer_names" not in f.attrs:  # Keras 3 .weights.h5: layers named by type
            return _keras3_by_type_order(f["layers"], keys)
        layer_names = [n.decode() if isinstance(n, bytes) else n for n in f.attrs["layer_names"]]
        out = {}
        for name in layer_names:
            group = f[name]
            weight_names = [w.decode() if isinstance(w, bytes) else w for w in group.attrs.get("weight_names", [])]
            if weight_names:
                out[name] = [np.asarray(group[w]) for w in weight_names]
        return out


def _keras3_by_type_order(layers: Any, keys: ArchKeys) -> dict[str, list[np.ndarray]]:
    """Keras 3 files key layers by type and creation index (``conv2d_7``); Keras Applications creates
    its layers in a fixed order, so the n-th conv of the file is the n-th conv of that order."""
    kinds = {"conv": "conv2d", "bn": "batch_normalization", "dense": "dense"}
    stored: dict[str, list[tuple[int, list[np.ndarray]]]] = {k: [] for k in kinds.values()}
    for key in layers:
        m = re.fullmatch(r"(.+?)(?:_(\d+))?", key)
        vars_group = layers[key].get("vars")
        if m and m[1] in stored and vars_group is not None and len(vars_group):
            values = [np.asarray(vars_group[str(i)]) for i in range(len(vars_group))]
            stored[m[1]].append((int(m[2] or 0), values))
    for entries in stored.values():
        entries.sort(key=lambda e: e[0])
    counters = {k: 0 for k in stored}
    out = {}
    for name, kind in keras_layer_names(keys):
        bucket = kinds[kind]
        if counters[bucket] >= len(stored[bucket]):
            raise IncompatibleCheckpointError(f"Keras weights file has too few {bucket} layers for {keys.arch!r}")
        out[name] = stored[bucket][counters[bucket]][1]
        counters[bucket] += 1
    extra = {k: len(v) - counters[k] for k, v in stored.items() if len(v) != counters[k]}
    if extra:
        raise IncompatibleCheckpointError(f"Keras weights file has layers {keys.arch!r} does not take: {extra}")
    return out


def from_keras(source: Any, keys_for: KeysFor) -> dict[str, torch.Tensor]:
    """A Keras Applications ResNet (a ``keras.Model`` or an ``.h5`` weights path) in our layout."""
    keys = keys_for(1000, 3)
    v2, _ = _structure(keys)
    weights = _weights_of_h5(Path(source), keys) if isinstance(source, (str, Path)) else _weights_of_model(source)
    expected = [name for name, _ in keras_layer_names(keys)]
    unknown = sorted(set(weights) - set(expected))
    missing = [n for n in expected if n not in weights]
    if unknown or missing:
        raise IncompatibleCheckpointError(
            f"Keras weights do not fit {keys.arch!r}: layers not in it: {unknown[:8]}; layers missing: {missing[:8]}"
        )
    out: dict[str, torch.Tensor] = {}
    for name, kind in keras_layer_names(keys):
        target, values = _target(name, v2), weights[name]
        if kind == "bn":
            if len(values) != 4:
                raise IncompatibleCheckpointError(f"Keras BatchNorm {name!r} has {len(values)} weights, expected 4")
            for field, value in zip(BN_FIELDS, values):
                out[f"{target}.{field}"] = torch.from_numpy(np.ascontiguousarray(value, dtype=np.float32))
            out[f"{target}.num_batches_tracked"] = torch.tensor(0)
            continue
        kernel, *bias = values
        if len(bias) > 1:
            raise IncompatibleCheckpointError(
                f"Keras layer {name!r} has {len(values)} weights, expected kernel [+ bias]"
            )
        if kind == "conv":
            weight = np.transpose(kernel, (3, 2, 0, 1))  # HWIO -> OIHW
        else:
            weight = kernel.T if not v2 else kernel.T[:, :, None, None]  # Dense (in, out) -> Linear / 1x1 conv
        out[f"{target}.weight"] = torch.from_numpy(np.ascontiguousarray(weight, dtype=np.float32))
        if bias:
            out[f"{target}.bias"] = torch.from_numpy(np.ascontiguousarray(bias[0], dtype=np.float32))
    verify_state_dict(out, keys_for, source="keras")
    return out


__all__: Sequence[str] = ("from_keras", "keras_layer_names")
