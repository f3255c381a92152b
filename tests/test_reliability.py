"""Reliability and security: injected download faults, interrupted transfers, concurrent loaders,
offline use with zero connection attempts, a catalogue of hostile and broken inputs, credentials.

With ``RESNET_ZOO_RELIABILITY_REPORT=path`` set, the figures of the run are written there as JSON
(``scripts/reliability_report.py`` turns them into docs/RELIABILITY.md)."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

import resnet_zoo
from faultserver import FaultServer
from hubtools import REPO, free_port
from resnet_zoo import (
    IncompatibleCheckpointError,
    IntegrityError,
    InvalidArgumentError,
    UnknownModelError,
    WeightsNotAvailableError,
)
from resnet_zoo.errors import DownloadError, ManifestError
from resnet_zoo.weights.download import RetryPolicy, url_download

FIGURES: dict[str, object] = {"faults": [], "bad_inputs": [], "interruptions": 0}
FAST = RetryPolicy(attempts=4, backoff_s=0.05, max_backoff_s=0.2, total_s=20, timeout_s=(2.0, 1.0))


def write_figures() -> None:
    path = os.environ.get("RESNET_ZOO_RELIABILITY_REPORT")
    if path:
        Path(path).write_text(json.dumps(FIGURES, indent=1, default=str) + "\n")


@pytest.fixture(scope="module", autouse=True)
def _report():
    yield
    write_figures()


@pytest.fixture(scope="module")
def weight_bytes() -> tuple[bytes, str]:
    """A real checkpoint (.pth of the digits weight's state_dict) and its sha256 prefix."""
    import io

    sd = resnet_zoo.create_model("cifar_resnet20.digits", pretrained=True).state_dict()
    buf = io.BytesIO()
    torch.save(sd, buf)
    data = buf.getvalue()
    return data, hashlib.sha256(data).hexdigest()[:8]


@pytest.fixture(scope="module")
def server(weight_bytes):
    data, prefix = weight_bytes
    names = {f"w{i}-{prefix}.pth": data for i in range(40)}
    names[f"weights-{prefix}.pth"] = data
    srv = FaultServer(names)
    yield srv
    srv.close()


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "zoo-cache"
    monkeypatch.setenv("RESNET_ZOO_CACHE", str(path))
    return path


def cache_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.name.endswith(".lock")) if root.exists() else []


def record_fault(kind: str, outcome: str) -> None:
    FIGURES["faults"].append({"fault": kind, "outcome": outcome})  # type: ignore[union-attr]


# -- faults on the URL path ----------------------------------------------------------------------


def test_transient_5xx_is_retried_and_survived(server, weight_bytes, cache):
    data, prefix = weight_bytes
    name = f"weights-{prefix}.pth"
    path = url_download(server.url("fail", 2, name), "t", prefix, retry=FAST)
    assert path.read_bytes() == data and server.count("fail", 2, name) == 3
    record_fault("HTTP 503 twice, then the file", "retried, downloaded")


def test_dropped_connection_once_is_retried(server, weight_bytes, cache):
    data, prefix = weight_bytes
    path = url_download(server.url("dropfirst", 5000, f"weights-{prefix}.pth"), "t", prefix, retry=FAST)
    assert path.read_bytes() == data
    record_fault("connection dropped after 5000 bytes once", "retried, downloaded")


@pytest.mark.parametrize(
    "mode,arg,error,needle",
    [
        ("fail", 99, DownloadError, "HTTP 503"),
        ("drop", 1000, DownloadError, "IncompleteRead(1000 bytes read"),
        ("stall", 3, DownloadError, "attempt(s)"),
        ("truncate", 1000, IntegrityError, "does not start with"),
        ("flip", 777, IntegrityError, "does not start with"),
    ],
)
def test_persistent_faults_are_reported_with_url_and_last_error(server, weight_bytes, cache, mode, arg, error, needle):
    _, prefix = weight_bytes
    url = server.url(mode, arg, f"weights-{prefix}.pth")
    started = time.monotonic()
    with pytest.raises(error) as e:
        url_download(url, "resnet_t.tag", prefix, retry=FAST)
    assert url in str(e.value) and needle in str(e.value) and "resnet_t.tag" in str(e.value)
    assert time.monotonic() - started < FAST.total_s + 5  # bounded
    assert cache_files(cache) == []  # nothing a later call could mistake for a complete file
    record_fault(f"{mode} {arg} on every request", f"{error.__name__}, nothing kept")


def test_interruption_sweep(server, weight_bytes, cache):
    data, prefix = weight_bytes
    offsets = [
        1,
        7,
        100,
        511,
        4096,
        9000,
        20_000,
        65_536,
        100_000,
        150_000,
        200_000,
        262_144,
        300_000,
        400_000,
        500_000,
        600_000,
        700_000,
        800_000,
        900_000,
        1_000_000,
        len(data) - 10,
        len(data) - 1,
    ]
    offsets = [o for o in offsets if o < len(data)]
    assert len(offsets) >= 20
    for i, offset in enumerate(offsets):
        name = f"w{i}-{prefix}.pth"
        with pytest.raises(DownloadError):
            url_download(server.url("drop", offset, name), "t", prefix, retry=RetryPolicy(attempts=1, timeout_s=(2, 2)))
        assert cache_files(cache) == [
            p for p in cache_files(cache) if p.name.startswith("w") and p.stat().st_size == len(data)
        ]
        path = url_download(server.url("ok", 0, name), "t", prefix, retry=FAST)
        assert path.read_bytes() == data
    FIGURES["interruptions"] = len(offsets)
    cached = cache_files(cache / "urls")
    lost = sum(len(data) for p in cached if p.read_bytes() != data) + len(data) * (len(offsets) - len(cached))
    FIGURES["bytes_lost"] = lost
    assert lost == 0


# -- concurrent loaders --------------------------------------------------------------------------


def _url_manifest(tmp_path: Path, url: str, prefix: str) -> Path:
    entry = resnet_zoo.get_weights("cifar_resnet20.digits").to_dict()
    entry.update(
        name="cifar_resnet20.urltest", tag="urltest", default=False, source="hub", bundled_file="", bundled_sha256=""
    )
    entry["origin"] = {"library": "timm", "url": url, "url_hash_prefix": prefix, "url_format": "timm"}
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps({"schema_version": 1, "weights": [entry]}))
    return path


LOADER = """
import hashlib, json, sys, resnet_zoo, torch
m = resnet_zoo.create_model("cifar_resnet20.urltest", pretrained=True)
digest = hashlib.sha256(b"".join(v.numpy().tobytes() for _, v in sorted(m.state_dict().items()))).hexdigest()
print(json.dumps({"digest": digest}))
"""


def test_eight_processes_on_a_cold_cache_download_once(server, weight_bytes, tmp_path):
    _, prefix = weight_bytes
    url = server.url("stall", 1, f"w39-{prefix}.pth")  # a 1 s stall keeps the download in flight for all
    env = {
        **os.environ,
        "RESNET_ZOO_MANIFEST": str(_url_manifest(tmp_path, url, prefix)),
        "RESNET_ZOO_CACHE": str(tmp_path / "cache"),
    }
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", LOADER], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO
        )
        for _ in range(8)
    ]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0] * 8, [o[1][-800:] for o in outs]
    digests = {json.loads(o[0].strip().splitlines()[-1])["digest"] for o in outs}
    assert len(digests) == 1
    assert server.count("stall", 1, f"w39-{prefix}.pth") == 1
    FIGURES["concurrency"] = {"processes": 8, "downloads": 1, "distinct_results": len(digests)}


# -- offline: zero connection attempts -----------------------------------------------------------

GUARDED = """
import socket
attempts = []
def refuse(self, address, *a, **k):
    attempts.append(address)
    raise OSError("socket guard: no connection allowed")
socket.socket.connect = refuse
socket.socket.connect_ex = refuse
import json, resnet_zoo
for name in {names!r}:
    resnet_zoo.create_model(name, pretrained=True)
print(json.dumps({{"attempts": len(attempts)}}))
"""


def test_offline_warm_cache_makes_zero_connection_attempts(server, weight_bytes, tmp_path):
    _, prefix = weight_bytes
    url = server.url("ok", 0, f"w38-{prefix}.pth")
    env = {
        **os.environ,
        "RESNET_ZOO_MANIFEST": str(_url_manifest(tmp_path, url, prefix)),
        "RESNET_ZOO_CACHE": str(tmp_path / "cache"),
    }
    subprocess.run([sys.executable, "-c", LOADER], env=env, check=True, capture_output=True, cwd=REPO)  # warm it
    offline = {**env, "HF_HUB_OFFLINE": "1", "HF_ENDPOINT": f"http://127.0.0.1:{free_port()}"}
    code = GUARDED.format(names=["cifar_resnet20.urltest", "cifar_resnet20.digits"])
    done = subprocess.run([sys.executable, "-c", code], env=offline, capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {"attempts": 0}
    FIGURES["offline_connection_attempts"] = 0


def test_offline_cold_cache_error(tmp_path):
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "HF_HOME": str(tmp_path / "hf"),
        "RESNET_ZOO_CACHE": str(tmp_path / "c"),
    }
    code = GUARDED.format(names=["resnet18"])
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=REPO)
    assert done.returncode != 0
    err = done.stderr
    assert "WeightsNotAvailableError" in err and "'resnet18.a1_in1k'" in err and str(tmp_path / "hf") in err
    assert "resnet-zoo download resnet18.a1_in1k" in err and "socket guard" not in err


# -- hostile and broken inputs -------------------------------------------------------------------


class Boom:
    """A pickle that would run code when loaded."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _safetensors_bytes(tensors: dict[str, torch.Tensor], metadata: dict | None = None) -> bytes:
    from safetensors.torch import save

    return save(tensors, metadata=metadata)


def _digits_sd() -> dict[str, torch.Tensor]:
    return {
        k: v.clone() for k, v in resnet_zoo.create_model("cifar_resnet20.digits", pretrained=True).state_dict().items()
    }


def catalogue(tmp: Path) -> list[tuple[str, object, type, list[str]]]:
    """(description, action, error type, message fragments); each action runs one bad input."""
    sd = _digits_sd()

    def write(name: str, data: bytes) -> str:
        (tmp / name).write_bytes(data)
        return str(tmp / name)

    good = _safetensors_bytes(sd, {"arch": "cifar_resnet20", "format": "pt"})
    marker = tmp / "pwned"
    torch.save({"state_dict": Boom(str(marker))}, tmp / "evil.pth")
    nan_sd = dict(sd, **{"fc.weight": torch.full_like(sd["fc.weight"], float("nan"))})
    inf_sd = dict(sd, **{"bn1.weight": torch.full_like(sd["bn1.weight"], float("inf"))})
    int8_sd = dict(sd, **{"conv1.weight": sd["conv1.weight"].to(torch.int8)})
    c64_sd = dict(sd, **{"fc.bias": sd["fc.bias"].to(torch.complex64)})
    wrong_shape = dict(sd, **{"layer1.0.conv1.weight": torch.zeros(16, 16, 5, 5)})
    extra = dict(sd, **{"layer9.0.conv1.weight": torch.zeros(1)})
    missing = {k: v for k, v in sd.items() if k != "layer2.0.bn1.running_var"}
    r18 = resnet_zoo.create_model("resnet18").state_dict()
    header_len = int.from_bytes(good[:8], "little")
    cm = lambda *a, **k: lambda: resnet_zoo.create_model(*a, **k)  # noqa: E731
    bad_manifest = tmp / "bad_manifest.json"
    entry = resnet_zoo.get_weights("cifar_resnet20.digits").to_dict()
    bad_manifest.write_text(json.dumps({"schema_version": 1, "weights": [dict(entry, preprocessing="224px")]}))
    dup_manifest = tmp / "dup_manifest.json"
    dup_manifest.write_text(json.dumps({"schema_version": 1, "weights": [entry, entry]}))
    (tmp / "not_json.json").write_text("{weights: [")

    def with_manifest(path: Path):
        def run():
            os.environ["RESNET_ZOO_MANIFEST"] = str(path)
            try:
                resnet_zoo.create_model("cifar_resnet20.digits", pretrained=True)
            finally:
                del os.environ["RESNET_ZOO_MANIFEST"]

        return run

    def pickle_refused():
        try:
            resnet_zoo.create_model("cifar_resnet20", pretrained=str(tmp / "evil.pth"))
        finally:
            assert not marker.exists(), "the pickle ran code"

    return [
        ("a .pth whose pickle runs code", pickle_refused, IncompatibleCheckpointError, ["never unpickles code"]),
        (
            "truncated safetensors (half the file)",
            cm("cifar_resnet20", pretrained=write("half.safetensors", good[: len(good) // 2])),
            IncompatibleCheckpointError,
            ["not a readable safetensors file"],
        ),
        (
            "safetensors header cut short",
            cm("cifar_resnet20", pretrained=write("cut.safetensors", good[: 8 + header_len // 2])),
            IncompatibleCheckpointError,
            ["not a readable safetensors file"],
        ),
        (
            "safetensors header that is not JSON",
            cm(
                "cifar_resnet20",
                pretrained=write(
                    "garbled.safetensors",
                    header_len.to_bytes(8, "little") + b"{" + b"\x00" * (header_len - 1) + good[8 + header_len :],
                ),
            ),
            IncompatibleCheckpointError,
            ["not a readable safetensors file"],
        ),
        (
            "header length larger than the file",
            cm("cifar_resnet20", pretrained=write("huge.safetensors", (10**12).to_bytes(8, "little") + good[8:])),
            IncompatibleCheckpointError,
            ["safetensors"],
        ),
        (
            "an empty file",
            cm("cifar_resnet20", pretrained=write("empty.safetensors", b"")),
            IncompatibleCheckpointError,
            ["empty.safetensors"],
        ),
        (
            "random bytes",
            cm("cifar_resnet20", pretrained=write("noise.pth", os.urandom(4096))),
            IncompatibleCheckpointError,
            ["weights-only checkpoint"],
        ),
        (
            "a file of another arch (metadata)",
            cm("resnet18", pretrained=write("digits.safetensors", good)),
            IncompatibleCheckpointError,
            ["holds weights for 'cifar_resnet20'", "create_model('cifar_resnet20'"],
        ),
        (
            "a file of another arch (keys)",
            cm("cifar_resnet20", pretrained=write("r18.safetensors", _safetensors_bytes(r18))),
            IncompatibleCheckpointError,
            ["does not fit 'cifar_resnet20'", "unexpected keys"],
        ),
        (
            "wrong shapes",
            cm("cifar_resnet20", pretrained=write("shape.safetensors", _safetensors_bytes(wrong_shape))),
            IncompatibleCheckpointError,
            ["layer1.0.conv1.weight: checkpoint (16, 16, 5, 5)"],
        ),
        (
            "extra keys",
            cm("cifar_resnet20", pretrained=write("extra.safetensors", _safetensors_bytes(extra))),
            IncompatibleCheckpointError,
            ["unexpected keys: layer9.0.conv1.weight"],
        ),
        (
            "missing keys",
            cm("cifar_resnet20", pretrained=write("missing.safetensors", _safetensors_bytes(missing))),
            IncompatibleCheckpointError,
            ["missing keys: layer2.0.bn1.running_var"],
        ),
        (
            "NaN weights",
            cm("cifar_resnet20", pretrained=write("nan.safetensors", _safetensors_bytes(nan_sd))),
            IncompatibleCheckpointError,
            ["NaN or Inf", "fc.weight"],
        ),
        (
            "Inf weights",
            cm("cifar_resnet20", pretrained=write("inf.safetensors", _safetensors_bytes(inf_sd))),
            IncompatibleCheckpointError,
            ["NaN or Inf", "bn1.weight"],
        ),
        (
            "int8 (quantised) weights",
            cm("cifar_resnet20", pretrained=write("int8.safetensors", _safetensors_bytes(int8_sd))),
            IncompatibleCheckpointError,
            ["unsupported dtype", "conv1.weight (torch.int8)"],
        ),
        (
            "complex weights in a .pth",
            cm("cifar_resnet20", pretrained=(torch.save(c64_sd, tmp / "c64.pth") or str(tmp / "c64.pth"))),
            IncompatibleCheckpointError,
            ["unsupported dtype", "fc.bias (torch.complex64)"],
        ),
        (
            "a .pth holding no tensors",
            cm(
                "cifar_resnet20",
                pretrained=(torch.save({"epoch": 3, "note": "x"}, tmp / "notensor.pth") or str(tmp / "notensor.pth")),
            ),
            IncompatibleCheckpointError,
            ["'epoch' is a int, not a tensor"],
        ),
        (
            "a malformed manifest entry",
            with_manifest(bad_manifest),
            ManifestError,
            ["weights[0]", "cifar_resnet20.digits", "preprocessing", "expected an object"],
        ),
        (
            "a duplicated manifest entry",
            with_manifest(dup_manifest),
            ManifestError,
            ["duplicate entry 'cifar_resnet20.digits'"],
        ),
        ("a manifest that is not JSON", with_manifest(tmp / "not_json.json"), ManifestError, ["is not valid JSON"]),
        ("a manifest path that does not exist", with_manifest(tmp / "nowhere.json"), ManifestError, ["does not exist"]),
        (
            "an unknown tag",
            cm("resnet50.b7_in1k", pretrained=True),
            UnknownModelError,
            ["unknown weight 'resnet50.b7_in1k'"],
        ),
        ("an unknown arch", cm("resnet51", pretrained=True), UnknownModelError, ["did you mean resnet50"]),
        (
            "weights of another arch by tag",
            cm("resnet18", pretrained="resnet50.a1_in1k"),
            InvalidArgumentError,
            ["weights 'resnet50.a1_in1k' are for 'resnet50', not 'resnet18'"],
        ),
        (
            "a path that does not exist",
            cm("cifar_resnet20", pretrained=str(tmp / "does_not_exist.safetensors")),
            WeightsNotAvailableError,
            ["no such file"],
        ),
        (
            "a directory as the weight file",
            cm("cifar_resnet20", pretrained=str(tmp) + os.sep),
            WeightsNotAvailableError,
            ["no such file"],
        ),
        (
            "pretrained of the wrong type",
            cm("cifar_resnet20", pretrained=3.5),
            InvalidArgumentError,
            ["pretrained=3.5 (float)"],
        ),
        (
            "pretrained as a list",
            cm("cifar_resnet20", pretrained=["digits"]),
            InvalidArgumentError,
            ["pretrained=['digits']"],
        ),
        (
            "a hub_dir that does not exist",
            cm("cifar_resnet20", pretrained=True, hub_dir=str(tmp / "no_hub")),
            WeightsNotAvailableError,
            ["local hub directory", "does not exist"],
        ),
        (
            "a negative num_classes with weights",
            cm("cifar_resnet20.digits", pretrained=True, num_classes=-2),
            InvalidArgumentError,
            ["num_classes=-2"],
        ),
        (
            "in_chans=0 with weights",
            cm("cifar_resnet20.digits", pretrained=True, in_chans=0),
            InvalidArgumentError,
            ["in_chans=0"],
        ),
        (
            "an invalid repo id",
            lambda: resnet_zoo.weights.localhub.check_repo_id("no-slash"),
            InvalidArgumentError,
            ["repo id 'no-slash' is invalid"],
        ),
        *issue_11_cases(tmp, sd, entry, write, with_manifest),
    ]


def issue_11_cases(tmp: Path, sd, entry: dict, write, with_manifest) -> list[tuple[str, object, type, list[str]]]:
    """The bad inputs of the adversarial review (issue 11): manifest values of the wrong type or
    size, overlays that would replace a pin, repo ids, dtypes, variances, hostile headers."""

    def manifest(name: str, **changes) -> Path:
        data = json.loads(json.dumps(entry))
        for path, value in changes.items():
            target = data
            *parents, leaf = path.split("__")
            for p in parents:
                target = target[p]
            target[leaf] = value
        out = tmp / f"{name}.json"
        out.write_text(json.dumps({"schema_version": 2, "weights": [data]}).replace('"__NaN__"', "NaN"))
        return out

    def st(name: str, tensors: dict, metadata: dict | None = None) -> str:
        return write(name, _safetensors_bytes(tensors, metadata))

    def header(name: str, head: dict) -> str:
        raw = json.dumps(head).encode()
        return write(name, len(raw).to_bytes(8, "little") + raw + b"\0" * 64)

    cm = lambda *a, **k: lambda: resnet_zoo.create_model(*a, **k)  # noqa: E731
    check_repo = resnet_zoo.weights.localhub.check_repo_id
    neg_var = dict(sd, **{"bn1.running_var": -sd["bn1.running_var"] - 1})
    mixed = dict(sd, **{"fc.weight": sd["fc.weight"].half()})
    f64 = {k: v.double() if v.is_floating_point() else v for k, v in sd.items()}
    one = {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}
    cases = [
        (
            "manifest crop_pct as a string",
            manifest("m1", preprocessing__crop_pct="0.9"),
            ["crop_pct", "expected a finite number"],
        ),
        ("manifest num_classes 10**12", manifest("m2", num_classes=10**12), ["num_classes", "1000000000000"]),
        ("manifest num_classes as a float", manifest("m3", num_classes=10.0), ["num_classes", "expected an integer"]),
        ("manifest mean of strings", manifest("m4", preprocessing__mean=["0.5"]), ["preprocessing.mean[0]"]),
        ("manifest NaN std", manifest("m5", preprocessing__std=["__NaN__"]), ["preprocessing.std[0]", "finite"]),
        (
            "manifest input_size of 2 values",
            manifest("m6", preprocessing__input_size=[3, 32]),
            ["input_size", "3 values"],
        ),
        ("manifest input_size 10**6 px", manifest("m7", preprocessing__input_size=[3, 10**6, 10**6]), ["input_size"]),
        ("manifest default as a string", manifest("m8", default="yes"), ["default", "true or false"]),
        ("manifest negative hub size", manifest("m9", hub__size=-1), ["hub.size"]),
        (
            "manifest top-1 of 180 %",
            manifest(
                "m10",
                reported=[
                    dict(img_size=32, top1=180.0, top5=99.0, crop_pct=1.0, interpolation="bilinear", citation="x")
                ],
            ),
            ["reported[0]"],
        ),
        ("manifest repo id with ..", manifest("m11", origin__hf_hub_id="timm/../x"), ["origin.hf_hub_id"]),
        (
            "manifest bundled_file outside the package",
            manifest("m12", bundled_file="../../etc/passwd"),
            ["bundled_file"],
        ),
        (
            "overlay replacing the bundled sha256",
            manifest("m13", bundled_sha256="0" * 64),
            ["'bundled_sha256'", "cifar_resnet20.digits"],
        ),
        ("overlay replacing the reported accuracy", manifest("m14", reported=[]), ["'reported'"]),
        ("overlay replacing the license", manifest("m15", license="proprietary"), ["'license'"]),
        ("manifest schema_version as a string", None, ["schema_version"]),
    ]
    out = [
        (d, with_manifest(m) if m else _schema_as_string(tmp, entry, with_manifest), ManifestError, n)
        for d, m, n in cases
    ]
    out += [
        ("repo id 'a/.'", lambda: check_repo("a/."), InvalidArgumentError, ["'.'"]),
        ("repo id './x'", lambda: check_repo("./x"), InvalidArgumentError, ["'.'"]),
        ("repo id 'a/.git'", lambda: check_repo("a/.git"), InvalidArgumentError, ["'.git'"]),
        ("repo id with --", lambda: check_repo("a--b/c"), InvalidArgumentError, ["repo id"]),
        (
            "negative BN running_var",
            cm("cifar_resnet20", pretrained=st("negvar.safetensors", neg_var)),
            IncompatibleCheckpointError,
            ["running variance", "bn1.running_var"],
        ),
        (
            "mixed float16/float32 file",
            cm("cifar_resnet20", pretrained=st("mixed.safetensors", mixed)),
            IncompatibleCheckpointError,
            ["mixed floating dtypes", "fc.weight"],
        ),
        (
            "float64 file",
            cm("cifar_resnet20", pretrained=st("f64.safetensors", f64)),
            IncompatibleCheckpointError,
            ["torch.float64"],
        ),
        (
            "safetensors tensors that overlap",
            cm("cifar_resnet20", pretrained=header("overlap.safetensors", {"a": one, "b": one})),
            IncompatibleCheckpointError,
            ["overlap"],
        ),
        (
            "safetensors offsets past the end",
            cm("cifar_resnet20", pretrained=header("past.safetensors", {"a": dict(one, data_offsets=[0, 1 << 30])})),
            IncompatibleCheckpointError,
            ["data_offsets"],
        ),
        (
            "safetensors unknown dtype",
            cm("cifar_resnet20", pretrained=header("dtype.safetensors", {"a": dict(one, dtype="F128")})),
            IncompatibleCheckpointError,
            ["unsupported dtype"],
        ),
        (
            "safetensors header that is a list",
            cm("cifar_resnet20", pretrained=header("list.safetensors", [1, 2])),
            IncompatibleCheckpointError,
            ["not a JSON object"],
        ),
        (
            "safetensors metadata that is not strings",
            cm("cifar_resnet20", pretrained=header("meta.safetensors", {"__metadata__": {"a": 1}})),
            IncompatibleCheckpointError,
            ["__metadata__"],
        ),
        (
            "a FIFO as the weight file",
            cm("cifar_resnet20", pretrained=_fifo(tmp)),
            WeightsNotAvailableError,
            ["no such file"],
        ),
        ("RESNET_ZOO_DOWNLOAD_TIMEOUT=-1", _bad_deadline, InvalidArgumentError, ["RESNET_ZOO_DOWNLOAD_TIMEOUT"]),
    ]
    return out


def _schema_as_string(tmp: Path, entry: dict, with_manifest):
    path = tmp / "schema_str.json"
    path.write_text(json.dumps({"schema_version": "2", "weights": [entry]}))
    return with_manifest(path)


def _fifo(tmp: Path) -> str:
    path = tmp / "fifo.safetensors"
    os.mkfifo(path)
    return str(path)


def _bad_deadline():
    os.environ["RESNET_ZOO_DOWNLOAD_TIMEOUT"] = "-1"
    try:
        url_download("http://127.0.0.1:9/x.pth", "t")
    finally:
        del os.environ["RESNET_ZOO_DOWNLOAD_TIMEOUT"]


def snapshot(*roots: Path) -> dict[str, str]:
    out = {}
    for root in roots:
        for p in cache_files(root):
            out[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def test_catalogue_of_bad_inputs(tmp_path, monkeypatch):
    from huggingface_hub import constants

    zoo_cache = tmp_path / "zoo-cache"
    monkeypatch.setenv("RESNET_ZOO_CACHE", str(zoo_cache))
    resnet_zoo.create_model("cifar_resnet20.digits", pretrained=True)  # a populated cache to protect
    monkeypatch.delenv("RESNET_ZOO_MANIFEST", raising=False)
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    cases = catalogue(inputs)
    assert len(cases) >= 45
    roots = (zoo_cache, Path(constants.HF_HUB_CACHE))
    refused = []
    for description, action, error, needles in cases:
        before = snapshot(*roots)
        with pytest.raises(error) as e:
            action()
        message = str(e.value)
        for needle in needles:
            assert needle in message, (description, message)
        assert snapshot(*roots) == before, f"{description}: the cache changed"
        refused.append({"input": description, "error": error.__name__, "message": message[:160]})
    FIGURES["bad_inputs"] = refused
    # the protected weight still loads, verified from scratch
    resnet_zoo.create_model("cifar_resnet20.digits", pretrained=True, verify=True)


def test_verify_cache_finds_and_quarantines_a_corrupted_file(tmp_path, monkeypatch, server, weight_bytes, capsys):
    from resnet_zoo.cli import main

    data, prefix = weight_bytes
    monkeypatch.setenv("RESNET_ZOO_CACHE", str(tmp_path / "cache"))
    url = server.url("ok", 0, f"w37-{prefix}.pth")
    monkeypatch.setenv("RESNET_ZOO_MANIFEST", str(_url_manifest(tmp_path, url, prefix)))
    path = url_download(url, "t", prefix, retry=FAST)
    assert main(["verify-cache"]) == 0
    assert "0 bad" in capsys.readouterr().out
    path.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    assert main(["verify-cache"]) == 1
    out = capsys.readouterr().out
    assert "BAD cifar_resnet20.urltest" in out and not path.exists()
    record_fault("a cached file corrupted on disk", "verify-cache: BAD, quarantined")


def test_a_changed_cached_file_is_rehashed_and_refused(tmp_path, monkeypatch):
    import shutil

    from resnet_zoo.weights.fetch import fetch_weights

    spec = resnet_zoo.get_weights("cifar_resnet20.digits")
    monkeypatch.setenv("RESNET_ZOO_CACHE", str(tmp_path / "cache"))
    pkg_dir = tmp_path / "pkg"
    shutil.copytree(Path(resnet_zoo.__file__).parent / "data", pkg_dir / "data")
    from types import SimpleNamespace

    import resnet_zoo.weights.fetch as fetch_module

    monkeypatch.setattr(fetch_module, "resources", SimpleNamespace(files=lambda _pkg: pkg_dir))
    assert fetch_weights(spec).fresh  # first use: hashed
    assert not fetch_weights(spec).fresh  # recorded: size and mtime unchanged, no rehash
    target = pkg_dir / spec.bundled_file
    raw = bytearray(target.read_bytes())
    raw[-5] ^= 0xFF
    target.write_bytes(bytes(raw))  # same size, new mtime
    with pytest.raises(IntegrityError) as e:
        fetch_weights(spec)
    assert spec.bundled_sha256 in str(e.value) and "cifar_resnet20.digits" in str(e.value)
    record_fault("a bundled file altered after verification", "rehashed on the next load, IntegrityError")


# -- credentials ---------------------------------------------------------------------------------


def test_a_token_is_never_written_or_logged(tmp_path, monkeypatch, caplog):
    import huggingface_hub

    from resnet_zoo.tools.convert import convert
    from resnet_zoo.tools.publish import publish

    secret = "hf_SeCrEt0123456789abcdefABCDEF"
    monkeypatch.setenv("HF_TOKEN", secret)
    monkeypatch.setattr(huggingface_hub, "get_token", lambda: secret)
    calls = []

    class Api:
        def __init__(self, token=None):
            calls.append(token)

        def create_repo(self, repo_id, **kw):
            pass

        def upload_folder(self, **kw):
            from huggingface_hub import CommitInfo

            return CommitInfo(
                commit_url=f"https://huggingface.co/org/digits/commit/{'b' * 40}",
                commit_message="m",
                commit_description="",
                oid="b" * 40,
            )

    monkeypatch.setattr(huggingface_hub, "HfApi", Api)
    with caplog.at_level(logging.DEBUG):
        result = convert("cifar_resnet20.digits", tmp_path / "out", source="synthetic")
        spec = publish(result.out_dir, repo_id="org/digits", manifest_path=tmp_path / "m.json")
    assert calls == [secret]  # the token reaches the client, and nothing else
    written = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    assert secret.encode() not in written and secret not in caplog.text and secret not in repr(spec)
    monkeypatch.setattr(huggingface_hub, "get_token", lambda: None)
    with pytest.raises(resnet_zoo.ResNetZooError) as e:
        publish(result.out_dir, repo_id="org/digits", manifest_path=tmp_path / "m2.json")
    assert secret not in str(e.value) and "hf auth login" in str(e.value) and not (tmp_path / "m2.json").exists()
