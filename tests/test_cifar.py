"""CIFAR ResNets of He et al. (2015), section 4.2."""

import pytest
import torch

import resnet_zoo
from resnet_zoo.nn.layers import ZeroPadShortcut

# The paper's table 6: params of ResNet-20/32/44/56/110 with option A (parameter-free) shortcuts
PAPER_PARAMS_M = {20: 0.27, 32: 0.46, 44: 0.66, 56: 0.85, 110: 1.7}


@pytest.mark.parametrize("depth,params_m", PAPER_PARAMS_M.items())
def test_parameter_counts_match_the_paper(depth, params_m):
    model = resnet_zoo.create_model(f"cifar_resnet{depth}")
    n = sum(p.numel() for p in model.parameters())
    assert round(n / 1e6, 2 if depth < 110 else 1) == params_m
    # 6n+2 weighted layers: 6n 3x3 convs in the stages, the stem conv and the classifier
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) + 1 == depth


def test_shape_and_stages():
    model = resnet_zoo.create_model("cifar_resnet20").eval()
    x = torch.randn(3, 3, 32, 32)
    assert model(x).shape == (3, 10)
    assert model.forward_features(x).shape == (3, 64, 8, 8)
    assert [(f["num_chs"], f["reduction"]) for f in model.feature_info] == [(16, 1), (16, 1), (32, 2), (64, 4)]


def test_option_a_zero_pad_shortcut_is_parameter_free_identity_with_zero_channels():
    model = resnet_zoo.create_model("cifar_resnet20")
    shortcuts = [m for m in model.modules() if isinstance(m, ZeroPadShortcut)]
    assert len(shortcuts) == 2  # entering stage 2 and stage 3
    x = torch.randn(2, 16, 9, 11)
    y = shortcuts[0](x)
    assert y.shape == (2, 32, 5, 6)
    assert torch.equal(y[:, :16], x[:, :, ::2, ::2])
    assert torch.count_nonzero(y[:, 16:]) == 0


def test_option_b_projection_shortcut():
    a = resnet_zoo.create_model("cifar_resnet20")
    b = resnet_zoo.create_model("cifar_resnet20", shortcut="projection")
    n_a, n_b = (sum(p.numel() for p in m.parameters()) for m in (a, b))
    # two 1x1 projections + BN: 16*32 + 2*32 and 32*64 + 2*64
    assert n_b - n_a == 16 * 32 + 2 * 32 + 32 * 64 + 2 * 64
    assert "layer2.0.downsample.0.weight" in b.state_dict()
    assert not any("downsample" in k for k in a.state_dict())
    assert b.eval()(torch.randn(2, 3, 32, 32)).shape == (2, 10)


def test_zero_pad_works_for_imagenet_resnets_too():
    model = resnet_zoo.create_model("resnet50", shortcut="zero_pad").eval()
    assert not any("downsample" in k for k in model.state_dict())
    assert model(torch.randn(1, 3, 65, 47)).shape == (1, 1000)


def test_cifar_nets_train():
    torch.manual_seed(0)
    model = resnet_zoo.create_model("cifar_resnet20", in_chans=1, num_classes=4)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    x, y = torch.randn(16, 1, 32, 32), torch.randint(0, 4, (16,))
    losses = []
    for _ in range(15):
        loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] * 0.5  # it can fit a small batch: gradients flow through every block
