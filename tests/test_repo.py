"""The repository as a new user and CI meet it: README commands and table, packaging."""

import re
import subprocess
import sys
import zipfile
from pathlib import Path

import resnet_zoo
from resnet_zoo.cli import variants_markdown

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text()


def test_readme_variant_table_is_generated_from_the_registry():
    table = re.search(r"<!-- variants:start -->\n(.*?)\n<!-- variants:end -->", README, re.S).group(1)
    assert table == variants_markdown(resnet_zoo.list_models())


def test_ci_runs_the_readme_test_command():
    ci = (REPO / ".ci" / "run").read_text()
    test_command = ".venv/bin/python -m pytest -n 2"
    assert test_command in README and test_command in ci
    assert ".venv/bin/resnet-zoo build-hub --to local_hub --source random --names " in README
    assert ".venv/bin/resnet-zoo check --reference timm" in README


def test_no_reference_library_is_imported_at_runtime():
    code = ("import sys, resnet_zoo; m = resnet_zoo.create_model('resnet18'); resnet_zoo.model_info('resnet18');"
            "print(sorted(k for k in ('timm', 'torchvision', 'transformers', 'keras') if k in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_wheel_ships_the_manifest(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "-w", str(tmp_path), str(REPO)], check=True, capture_output=True)
    wheel = next(tmp_path.glob("resnet_zoo-*.whl"))
    with zipfile.ZipFile(wheel) as zf:
        shipped = zf.read("resnet_zoo/weights_manifest.json")
        assert len(zf.read("resnet_zoo/data/imagenet-1k.txt").splitlines()) == 1000
        names = zf.namelist()
        assert "resnet_zoo/convert/timm.py" in names and "resnet_zoo/data/cifar_resnet20.digits.safetensors" in names
        assert "resnet_zoo/hubconf.py" not in zf.namelist()
    assert shipped == (REPO / "weights_manifest.json").read_bytes()
