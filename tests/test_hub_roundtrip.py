"""save_pretrained / push_to_hub / ``resnet-zoo push`` and hf-hub:/local-dir: loading, both ways:
the upload side through recorded HfApi calls, the download side through olah (a loopback Hub), with
resnet_zoo, timm and transformers as readers."""

import json
from pathlib import Path

import pytest
import torch
from test_publish import TOKEN, RecordingHfApi

import resnet_zoo
from hubtools import free_port, last_json, olah_server, run_python
from resnet_zoo.cli import main
from resnet_zoo.tools.parity import randomize_
from resnet_zoo.weights.localhub import LocalHub

CLASSES = ["cat", "dog", "eel"]
X = "torch.randn(2, 3, 61, 75, generator=torch.Generator().manual_seed(0))"


def saved(tmp: Path, arch: str, **kwargs) -> tuple[Path, torch.nn.Module]:
    model = randomize_(resnet_zoo.create_model(arch, num_classes=3, **kwargs)).eval()
    folder = resnet_zoo.save_pretrained(model, tmp / arch, class_names=CLASSES, repo_id=f"me/{arch}")
    return folder, model


@pytest.fixture(scope="module")
def repos(tmp_path_factory):
    """Folders written by save_pretrained, and a local hub (git + LFS mirrors) that olah serves."""
    tmp = tmp_path_factory.mktemp("saved")
    root = tmp_path_factory.mktemp("hub")
    out = {}
    for arch in ("resnet18", "resnetv2_18", "cifar_resnet20"):
        folder, model = saved(tmp, arch)
        x = torch.randn(2, 3, 61, 75, generator=torch.Generator().manual_seed(0))
        with torch.no_grad():
            torch.save(model(x), folder.parent / f"{arch}.logits.pt")
        LocalHub(root).publish(folder, f"me/{arch}", "upload")
        out[arch] = folder
    return root, out


def test_save_pretrained_writes_timms_layout(repos):
    _, folders = repos
    config = json.loads((folders["resnet18"] / "config.json").read_text())
    assert config["architecture"] == "resnet18" and config["num_classes"] == 3 and config["label_names"] == CLASSES
    assert config["pretrained_cfg"]["input_size"] == [3, 224, 224] and config["pretrained_cfg"]["classifier"] == "fc"
    assert config["resnet_zoo"]["class_names"] == CLASSES and "preprocessing" in config["resnet_zoo"]
    card = (folders["resnet18"] / "README.md").read_text()
    assert "library_name: timm" in card and "hf-hub:me/resnet18" in card and "AutoModelForImageClassification" in card
    assert "timm and transformers have no" in (folders["cifar_resnet20"] / "README.md").read_text()


@pytest.mark.parametrize("arch", ["resnet18", "resnetv2_18", "cifar_resnet20"])
def test_local_dir_and_folder_load_back_equal(repos, arch):
    _, folders = repos
    folder = folders[arch]
    ref = torch.load(folder.parent / f"{arch}.logits.pt")
    x = torch.randn(2, 3, 61, 75, generator=torch.Generator().manual_seed(0))
    for model in (
        resnet_zoo.create_model(f"local-dir:{folder}", pretrained=True),
        resnet_zoo.create_model(arch, pretrained=str(folder)),
    ):
        with torch.no_grad():
            assert torch.equal(model(x), ref)
        assert model.weights.labels() == CLASSES and model.pretrained_cfg["label_names"] == tuple(CLASSES)
    assert resnet_zoo.get_weights(str(folder)).labels() == CLASSES
    unbuilt = resnet_zoo.create_model(f"local-dir:{folder}")  # timm: the config's classes, no weights
    assert unbuilt.num_classes == 3
    with pytest.raises(resnet_zoo.IncompatibleCheckpointError, match="holds a"):
        resnet_zoo.create_model("resnet34", pretrained=str(folder))


def test_timm_and_transformers_read_a_saved_folder(repos):
    import timm
    from transformers import AutoModelForImageClassification

    _, folders = repos
    folder = folders["resnetv2_18"]
    ref = torch.load(folder.parent / "resnetv2_18.logits.pt")
    x = torch.randn(2, 3, 61, 75, generator=torch.Generator().manual_seed(0))
    theirs = timm.create_model(f"local-dir:{folder}", pretrained=True).eval()
    hf = AutoModelForImageClassification.from_pretrained(str(folder)).eval()
    with torch.no_grad():
        assert torch.allclose(theirs(x), ref, atol=1e-5) and torch.allclose(hf(x).logits, ref, atol=1e-5)
    assert hf.config.id2label[2] == "eel"


def test_unknown_architecture_is_a_clear_error(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"architecture": "vit_base_patch16_224", "num_classes": 3}))
    with pytest.raises(resnet_zoo.UnknownModelError, match="vit_base_patch16_224.*does not register"):
        resnet_zoo.create_model(f"local-dir:{tmp_path}")
    with pytest.raises(resnet_zoo.WeightsNotAvailableError, match="no config.json"):
        resnet_zoo.create_model(f"local-dir:{tmp_path / 'nothing'}", pretrained=True)


READ_BACK = """
import json, torch, resnet_zoo, timm
from transformers import AutoModelForImageClassification
x = {x}
out = {{}}
for arch in ("resnet18", "resnetv2_18", "cifar_resnet20"):
    ref = torch.load({saved!r} + f"/{{arch}}.logits.pt")
    ours = resnet_zoo.create_model(f"hf-hub:me/{{arch}}", pretrained=True)
    row = dict(ours=(ours(x) - ref).abs().max().item(), labels=ours.weights.labels())
    if arch != "cifar_resnet20":
        row["timm"] = (timm.create_model(f"hf-hub:me/{{arch}}", pretrained=True).eval()(x) - ref).abs().max().item()
        hf = AutoModelForImageClassification.from_pretrained(f"me/{{arch}}").eval()
        row["transformers"] = (hf(x).logits - ref).abs().max().item()
    out[arch] = row
with torch.no_grad():
    pass
print(json.dumps(out))
"""


def test_hf_hub_round_trip_through_olah(repos, tmp_path):
    root, folders = repos
    saved_dir = str(next(iter(folders.values())).parent)
    (tmp_path / "olah").mkdir()
    with olah_server([root], tmp_path / "olah") as endpoint:
        env = {"HF_ENDPOINT": endpoint, "HF_HOME": str(tmp_path / "hf")}
        code = "import torch\ntorch.set_grad_enabled(False)\n" + READ_BACK.format(x=X, saved=saved_dir)
        result = last_json(run_python(code, env).stdout)
        pinned = run_python(
            "import resnet_zoo; m = resnet_zoo.create_model('hf-hub:me/resnet18@main', pretrained=True); print(m.num_classes)",
            env,
        )
        assert pinned.stdout.strip().endswith("3")
    for arch, row in result.items():
        assert row["ours"] == 0.0 and row["labels"] == CLASSES, arch
        assert row.get("timm", 0.0) <= 1e-5 and row.get("transformers", 0.0) <= 1e-5, arch
    # offline, from huggingface_hub's cache; then a repo that was never fetched is a clear error
    offline = {**env, "HF_HUB_OFFLINE": "1", "HF_ENDPOINT": f"http://127.0.0.1:{free_port()}"}
    run_python("import resnet_zoo; resnet_zoo.create_model('hf-hub:me/resnet18', pretrained=True)", offline)
    missing = run_python(
        "import resnet_zoo; resnet_zoo.create_model('hf-hub:me/nothing', pretrained=True)", offline, check=False
    )
    assert missing.returncode != 0 and "offline" in missing.stderr and "me/nothing" in missing.stderr


@pytest.fixture
def recorder(monkeypatch):
    import huggingface_hub

    RecordingHfApi.calls = []
    monkeypatch.setattr(huggingface_hub, "HfApi", RecordingHfApi)
    monkeypatch.setattr(huggingface_hub, "get_token", lambda: TOKEN)
    return RecordingHfApi


def test_push_to_hub_records_the_upload(recorder, tmp_path):
    model = resnet_zoo.create_model("cifar_resnet20.digits", pretrained=True)
    commit = resnet_zoo.push_to_hub(model, "me/digits")
    assert commit == "a" * 40
    calls = dict((name, kw) for name, kw in recorder.calls)
    assert calls["init"]["token"] == TOKEN and calls["create_repo"]["repo_id"] == "me/digits"
    assert calls["upload_folder"]["files"] == ["README.md", "config.json", "model.safetensors"]


def test_push_command_uploads_a_finetune_style_folder(recorder, repos, capsys):
    _, folders = repos
    assert main(["push", str(folders["resnet18"]), "--repo-id", "me/again"]) == 0
    assert "pushed" in capsys.readouterr().out
    assert [c for c, _ in recorder.calls] == ["init", "create_repo", "upload_folder"]


def test_push_without_a_token_uploads_nothing(monkeypatch):
    import huggingface_hub

    monkeypatch.setattr(huggingface_hub, "get_token", lambda: None)
    with pytest.raises(resnet_zoo.ResNetZooError, match="needs a token"):
        resnet_zoo.push_to_hub(resnet_zoo.create_model("resnet10t"), "me/x")
