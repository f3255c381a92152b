"""weights_manifest.json: generated, validated, exposed through list_pretrained/get_weights."""

import csv
import json
import subprocess
import sys

import pytest
import timm
from timm.models._registry import _model_default_cfgs

import resnet_zoo
from hubtools import REPO
from resnet_zoo.errors import ManifestError
from resnet_zoo.weights.manifest import load_manifest, packaged_manifest_path, parse_manifest


def test_manifest_has_every_timm_weight_of_every_registered_arch():
    specs = load_manifest()
    timm_tags = [t for t in timm.list_pretrained() if resnet_zoo.is_model(t.split(".")[0])]
    assert len(timm_tags) == 132  # timm 1.0.31
    assert sorted(n for n, s in specs.items() if s.origin.library == "timm") == sorted(timm_tags)


def test_every_arch_with_timm_weights_has_timm_s_default_tag():
    specs = load_manifest()
    archs = {s.arch for s in specs.values() if s.origin.library == "timm"}
    for arch in archs:
        default = resnet_zoo.get_weights(arch)
        assert default.default and default.arch == arch
        assert default.tag == list(_model_default_cfgs[arch].tags)[0]


def test_entries_carry_preprocessing_license_accuracy_and_origin():
    spec = resnet_zoo.get_weights("resnet50.a1_in1k")
    pre = spec.preprocessing
    assert pre.input_size == (3, 224, 224) and pre.test_input_size == (3, 288, 288)
    assert pre.interpolation == "bicubic" and pre.crop_pct == 0.95 and pre.mean == (0.485, 0.456, 0.406)
    assert spec.license == "apache-2.0" and spec.label_set == "imagenet-1k" and len(spec.labels()) == 1000
    assert spec.labels()[0].startswith("tench")
    with open(REPO / "data" / "timm-results-imagenet-resnet.csv") as f:
        rows = [r for r in csv.DictReader(f) if r["model"] == "resnet50.a1_in1k"]
    assert len(rows) == 2
    assert {(r.img_size, r.top1, r.top5) for r in spec.reported} == {
        (int(r["img_size"]), float(r["top1"]), float(r["top5"])) for r in rows
    }
    assert "results-imagenet.csv" in spec.reported[0].citation
    assert spec.origin.hf_hub_id == "timm/resnet50.a1_in1k" and spec.origin.hf_hub_filename == "model.safetensors"
    assert spec.origin.url.endswith("resnet50_a1_0-14fe96d1.pth") and spec.origin.url_hash_prefix == "14fe96d1"
    tv = resnet_zoo.get_weights("resnet50.tv_in1k")
    assert tv.origin.url_format == "torchvision" and tv.license == "bsd-3-clause"
    assert not spec.hub.published  # nothing is published from this machine


def test_manifest_sync_reproduces_the_committed_file():
    done = subprocess.run(
        [sys.executable, "-m", "resnet_zoo", "manifest", "sync", "--check"], cwd=REPO, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    # 132 from timm, 6 Keras Applications, 6 microsoft/resnet-*, cifar_resnet20.digits
    assert "up to date (145 weights)" in done.stdout
    assert packaged_manifest_path().read_bytes() == (REPO / "weights_manifest.json").read_bytes()


def test_list_pretrained_and_get_weights():
    assert resnet_zoo.list_pretrained("resnet50") == [
        n for n in resnet_zoo.list_pretrained() if n.startswith("resnet50.")
    ]
    assert "resnet50.a1_in1k" in resnet_zoo.list_pretrained("resnet50.a*")
    assert resnet_zoo.list_pretrained("*tv2_in1k")[:2] == ["resnet50.tv2_in1k", "resnet101.tv2_in1k"]
    with pytest.raises(resnet_zoo.UnknownModelError, match="did you mean resnet50.a1_in1k"):
        resnet_zoo.get_weights("resnet50.a1_in1")
    with pytest.raises(resnet_zoo.UnknownModelError, match="has no pretrained weights"):
        resnet_zoo.get_weights("seresnet18")
    with pytest.raises(resnet_zoo.UnknownModelError, match="did you mean"):
        resnet_zoo.get_weights("resnet51")


def _entry(**changes):
    entry = json.loads(packaged_manifest_path().read_text())["weights"][0]
    for path, value in changes.items():
        target = entry
        *parents, leaf = path.split("__")
        for p in parents:
            target = target[p]
        if value is KeyError:
            del target[leaf]
        else:
            target[leaf] = value
    return {"schema_version": 1, "weights": [entry]}


@pytest.mark.parametrize(
    "changes,needles",
    [
        (dict(arch="resnet51"), ["weights[0]", "resnet10t.c3_in1k", "name", "must be arch.tag = 'resnet51.c3_in1k'"]),
        (dict(arch="resnet50.x"), ["weights[0]", "arch", "'resnet50.x'"]),
        (dict(num_classes=-3), ["num_classes", "-3"]),
        (dict(preprocessing__interpolation="lanczos"), ["preprocessing.interpolation", "'lanczos'"]),
        (dict(preprocessing__crop_pct=1.5), ["preprocessing.crop_pct", "1.5"]),
        (dict(preprocessing__mean=[0.5]), ["preprocessing.mean/std"]),
        (dict(hub__sha256="abc"), ["hub.sha256", "64 hex"]),
        (dict(license=KeyError), ["missing field(s) ['license']"]),
        (dict(colour="red"), ["unknown field(s) ['colour']"]),
        (dict(origin__mirror="x"), ["origin", "unknown field(s) ['mirror']"]),
        (dict(name="resnet10t.other"), ["name", "must be arch.tag"]),
    ],
)
def test_malformed_entries_name_the_entry_and_the_field(changes, needles):
    with pytest.raises(ManifestError) as e:
        parse_manifest(_entry(**changes), origin="test.json")
    for needle in needles:
        assert needle in str(e.value)


def test_manifest_is_parsed_lazily_not_at_import():
    code = "import resnet_zoo.weights.manifest as m, resnet_zoo; print(m._load.cache_info().currsize)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "0"


def test_every_packaged_weight_names_a_registered_arch():
    # The manifest is the weights road's data; whether its archs exist is the registry's to say.
    unregistered = [w.name for w in load_manifest().values() if not resnet_zoo.is_model(w.arch)]
    assert unregistered == []
