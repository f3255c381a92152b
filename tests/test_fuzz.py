"""Hypothesis fuzzing (seeded, derandomised) of the two readers of untrusted bytes: the manifest
parser (random JSON, and mutations of a real entry) and the safetensors header reader (random bytes,
random JSON headers). Nothing but our own errors may come out."""

from __future__ import annotations

import contextlib
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from resnet_zoo.errors import IncompatibleCheckpointError, ManifestError
from resnet_zoo.weights.content import parse_header
from resnet_zoo.weights.manifest import packaged_manifest_path, parse_manifest

FUZZ = settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)
ENTRY = json.loads(packaged_manifest_path().read_text())["weights"][0]


def _parse(doc: object) -> None:
    with contextlib.suppress(ManifestError):
        parse_manifest(doc, origin="fuzz")


@FUZZ
@given(json_values)
def test_manifest_parser_random_json(doc):
    _parse(doc)
    _parse({"schema_version": 2, "weights": [doc]})


@FUZZ
@given(st.sampled_from(sorted(ENTRY)), json_values, st.sampled_from(sorted(ENTRY["preprocessing"])))
def test_manifest_parser_mutated_entry(field, value, pre_field):
    entry = json.loads(json.dumps(ENTRY))
    entry[field] = value
    _parse({"schema_version": 2, "weights": [entry]})
    entry = json.loads(json.dumps(ENTRY))
    entry["preprocessing"][pre_field] = value
    _parse({"schema_version": 2, "weights": [entry]})


def _header(data: bytes) -> None:
    with contextlib.suppress(IncompatibleCheckpointError):
        parse_header(data, "fuzz")


@FUZZ
@given(st.binary(max_size=256))
def test_safetensors_header_random_bytes(data):
    _header(data)
    _header(len(data).to_bytes(8, "little") + data)


tensor_info = st.fixed_dictionaries(
    {
        "dtype": st.sampled_from(["F32", "F16", "BF16", "I64", "F64", "X9"]) | scalars,
        "shape": json_values,
        "data_offsets": json_values,
    }
)


@FUZZ
@given(st.dictionaries(st.text(max_size=8), tensor_info | json_values, max_size=4), st.binary(max_size=64))
def test_safetensors_header_random_json(header, body):
    raw = json.dumps(header).encode()
    _header(len(raw).to_bytes(8, "little") + raw + body)
