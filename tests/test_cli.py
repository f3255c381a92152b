"""The resnet-zoo command."""

import json
import subprocess
import sys

import resnet_zoo.tools.parity as parity
from resnet_zoo.cli import main


def test_check_against_timm_passes(capsys):
    assert main(["check", "--reference", "timm", "--names", "resnet18", "resnetv2_18", "cifar_resnet20"]) == 0
    out = capsys.readouterr().out
    assert "resnet18" in out and "resnetv2_18" in out and "2/2 match timm" in out
    assert "skipped (no timm counterpart): cifar_resnet20" in out


def test_check_exits_non_zero_on_a_mismatch(monkeypatch, capsys):
    real = parity.check_parity

    def broken(name, reference="timm", seed=0):
        r = real(name, reference, seed)
        return parity.ParityResult(**{**r.__dict__, "max_abs_diff_eval": r.reference_scale * 1e-3})

    import resnet_zoo.cli.models as cli_models

    monkeypatch.setattr(cli_models, "check_parity", broken)
    assert main(["check", "--names", "resnet18"]) == 1
    captured = capsys.readouterr()
    assert "MISMATCH" in captured.out and "resnet18" in captured.err


def test_list_and_info(capsys):
    assert main(["list", "cifar_resnet2*"]) == 0
    out = capsys.readouterr().out
    assert "cifar_resnet20" in out and "0.27" in out
    assert main(["info", "resnet50"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["params"] == 25_557_032 and info["gmacs"] == round(resnet_zoo_gmacs("resnet50"), 4)


def resnet_zoo_gmacs(name):
    import resnet_zoo

    return resnet_zoo.model_info(name).gmacs


def test_unknown_name_is_a_clean_error(capsys):
    assert main(["info", "resnet51"]) == 2
    assert "did you mean" in capsys.readouterr().err


def test_python_dash_m_runs_the_same_command():
    out = subprocess.run(
        [sys.executable, "-m", "resnet_zoo", "list", "--json", "resnetrs*"], capture_output=True, text=True, check=True
    ).stdout
    assert json.loads(out) == ["resnetrs50", "resnetrs101", "resnetrs152", "resnetrs200"]
