"""What is inside a weight file, read once and checked before use.

- :func:`read_safetensors`: the safetensors format read by our own header reader into memory that
  the returned tensors own (copy-on-read: a later edit of the file cannot change a loaded model;
  a file changed between verification and read is refused). Every malformed header is an
  ``IncompatibleCheckpointError``, never a raw exception (fuzzed in the tests).
- :func:`check_tensors`: one floating dtype the model accepts (float32; float16/bfloat16 are cast
  to float32 and the file's dtype is reported), every tensor finite, BN running variances >= 0;
  one fused reduction per tensor.
"""

import json
import math
import mmap
import os
from pathlib import Path
from typing import Any

import torch

from ..errors import IncompatibleCheckpointError, IntegrityError

MAX_HEADER_BYTES = 100 * 2**20  # safetensors' own limit
DTYPES: dict[str, torch.dtype] = {
    "F64": torch.float64,
    "F32": torch.float32,
    "F16": torch.float16,
    "BF16": torch.bfloat16,
    "I64": torch.int64,
    "I32": torch.int32,
    "I16": torch.int16,
    "I8": torch.int8,
    "U8": torch.uint8,
    "BOOL": torch.bool,
    "C64": torch.complex64,
}
ACCEPTED_FLOATS = (torch.float32, torch.float16, torch.bfloat16)


def _bad(path: object, why: str) -> IncompatibleCheckpointError:
    return IncompatibleCheckpointError(f"{path} is not a readable safetensors file: {why}")


def parse_header(
    data: bytes | bytearray | memoryview, where: object = "data", size: int | None = None
) -> tuple[dict[str, Any], dict[str, str], int]:
    """(tensor entries, metadata, offset of the data) of a safetensors byte string, every field
    checked; ``size``: the whole file's, when ``data`` holds only its head."""
    size = len(data) if size is None else size
    if size < 8:
        raise _bad(where, f"{size} bytes, shorter than the 8-byte header length")
    n = int.from_bytes(bytes(data[:8]), "little")
    if n > MAX_HEADER_BYTES or 8 + n > size or 8 + n > len(data):
        raise _bad(where, f"header length {n} does not fit the file ({size} bytes)")
    try:
        header = json.loads(bytes(data[8 : 8 + n]))
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise _bad(where, f"header is not JSON ({type(e).__name__})") from None
    if not isinstance(header, dict):
        raise _bad(where, "header is not a JSON object")
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise _bad(where, "__metadata__ must map strings to strings")
    body, spans = size - 8 - n, []
    for key, info in header.items():
        if not isinstance(info, dict) or set(info) != {"dtype", "shape", "data_offsets"}:
            raise _bad(where, f"entry {key[:80]!r} must have exactly dtype, shape and data_offsets")
        dtype, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
        if not isinstance(dtype, str) or dtype not in DTYPES:
            raise _bad(where, f"{key[:80]!r}: unsupported dtype {str(dtype)[:20]!r}")
        if not isinstance(shape, list) or not all(type(d) is int and 0 <= d < 2**40 for d in shape) or len(shape) > 8:
            raise _bad(where, f"{key[:80]!r}: shape {str(shape)[:40]} is not a list of sizes")
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(type(o) is int for o in offsets)):
            raise _bad(where, f"{key[:80]!r}: data_offsets must be [begin, end]")
        begin, end = offsets
        nbytes = math.prod(shape) * DTYPES[dtype].itemsize
        if not 0 <= begin <= end <= body or end - begin != nbytes:
            raise _bad(where, f"{key[:80]!r}: data_offsets {offsets} do not hold {nbytes} bytes inside the file")
        spans.append((begin, end, key))
    spans.sort()
    for (_, end, key), (begin, _, other) in zip(spans, spans[1:]):
        if begin < end:
            raise _bad(where, f"tensors {key[:80]!r} and {other[:80]!r} overlap")
    return header, metadata, 8 + n


def read_safetensors(path: Path, expect: tuple[int, ...] = ()) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """(tensors, metadata) of a safetensors file, copied into memory the tensors own. ``expect``:
    the (size, mtime, ctime, inode) the file had when verified; a different file is refused."""
    try:
        with open(path, "rb", buffering=0) as f:
            st = os.fstat(f.fileno())
            if expect and (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino) != expect:
                raise IntegrityError(f"{path} changed after it was verified; load it again to verify the new bytes")
            buffer = _anonymous_buffer(st.st_size)
            got = f.readinto(buffer) if st.st_size else 0
    except OSError as e:
        raise _bad(path, str(e)) from None
    if got != st.st_size:
        raise _bad(path, f"read {got} of {st.st_size} bytes (the file changed while being read)")
    header, metadata, start = parse_header(memoryview(buffer)[: _header_end(buffer)], path, size=st.st_size)
    tensors = {}
    for key, info in header.items():
        begin, end = info["data_offsets"]
        dtype = DTYPES[info["dtype"]]
        if end == begin:
            tensors[key] = torch.empty(info["shape"], dtype=dtype)
        else:  # a storage of its own per tensor (torch.save and safetensors refuse views of one storage)
            count = (end - begin) // dtype.itemsize
            tensors[key] = torch.frombuffer(buffer, dtype=dtype, count=count, offset=start + begin).view(info["shape"])
    return tensors, metadata


def _anonymous_buffer(size: int) -> mmap.mmap | bytearray:
    """Memory for one copy of a file, owned by the tensors made from it (not file-backed: a later
    edit of the file cannot reach a loaded model). Anonymous pages, as huge pages where the kernel
    offers them: a third of the page faults' cost of a plain allocation, and no zero-filling pass."""
    if size == 0:
        return bytearray()
    private = getattr(mmap, "MAP_PRIVATE", 0) | getattr(mmap, "MAP_ANONYMOUS", 0)  # shared memory gets no THP
    buffer = mmap.mmap(-1, size, flags=private) if private else mmap.mmap(-1, size)
    if hasattr(mmap, "MADV_HUGEPAGE"):
        buffer.madvise(mmap.MADV_HUGEPAGE)
    return buffer


def _header_end(buffer: mmap.mmap | bytearray) -> int:
    """Where the JSON header ends (8 + its length), clipped to the buffer; parse_header checks it."""
    n = int.from_bytes(bytes(buffer[:8]), "little") if len(buffer) >= 8 else 0
    return min(len(buffer), 8 + min(n, MAX_HEADER_BYTES))


def check_tensors(state_dict: dict[str, torch.Tensor], source: str, scan: bool = True) -> torch.dtype | None:
    """Refuse what a ResNet cannot hold (naming the key), and return the file's floating dtype.
    ``scan=False`` skips the value checks (finite, variances) for a file already known good."""
    floats: dict[torch.dtype, str] = {}
    for k, v in state_dict.items():
        if v.dtype in ACCEPTED_FLOATS:
            floats.setdefault(v.dtype, k)
        elif not (k.endswith("num_batches_tracked") and v.dtype == torch.int64):
            raise IncompatibleCheckpointError(
                f"{source}: unsupported dtype in {k} ({v.dtype}); ResNet weights are float32, float16 or bfloat16 "
                "(float64 or quantised checkpoints are not supported: cast or dequantise them first)"
            )
    if len(floats) > 1:
        (d1, k1), (d2, k2) = list(floats.items())[:2]
        raise IncompatibleCheckpointError(
            f"{source}: mixed floating dtypes: {k1} is {d1} but {k2} is {d2}; a weight file holds one dtype"
        )
    if scan:
        _scan_values(state_dict, source)
    return next(iter(floats), None)


def _scan_values(state_dict: dict[str, torch.Tensor], source: str) -> None:
    for k, v in state_dict.items():
        if not v.is_floating_point() or v.numel() == 0:
            continue
        total = v.sum(dtype=torch.float32)  # one fused reduction: NaN or Inf anywhere makes it non-finite
        if not torch.isfinite(total) and not torch.isfinite(v).all():
            raise IncompatibleCheckpointError(
                f"{source}: NaN or Inf values in {k}; the checkpoint is corrupt or diverged: use another file"
            )
        if k.endswith("running_var") and v.min() < 0:
            raise IncompatibleCheckpointError(
                f"{source}: negative BatchNorm running variance in {k} (min {v.min().item():.3g}); "
                "a variance is never negative: the checkpoint is corrupt"
            )


def as_float32(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """float16/bfloat16 tensors cast to float32 (the dtype a model is built in)."""
    return {k: v.float() if v.dtype in (torch.float16, torch.bfloat16) else v for k, v in state_dict.items()}
