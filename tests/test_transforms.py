"""A weight's eval transform gives exactly timm's create_transform(**resolve_data_config(...)) tensors."""

import pytest
import torch
from PIL import Image
from timm.data import create_transform, resolve_data_config
from timm.models import get_pretrained_cfg

import resnet_zoo


def random_image(w: int, h: int, seed: int, mode: str = "RGB") -> Image.Image:
    g = torch.Generator().manual_seed(seed)
    channels = 3 if mode == "RGB" else 1
    data = torch.randint(0, 256, (h, w, channels), generator=g, dtype=torch.uint8).squeeze(-1)
    return Image.fromarray(data.numpy(), mode)


@pytest.mark.parametrize(
    "tag", ["resnet50.a1_in1k", "resnet50.tv_in1k", "resnet10t.c3_in1k", "resnetv2_50.a1h_in1k", "resnetrs50.tf_in1k"]
)
@pytest.mark.parametrize("size", [(301, 227), (180, 400), (224, 224), (97, 61)])
def test_eval_transform_equals_timm(tag, size):
    config = resolve_data_config({}, pretrained_cfg=get_pretrained_cfg(tag).to_dict())
    timm_transform = create_transform(**config)
    ours = resnet_zoo.get_weights(tag).transforms()
    img = random_image(*size, seed=sum(size))
    expected = timm_transform(img)
    got = ours(img)
    assert got.shape == expected.shape == (3, *config["input_size"][1:])
    assert torch.equal(got, expected)


def test_test_size_transform_and_grayscale_input():
    spec = resnet_zoo.get_weights("resnet50.a1_in1k")
    assert spec.transforms(test_size=True)(random_image(320, 300, 1)).shape == (3, 288, 288)
    # a grayscale PIL image goes to the 3 channels the weight expects
    assert spec.transforms()(random_image(250, 260, 2, mode="L")).shape == (3, 224, 224)
