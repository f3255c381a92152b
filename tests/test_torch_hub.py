"""torch.hub: hubconf.py entrypoints, generated from the registry."""

import importlib.util
import inspect
from pathlib import Path

import pytest
import torch

import resnet_zoo

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def hubconf():
    spec = importlib.util.spec_from_file_location("hubconf_under_test", REPO / "hubconf.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_public_callables_are_exactly_the_registered_names(hubconf):
    # what torch.hub.list computes for a repo (its _load_entry_from_hubconf/list logic)
    public = sorted(f for f in dir(hubconf) if callable(getattr(hubconf, f)) and not f.startswith("_"))
    assert public == sorted(resnet_zoo.list_models())
    assert hubconf.dependencies == ["torch", "safetensors", "huggingface_hub", "requests"]
    for dep in hubconf.dependencies:
        assert importlib.util.find_spec(dep) is not None


@pytest.mark.parametrize("name", ["resnet50", "resnetv2_50d", "cifar_resnet56", "seresnext26t_32x4d"])
def test_docstrings_as_help_reads_them(hubconf, name):
    doc = getattr(hubconf, name).__doc__
    info = resnet_zoo.model_info(name)
    assert info.summary in doc
    assert f"{info.params / 1e6:.2f}M parameters" in doc and f"{info.gmacs:.2f} GMACs" in doc
    assert "pretrained" in doc and "num_classes" in doc


def test_torch_hub_list_and_help_as_for_a_github_repo(monkeypatch):
    # torch.hub.list/help take GitHub repos only; stand the checkout in for the downloaded repo so
    # that torch's own list/help code reads our hubconf.py exactly as it would from GitHub.
    monkeypatch.setattr(torch.hub, "_get_cache_or_reload", lambda *args, **kwargs: str(REPO))
    names = torch.hub.list("owner/resnet_zoo", trust_repo=True)
    assert sorted(names) == sorted(resnet_zoo.list_models())
    doc = torch.hub.help("owner/resnet_zoo", "resnet18", trust_repo=True)
    assert resnet_zoo.model_info("resnet18").summary in doc and "GMACs" in doc


@pytest.mark.parametrize(
    "name,kwargs,size,out",
    [
        ("resnet18", {}, 41, 1000),
        ("resnext50_32x4d", dict(num_classes=3), 37, 3),
        ("resnetv2_34d", dict(in_chans=1), 39, 1000),
        ("cifar_resnet20", {}, 32, 10),
    ],
)
def test_torch_hub_load_local(name, kwargs, size, out):
    model = torch.hub.load(str(REPO), name, source="local", **kwargs).eval()
    x = torch.randn(1, kwargs.get("in_chans", 3), size, size)
    with torch.no_grad():
        assert model(x).shape == (1, out)
    ref = resnet_zoo.create_model(name, **kwargs)
    assert {k: v.shape for k, v in model.state_dict().items()} == {k: v.shape for k, v in ref.state_dict().items()}


def test_entrypoints_signature(hubconf):
    params = inspect.signature(hubconf.resnet50).parameters
    assert list(params)[:2] == ["pretrained", "weights"]
