"""TorchScript, FX feature extraction and torch.export for every architecture (the sweeps are
``slow``; one representative per family runs in the fast set)."""

import warnings

import pytest
import torch

import resnet_zoo

FAMILIES = [
    "resnet18",
    "resnet26t",
    "resnet50d",
    "seresnext26t_32x4d",
    "ecaresnet26t",
    "resnetrs50",
    "resnetv2_18d",
    "resnetv2_50t",
    "resnet50_keras",
    "resnet50v2_keras",
    "cifar_resnet20",
]
EVERY = resnet_zoo.list_models()


def _input(name: str, batch: int = 2) -> torch.Tensor:
    c = resnet_zoo.get_spec(name).input_size[0]
    return torch.randn(batch, c, 37, 45, generator=torch.Generator().manual_seed(batch))


def _script(module: torch.nn.Module):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch.jit is deprecated in favour of torch.export
        return torch.jit.script(module)


def check_scripts(name: str, **kwargs) -> None:
    model = resnet_zoo.create_model(name, **kwargs).eval()
    scripted = _script(model)
    x = _input(name)
    with torch.no_grad():
        assert torch.allclose(scripted(x), model(x), atol=1e-6, rtol=1e-5)
    model.train()
    scripted.train()
    with torch.no_grad():  # train mode: batch statistics (and drop path / dropout, seeded)
        torch.manual_seed(0)
        a = model(x)
        torch.manual_seed(0)
        b = scripted(x)
    assert torch.allclose(a, b, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name", FAMILIES)
def test_script_each_family(name):
    check_scripts(name)


@pytest.mark.slow
@pytest.mark.parametrize("name", EVERY)
def test_script_every_arch(name):
    check_scripts(name)


def test_script_with_options():
    check_scripts("resnet50d", output_stride=8, drop_rate=0.2, drop_path_rate=0.1, global_pool="catavgmax")
    check_scripts("resnetv2_50d", output_stride=16, drop_path_rate=0.1, global_pool="avgmax")


@pytest.mark.parametrize("name", ["resnet18", "resnetv2_50d", "cifar_resnet20"])
def test_script_backbone(name):
    backbone = resnet_zoo.create_model(name, features_only=True, out_indices=(1, 2, 3)).eval()
    scripted = _script(backbone)
    x = _input(name)
    with torch.no_grad():
        for a, b in zip(scripted(x), backbone(x)):
            assert torch.allclose(a, b, atol=1e-6)


@pytest.mark.parametrize("name", ["resnet50d", "resnetv2_18"])
def test_script_torchvision_feature_extractor(name):
    from torchvision.models.feature_extraction import create_feature_extractor, get_graph_node_names

    model = resnet_zoo.create_model(name).eval()
    nodes = get_graph_node_names(model)[1]
    stage = "layer3" if name.startswith("resnet5") else "stages.2"
    wanted = {next(n for n in nodes if n.startswith(stage)): "mid", nodes[-1]: "out"}
    extractor = create_feature_extractor(model, return_nodes=wanted)
    scripted = _script(extractor)
    x = _input(name)
    with torch.no_grad():
        ours, theirs = scripted(x), extractor(x)
        assert torch.allclose(ours["out"], model(x), atol=1e-6)
    assert torch.allclose(ours["mid"], theirs["mid"], atol=1e-6)


def check_exports(name: str) -> None:
    model = resnet_zoo.create_model(name).eval()
    batch = torch.export.Dim("batch", min=1, max=64)
    program = torch.export.export(model, (_input(name),), dynamic_shapes={"x": {0: batch}})
    with torch.no_grad():
        for n in (1, 3):
            x = _input(name, n)
            assert torch.allclose(program.module()(x), model(x), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name", ["resnet18", "resnetv2_50t", "cifar_resnet20", "seresnext26t_32x4d"])
def test_export_each_family(name):
    check_exports(name)


@pytest.mark.slow
@pytest.mark.parametrize("name", EVERY)
def test_export_every_arch(name):
    check_exports(name)
