"""Publishing: to the Hugging Face Hub through HfApi (calls recorded: no Hub is reachable here), and
the same files through the local-hub path."""

import json
from pathlib import Path

import pytest

import resnet_zoo
from resnet_zoo.cli import main
from resnet_zoo.tools.convert import convert
from resnet_zoo.tools.publish import publish
from resnet_zoo.weights.manifest import read_manifest_file

TAG = "resnet10t.c3_in1k"
TOKEN = "hf_testtoken_0123456789abcdef"


class RecordingHfApi:
    calls: list = []

    def __init__(self, token=None):
        RecordingHfApi.calls.append(("init", {"token": token}))

    def create_repo(self, repo_id, **kwargs):
        RecordingHfApi.calls.append(("create_repo", dict(repo_id=repo_id, **kwargs)))

    def upload_folder(self, *, repo_id, folder_path, commit_message, **kwargs):
        files = sorted(p.name for p in Path(folder_path).iterdir())
        RecordingHfApi.calls.append(
            ("upload_folder", dict(repo_id=repo_id, files=files, commit_message=commit_message))
        )
        from huggingface_hub import CommitInfo

        return CommitInfo(
            commit_url=f"https://huggingface.co/{repo_id}/commit/{'a' * 40}",
            commit_message=commit_message,
            commit_description="",
            oid="a" * 40,
        )


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    return convert(TAG, tmp_path_factory.mktemp("conv") / "out", source="synthetic")


@pytest.fixture
def recorder(monkeypatch):
    import huggingface_hub

    RecordingHfApi.calls = []
    monkeypatch.setattr(huggingface_hub, "HfApi", RecordingHfApi)
    return RecordingHfApi


def test_publish_to_the_hub_records_repo_files_and_commit(converted, recorder, monkeypatch, tmp_path):
    import huggingface_hub

    monkeypatch.setattr(huggingface_hub, "get_token", lambda: TOKEN)
    manifest = tmp_path / "manifest.json"
    spec = publish(converted.out_dir, repo_id="my-org/resnet10t.c3_in1k", manifest_path=manifest, allow_synthetic=True)
    names = [c[0] for c in recorder.calls]
    assert names == ["init", "create_repo", "upload_folder"]
    assert recorder.calls[1][1] == {"repo_id": "my-org/resnet10t.c3_in1k", "repo_type": "model", "exist_ok": True}
    upload = recorder.calls[2][1]
    assert upload["repo_id"] == "my-org/resnet10t.c3_in1k"
    assert upload["files"] == ["README.md", "config.json", "model.safetensors", "resnet_zoo_weight.json"]
    assert TAG in upload["commit_message"]
    hub = read_manifest_file(manifest)[TAG].hub
    assert hub.repo_id == "my-org/resnet10t.c3_in1k" and hub.revision == "a" * 40
    assert hub.sha256 == converted.sha256 and hub.size == converted.size == spec.hub.size
    assert TOKEN not in manifest.read_text()


def test_publish_without_a_token_fails_before_any_upload(converted, recorder, monkeypatch, tmp_path):
    import huggingface_hub

    monkeypatch.setattr(huggingface_hub, "get_token", lambda: None)
    with pytest.raises(resnet_zoo.ResNetZooError, match="needs a token: run 'hf auth login'"):
        publish(converted.out_dir, repo_id="my-org/x", manifest_path=tmp_path / "m.json", allow_synthetic=True)
    assert recorder.calls == [] and not (tmp_path / "m.json").exists()


def test_synthetic_weights_are_not_uploaded_without_allow_synthetic(converted, recorder, monkeypatch, tmp_path):
    import huggingface_hub

    monkeypatch.setattr(huggingface_hub, "get_token", lambda: TOKEN)
    with pytest.raises(resnet_zoo.ResNetZooError, match="SYNTHETIC.*--allow-synthetic"):
        publish(converted.out_dir, repo_id="my-org/x", manifest_path=tmp_path / "m.json")
    assert main(["publish", str(converted.out_dir), "--repo-id", "my-org/x", "--manifest", str(tmp_path / "m.json")])
    assert recorder.calls == [] and not (tmp_path / "m.json").exists()


def test_the_same_files_through_the_local_hub_path(converted, tmp_path):
    spec = publish(converted.out_dir, to=tmp_path / "hub")
    repo = tmp_path / "hub" / "models" / "resnet-zoo" / TAG
    assert sorted(p.name for p in repo.iterdir() if p.name != ".git") == [
        ".gitattributes",
        "README.md",
        "config.json",
        "model.safetensors",
        "resnet_zoo_weight.json",
    ]
    assert spec.hub.sha256 == converted.sha256
    again = publish(converted.out_dir, to=tmp_path / "hub")  # same bytes: no new commit
    assert again.hub.revision == spec.hub.revision


def test_cli_convert_publish_download(tmp_path, capsys, monkeypatch):
    out, hub = tmp_path / "out", tmp_path / "hub"
    assert main(["convert", TAG, "--out", str(out), "--source", "synthetic"]) == 0
    assert "parity max |d| 0.00e+00, top-5 agreement 1.0" in capsys.readouterr().out
    assert main(["publish", str(out), "--to", str(hub)]) == 0
    assert f"published {TAG} to local hub" in capsys.readouterr().out
    monkeypatch.setenv("RESNET_ZOO_HUB_DIR", str(hub))
    assert main(["download", TAG]) == 0
    assert "local hub" in capsys.readouterr().out
    manifest = json.loads((hub / "weights_manifest.json").read_text())
    assert manifest["weights"][0]["hub"]["repo_id"] == f"resnet-zoo/{TAG}"
    assert main(["weights", "resnet10t"]) == 0
    assert "resnet10t.c3_in1k" in capsys.readouterr().out
