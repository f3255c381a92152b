"""The weights road end to end: convert -> publish -> pin -> fetch -> verify -> load, against a
local hub directory read directly and the same directory served by olah as a loopback Hub."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

import pytest
import timm
import torch

import resnet_zoo
from hubtools import REPO, free_port, olah_server, run_python
from resnet_zoo import IntegrityError
from resnet_zoo.tools.buildhub import build_hub
from resnet_zoo.tools.convert import convert, origin_state_dict, parity_input, timm_reference
from resnet_zoo.tools.publish import publish
from resnet_zoo.weights.cache import sha256_file
from resnet_zoo.weights.localhub import LocalHub
from resnet_zoo.weights.manifest import get_weights, read_manifest_file

HUB_TAGS = ["resnet10t.c3_in1k", "resnetv2_18.ra4_e3600_r224_in1k"]
ORIGIN_TAG = "resnet18.a1_in1k"  # served only in timm's own layout, as timm/resnet18.a1_in1k


def reference_logits(tag: str, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """(input, timm's outputs) for the seeded random origin weights of ``tag``."""
    spec = get_weights(tag)
    sd = origin_state_dict(spec, "synthetic", seed).state_dict
    x, _ = parity_input(spec)
    with torch.no_grad():
        return x, timm_reference(spec, sd)(x)


@pytest.fixture(scope="session")
def hub_root(tmp_path_factory) -> Path:
    """A local hub directory that build-hub wrote (seeded random weights)."""
    root = tmp_path_factory.mktemp("local_hub")
    rows = build_hub(root, HUB_TAGS, source="synthetic", progress=False)
    assert [r.name for r in rows] == HUB_TAGS
    return root


@pytest.fixture(scope="session")
def origin_root(tmp_path_factory) -> Path:
    """timm-layout repos (timm/arch.tag with model.safetensors), as timm publishes them."""
    from safetensors.torch import save_file

    root = tmp_path_factory.mktemp("origin_hub")
    spec = get_weights(ORIGIN_TAG)
    sd = origin_state_dict(spec, "synthetic").state_dict
    folder = root / "staging"
    folder.mkdir()
    save_file(sd, str(folder / "model.safetensors"), metadata={"format": "pt"})
    (folder / "config.json").write_text(json.dumps({"architecture": spec.arch, "num_classes": 1000}))
    LocalHub(root).publish(folder, spec.origin.hf_hub_id, "timm weights")
    shutil.rmtree(folder)
    return root


@pytest.fixture(scope="session")
def olah(hub_root, origin_root, tmp_path_factory):
    with olah_server([hub_root, origin_root], tmp_path_factory.mktemp("olah")) as endpoint:
        yield endpoint


LOAD_AND_SAVE = """
import json, torch, resnet_zoo
tag, out, via = {tag!r}, {out!r}, {via!r}
spec = resnet_zoo.get_weights(tag)
if via == "hub":
    model = torch.hub.load({repo!r}, spec.arch, source="local", pretrained=True, weights=spec.tag)
else:
    model = resnet_zoo.create_model(tag, pretrained=True)
c, h, w = spec.preprocessing.input_size
x = torch.randn(2, c, h, w, generator=torch.Generator().manual_seed(0))
with torch.no_grad():
    torch.save(model.eval()(x), out)
print(json.dumps({{"ok": True}}))
"""


def load_in_subprocess(tag: str, out: Path, env: dict[str, str], via: str = "create_model", check: bool = True):
    code = LOAD_AND_SAVE.format(tag=tag, out=str(out), via=via, repo=str(REPO))
    return run_python(code, env, check=check)


# -- the local hub directory, read directly ------------------------------------------------------


def test_build_hub_writes_hf_layout_git_repos_with_lfs_objects(hub_root):
    manifest = read_manifest_file(hub_root / "weights_manifest.json")
    assert sorted(manifest) == sorted(HUB_TAGS)
    for tag in HUB_TAGS:
        hub = manifest[tag].hub
        repo = hub_root / "models" / "resnet-zoo" / tag
        pointer = (repo / "model.safetensors").read_text()
        assert pointer.startswith("version https://git-lfs.github.com/spec/v1\noid sha256:")
        assert f"oid sha256:{hub.sha256}\nsize {hub.size}\n" in pointer
        obj = repo / ".git" / "lfs" / "objects" / hub.sha256[:2] / hub.sha256[2:4] / hub.sha256
        assert sha256_file(obj) == hub.sha256 and obj.stat().st_size == hub.size
        assert len(hub.revision) == 40 and manifest[tag].parity.max_abs_diff == 0.0
        config = json.loads((repo / "config.json").read_text())
        assert config["architecture"] == manifest[tag].arch and config["pretrained_cfg"]["tag"] == manifest[tag].tag
        card = (repo / "README.md").read_text()
        assert "library_name: resnet_zoo" in card and manifest[tag].synthetic and config["resnet_zoo"]["synthetic"]
        # synthetic: the warning opens the card's text; no model-index, no accuracy of the real weight
        assert card.split("---\n", 2)[2].startswith(f"> **WARNING: {tag}: SYNTHETIC weights")
        assert "model-index" not in card and "results-imagenet.csv" not in card and manifest[tag].reported == ()


@pytest.mark.parametrize("tag", HUB_TAGS)
def test_create_model_and_torch_hub_from_a_local_hub_dir(hub_root, tag):
    x, ref = reference_logits(tag)
    model = resnet_zoo.create_model(tag, pretrained=True, hub_dir=str(hub_root))
    spec = get_weights(tag)
    hub_model = torch.hub.load(
        str(REPO), spec.arch, source="local", pretrained=True, weights=spec.tag, hub_dir=str(hub_root)
    )
    with torch.no_grad():
        assert torch.equal(model(x), ref)
        assert torch.equal(hub_model(x), ref)
    assert model.weights.name == tag
    assert not any(t.is_meta for t in [*model.parameters(), *model.buffers()])
    assert not model.training


def test_arch_default_tag_and_tag_argument(hub_root):
    x, ref = reference_logits("resnet10t.c3_in1k")
    for model in (
        resnet_zoo.create_model("resnet10t", pretrained=True, hub_dir=str(hub_root)),
        resnet_zoo.create_model("resnet10t", pretrained="c3_in1k", hub_dir=str(hub_root)),
    ):
        with torch.no_grad():
            assert torch.equal(model(x), ref)


def test_tampered_bytes_of_the_right_size_are_refused(hub_root, tmp_path):
    tampered = tmp_path / "hub"
    shutil.copytree(hub_root, tampered, symlinks=True)
    hub = read_manifest_file(tampered / "weights_manifest.json")[HUB_TAGS[0]].hub
    obj = tampered / "models" / hub.repo_id / ".git" / "lfs" / "objects" / hub.sha256[:2] / hub.sha256[2:4] / hub.sha256
    data = bytearray(obj.read_bytes())
    data[-100] ^= 0xFF
    obj.write_bytes(bytes(data))
    with pytest.raises(IntegrityError) as e:
        resnet_zoo.create_model(HUB_TAGS[0], pretrained=True, hub_dir=str(tampered))
    assert HUB_TAGS[0] in str(e.value) and hub.sha256 in str(e.value) and str(obj) in str(e.value)
    assert hashlib.sha256(bytes(data)).hexdigest() in str(e.value)  # the actual hash too
    assert obj.read_bytes() == bytes(data)  # a hub directory is not our cache: never moved or deleted


def test_revision_pinning_returns_the_pinned_bytes(tmp_path):
    tag = HUB_TAGS[0]
    root = tmp_path / "hub"
    first = publish(convert(tag, tmp_path / "v1", source="synthetic", seed=0).out_dir, to=root)
    pinned_v1 = tmp_path / "manifest_v1.json"
    shutil.copy(root / "weights_manifest.json", pinned_v1)
    second = publish(convert(tag, tmp_path / "v2", source="synthetic", seed=1).out_dir, to=root)
    assert first.hub.revision != second.hub.revision and first.hub.sha256 != second.hub.sha256
    x, ref_v1 = reference_logits(tag, seed=0)
    _, ref_v2 = reference_logits(tag, seed=1)
    with torch.no_grad():
        assert torch.equal(resnet_zoo.create_model(tag, pretrained=True, hub_dir=str(root))(x), ref_v2)
        shutil.copy(pinned_v1, root / "weights_manifest.json")
        assert torch.equal(resnet_zoo.create_model(tag, pretrained=True, hub_dir=str(root))(x), ref_v1)


# -- the same directory served by olah through HF_ENDPOINT ----------------------------------------


def test_through_olah_create_model_and_torch_hub(olah, hub_root, tmp_path):
    env = {
        "HF_ENDPOINT": olah,
        "HF_HOME": str(tmp_path / "hf"),
        "RESNET_ZOO_MANIFEST": str(hub_root / "weights_manifest.json"),
    }
    for tag in HUB_TAGS:
        x, ref = reference_logits(tag)
        for via in ("create_model", "hub"):
            out = tmp_path / f"{tag}.{via}.pt"
            load_in_subprocess(tag, out, env, via=via)
            assert torch.equal(torch.load(out), ref), (tag, via)
    cached = list((tmp_path / "hf" / "hub").glob("models--resnet-zoo--*/snapshots/*/model.safetensors"))
    assert len(cached) == len(HUB_TAGS)

    # offline with a warm cache: no server needed at all (the endpoint is a closed port)
    offline = {**env, "HF_HUB_OFFLINE": "1", "HF_ENDPOINT": f"http://127.0.0.1:{free_port()}"}
    out = tmp_path / "offline.pt"
    load_in_subprocess(HUB_TAGS[0], out, offline)
    assert torch.equal(torch.load(out), reference_logits(HUB_TAGS[0])[1])


def test_through_olah_origin_fallback_converts_timm_layout(olah, tmp_path):
    # the packaged manifest has no published location for this weight: the origin repo serves it
    assert not get_weights(ORIGIN_TAG).hub.published
    env = {"HF_ENDPOINT": olah, "HF_HOME": str(tmp_path / "hf")}
    out = tmp_path / "origin.pt"
    load_in_subprocess(ORIGIN_TAG, out, env)
    assert torch.equal(torch.load(out), reference_logits(ORIGIN_TAG)[1])


def test_through_olah_revision_pinning(olah, hub_root, tmp_path):
    # pin a revision that does not exist: the pinned bytes are asked for, not whatever main holds
    manifest = json.loads((hub_root / "weights_manifest.json").read_text())
    for entry in manifest["weights"]:
        entry["hub"]["revision"] = "0" * 40
    bogus = tmp_path / "manifest.json"
    bogus.write_text(json.dumps(manifest))
    env = {"HF_ENDPOINT": olah, "HF_HOME": str(tmp_path / "hf"), "RESNET_ZOO_MANIFEST": str(bogus)}
    done = load_in_subprocess(HUB_TAGS[0], tmp_path / "x.pt", env, check=False)
    # nothing loads: neither main's bytes nor anything else (the origin URL is unreachable here too)
    assert done.returncode != 0 and not (tmp_path / "x.pt").exists()
    assert re.search(r"(WeightsNotAvailableError|DownloadError)", done.stderr)


def test_through_olah_tampered_bytes_are_refused(olah, hub_root, tmp_path):
    # a manifest pinning other bytes of the same size stands in for a mirror that serves tampered bytes
    manifest = json.loads((hub_root / "weights_manifest.json").read_text())
    manifest["weights"][0]["hub"]["sha256"] = "f" * 64
    pinned = tmp_path / "manifest.json"
    pinned.write_text(json.dumps(manifest))
    env = {"HF_ENDPOINT": olah, "HF_HOME": str(tmp_path / "hf"), "RESNET_ZOO_MANIFEST": str(pinned)}
    done = load_in_subprocess(manifest["weights"][0]["name"], tmp_path / "x.pt", env, check=False)
    assert done.returncode != 0 and "IntegrityError" in done.stderr and "f" * 64 in done.stderr
    assert not list((tmp_path / "hf" / "hub").glob("models--resnet-zoo--*/blobs/*"))  # bad bytes removed


def test_offline_with_a_cold_cache_names_tag_cache_and_command(tmp_path):
    env = {"HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf"), "HF_ENDPOINT": f"http://127.0.0.1:{free_port()}"}
    code = (
        "import resnet_zoo\ntry:\n    resnet_zoo.create_model('resnet50', pretrained=True)\n"
        "except resnet_zoo.WeightsNotAvailableError as e:\n    print(e)\n"
    )
    out = run_python(code, env).stdout
    assert "'resnet50.a1_in1k'" in out and "offline" in out
    assert str(tmp_path / "hf" / "hub") in out and "resnet-zoo download resnet50.a1_in1k" in out


# -- adaptation, files, conversion ---------------------------------------------------------------


def _published_file(hub_root: Path, tag: str) -> Path:
    hub = read_manifest_file(hub_root / "weights_manifest.json")[tag].hub
    return LocalHub(hub_root).resolve(hub.repo_id, hub.filename, hub.revision)


@pytest.mark.parametrize("in_chans", [1, 2, 5])
def test_in_chans_adaptation_equals_timm(hub_root, in_chans, tmp_path):
    tag = HUB_TAGS[0]
    path = tmp_path / "model.safetensors"  # timm picks the reader by file suffix; LFS objects have none
    shutil.copy(_published_file(hub_root, tag), path)
    ref = timm.create_model(
        get_weights(tag).arch, pretrained=True, in_chans=in_chans, pretrained_cfg_overlay=dict(file=str(path))
    ).eval()
    ours = resnet_zoo.create_model(tag, pretrained=True, in_chans=in_chans, hub_dir=str(hub_root))
    x = torch.randn(2, in_chans, 61, 75, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        assert torch.equal(ours(x), ref(x))


def test_other_num_classes_reinitialises_the_head_with_a_warning(hub_root):
    tag = HUB_TAGS[1]
    full = resnet_zoo.create_model(tag, pretrained=True, hub_dir=str(hub_root))
    with pytest.warns(UserWarning, match="1000 classes; a new 7-class classifier"):
        model = resnet_zoo.create_model(tag, pretrained=True, num_classes=7, hub_dir=str(hub_root))
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert model(x).shape == (1, 7)
        assert torch.equal(model.forward_features(x), full.forward_features(x))
    assert not any(t.is_meta for t in model.parameters())
    headless = resnet_zoo.create_model(tag, pretrained=True, num_classes=0, hub_dir=str(hub_root))
    assert headless(x).shape == (1, 512)


def test_pretrained_path_to_a_safetensors_file(hub_root, tmp_path):
    path = _published_file(hub_root, HUB_TAGS[0])
    file = tmp_path / "mine.safetensors"
    shutil.copy(path, file)
    x, ref = reference_logits(HUB_TAGS[0])
    with torch.no_grad():
        assert torch.equal(resnet_zoo.create_model("resnet10t", pretrained=str(file))(x), ref)
    with pytest.raises(resnet_zoo.IncompatibleCheckpointError, match="holds weights for 'resnet10t'"):
        resnet_zoo.create_model("resnet18", pretrained=str(file))
    with pytest.raises(resnet_zoo.WeightsNotAvailableError, match="no such file"):
        resnet_zoo.create_model("resnet10t", pretrained=str(tmp_path / "missing.safetensors"))


def test_convert_writes_metadata_config_and_card(tmp_path):
    from safetensors import safe_open

    result = convert("resnet10t.c3_in1k", tmp_path / "out", source="synthetic")
    with safe_open(str(tmp_path / "out" / "model.safetensors"), framework="pt") as f:
        meta = f.metadata()
    assert meta["arch"] == "resnet10t" and meta["tag"] == "resnet10t.c3_in1k"
    assert meta["source"] == "synthetic (seed 0)" and meta["converter"].startswith("resnet_zoo ")
    assert meta["source_revision"] == timm.__version__
    assert result.parity.max_abs_diff == 0.0 and result.parity.top5_agreement == 1.0
    config = json.loads((tmp_path / "out" / "config.json").read_text())
    assert config["num_classes"] == 1000 and config["pretrained_cfg"]["input_size"] == [3, 176, 176]
    from huggingface_hub import ModelCard

    card = ModelCard.load(tmp_path / "out" / "README.md")
    assert card.data.library_name == "resnet_zoo" and card.data.license == "apache-2.0"
    assert meta["synthetic"] == "true" and config["resnet_zoo"]["synthetic"] is True
    assert not card.data.eval_results and "synthetic" in card.data.tags  # no accuracy for random numbers
    # the real conversion's card carries the reported accuracy in its model-index
    from resnet_zoo.tools.modelcard import card_data

    real = card_data(get_weights("resnet10t.c3_in1k"))
    top1 = [r for r in real.eval_results if r.metric_name.startswith("top-1")]
    assert top1 and top1[0].metric_value == get_weights("resnet10t.c3_in1k").reported[0].top1


def test_convert_refuses_to_write_on_a_mismatch(tmp_path, monkeypatch):
    import resnet_zoo.tools.convert as tools_convert
    from resnet_zoo.convert import convert_checkpoint
    from resnet_zoo.errors import ParityMismatchError

    def corrupting(format, state_dict, keys_for):
        out = dict(convert_checkpoint(format, state_dict, keys_for))
        out["fc.bias"] = out["fc.bias"] + 1.0
        return out

    monkeypatch.setattr(tools_convert, "convert_checkpoint", corrupting)
    with pytest.raises(ParityMismatchError, match="resnet10t.c3_in1k"):
        convert("resnet10t.c3_in1k", tmp_path / "out", source="synthetic")
    assert not (tmp_path / "out").exists()
