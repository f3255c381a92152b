"""A user's own weight file: its values are scanned once, then trusted only while it is unchanged
(issue 13's cheap checks, issue 11's in-place edits). Loaded tensors never share the file's pages."""

import os

import pytest
import torch
from safetensors.torch import save_file

import resnet_zoo
from resnet_zoo.weights import content


@pytest.fixture
def user_file(tmp_path, monkeypatch):
    monkeypatch.setenv("RESNET_ZOO_CACHE", str(tmp_path / "cache"))
    path = tmp_path / "mine.safetensors"
    save_file(resnet_zoo.create_model("resnet10t", num_classes=7).state_dict(), str(path))
    return path


def test_values_are_scanned_once_and_again_after_an_in_place_edit(user_file, monkeypatch):
    scans = []
    real = content._scan_values
    monkeypatch.setattr(content, "_scan_values", lambda sd, source: (scans.append(source), real(sd, source)))
    resnet_zoo.create_model("resnet10t", pretrained=str(user_file))
    resnet_zoo.create_model("resnet10t", pretrained=str(user_file))
    assert len(scans) == 1  # the second load trusts the record of the first
    st = user_file.stat()
    raw = bytearray(user_file.read_bytes())
    raw[-4:] = bytes.fromhex("0000c07f")  # a NaN in the last tensor, same size
    user_file.write_bytes(bytes(raw))
    os.utime(user_file, ns=(st.st_atime_ns, st.st_mtime_ns))  # mtime put back: only ctime tells
    with pytest.raises(resnet_zoo.IncompatibleCheckpointError, match="NaN or Inf"):
        resnet_zoo.create_model("resnet10t", pretrained=str(user_file))
    assert len(scans) == 2


def test_a_loaded_model_does_not_change_when_the_file_does(user_file):
    model = resnet_zoo.create_model("resnet10t", pretrained=str(user_file))
    before = model.fc.weight.clone()
    user_file.write_bytes(b"\0" * user_file.stat().st_size)
    assert torch.equal(model.fc.weight, before)
    save_file(model.state_dict(), str(user_file.with_name("again.safetensors")))  # one storage per tensor
