"""The command line as a new user meets it: help, verbosity, unknown names, predict, weights, export."""

import argparse
import json
import logging

import pytest

import resnet_zoo
from resnet_zoo.cli import build_parser, main
from resnet_zoo.train.datasets import export_digits
from resnet_zoo.weights.availability import load_source
from resnet_zoo.weights.download import url_cache_path


def _subparsers(parser, path=()):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield (*path, name), sub
                yield from _subparsers(sub, (*path, name))


def test_every_command_has_help_defaults_and_examples():
    parser = build_parser()
    assert "examples:" in parser.format_help() and "`" not in parser.description
    commands = list(_subparsers(parser))
    assert len(commands) >= 14
    for path, sub in commands:
        text = sub.format_help()
        assert "examples:" in text, f"{' '.join(path)} has no example"
        for action in sub._actions:
            if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
                continue
            assert action.help, f"{' '.join(path)} {action.option_strings or action.dest} has no help text"
            if action.default not in (None, False, argparse.SUPPRESS) and action.option_strings:
                assert "(default:" in text, f"{' '.join(path)} shows no default"
    finetune = dict(commands)[("finetune",)].format_help()
    for option in ("--img-size", "--workers", "--device", "--seed", "--scale", "--hflip", "--color-jitter", "--aa"):
        assert option in finetune
    for option in ("--mixup", "--cutmix", "--smoothing", "--model-ema", "--ema", "--patience", "--overwrite"):
        assert option in finetune
    assert "(default: auto)" in finetune and "(default: 0.5)" in finetune


@pytest.mark.parametrize(
    "flags, level", [([], logging.INFO), (["-v"], logging.DEBUG), (["-q"], logging.WARNING), (["-qq"], logging.ERROR)]
)
def test_quiet_and_verbose_set_the_log_level(flags, level, capsys):
    assert main([*flags, "list", "--json", "cifar_resnet2*"]) == 0
    assert logging.getLogger("resnet_zoo").level == level


def test_quiet_silences_the_log_lines(tmp_path, capsys):
    export_digits(tmp_path, limit=1)
    image = str(next(tmp_path.glob("*/*.png")))
    assert main(["predict", image, "--model", "cifar_resnet20.digits"]) == 0
    assert "loading from bundled" in capsys.readouterr().err
    assert main(["-q", "predict", image, "--model", "cifar_resnet20.digits"]) == 0
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(
    "argv",
    [
        ["info", "resnet51"],
        ["list", "resnet51*"],
        ["weights", "resnet51"],
        ["weights", "resnet51*"],
        ["download", "resnet51"],
        ["check", "--names", "resnet51"],
        ["predict", "x.png", "--model", "resnet51"],
        ["export", "onnx", "resnet51", "--out", "x.onnx"],
        ["finetune", "resnet51", "--data", "digits", "--out", "x"],
        ["convert", "resnet51", "--out", "x"],
    ],
)
def test_unknown_names_fail_with_close_matches(argv, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "did you mean" in err and "resnet50" in err, err


def test_list_pretrained_of_an_unknown_name_raises():
    with pytest.raises(resnet_zoo.UnknownModelError, match="did you mean resnet50"):
        resnet_zoo.list_pretrained("resnet51")
    assert resnet_zoo.list_pretrained("resnet51*") == []  # a wildcard that matches nothing is an empty answer


def test_predict_folders_json_batches_and_per_file_errors(tmp_path, capsys):
    export_digits(tmp_path / "digits", limit=5)
    (tmp_path / "digits" / "nested" / "deeper").mkdir(parents=True)
    export_digits(tmp_path / "digits" / "nested" / "deeper", limit=2)
    (tmp_path / "broken.png").write_bytes(b"not a png")
    argv = ["predict", str(tmp_path / "digits"), str(tmp_path / "broken.png"), str(tmp_path / "missing.png")]
    assert main([*argv, "--model", "cifar_resnet20.digits", "--batch-size", "2", "--json", "--topk", "2"]) == 1
    captured = capsys.readouterr()
    rows = json.loads(captured.out)
    predicted = [r for r in rows if "top" in r]
    assert len(predicted) == 7 and all(len(r["top"]) == 2 for r in predicted)
    assert any("deeper" in r["path"] for r in predicted)  # folders are searched recursively
    errors = {r["path"]: r["error"] for r in rows if "error" in r}
    assert set(errors) == {str(tmp_path / "broken.png"), str(tmp_path / "missing.png")}
    assert f"{tmp_path / 'broken.png'}: cannot read image" in captured.err
    assert "2 of 9 input(s) failed; 7 predicted" in captured.err
    (tmp_path / "empty").mkdir()
    assert main(["predict", str(tmp_path / "empty"), "--model", "cifar_resnet20.digits"]) == 1
    assert "folder holds no image files" in capsys.readouterr().err
    assert main(["predict", str(tmp_path / "digits"), "--model", "cifar_resnet20.digits", "--topk", "0"]) == 2
    assert "--topk 0 must be >= 1" in capsys.readouterr().err


def test_weights_table_says_where_each_tag_loads_from(capsys):
    assert main(["weights", "cifar_resnet20"]) == 0
    out = capsys.readouterr().out
    assert "loads from" in out and "bundled" in out
    weight = resnet_zoo.get_weights("resnet50_keras.keras_in1k")  # an origin-URL weight
    assert load_source(weight, None) == "needs network"
    cached = url_cache_path(weight.origin.url)
    cached.parent.mkdir(parents=True, exist_ok=True)
    try:
        cached.write_bytes(b"stand-in")
        assert load_source(weight, None) == "cached"
        assert main(["weights", "resnet50_keras.keras_in1k"]) == 0
        assert "cached" in capsys.readouterr().out
    finally:
        cached.unlink()


def test_export_onnx_opset_metadata_and_dynamic_shape(tmp_path, capsys):
    onnx = pytest.importorskip("onnx")
    assert main(["export", "onnx", "cifar_resnet20", "--out", str(tmp_path / "a.onnx"), "--opset", "13"]) == 2
    err = capsys.readouterr().err
    assert "--opset 13 is not supported" in err and "18 to" in err and not (tmp_path / "a.onnx").exists()
    out = tmp_path / "d.onnx"
    assert main(["export", "onnx", "cifar_resnet20.digits", "--out", str(out), "--opset", "19", "--dynamic-shape"]) == 0
    line = capsys.readouterr().out
    assert "format ONNX, opset 19, input batch x 1 x height x width" in line
    assert "max |Δ|" in line and "1x1x32x32, 3x1x51x41" in line
    model = onnx.load(str(out))
    assert [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")] == [19]
    meta = {p.key: p.value for p in model.metadata_props}
    assert json.loads(meta["labels"]) == [str(d) for d in range(10)]
    assert json.loads(meta["preprocessing"])["input_size"] == [1, 32, 32] and meta["model"] == "cifar_resnet20.digits"


def test_hub_docstrings_name_the_archs_own_tags():
    import importlib.util

    from hubtools import REPO

    spec = importlib.util.spec_from_file_location("hubconf_for_test", REPO / "hubconf.py")
    hubconf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hubconf)
    assert "('digits')" in hubconf.cifar_resnet20.__doc__ and "a1_in1k" not in hubconf.cifar_resnet20.__doc__
    assert "none are published" in hubconf.cifar_resnet32.__doc__


def test_manifest_sync_outside_a_checkout_keeps_our_entries(tmp_path, monkeypatch):
    from hubtools import REPO
    from resnet_zoo.tools.manifest_sync import sync

    monkeypatch.chdir(tmp_path)  # as from an installed wheel: no weights_manifest.json here
    assert main(["manifest", "sync"]) == 2  # no results table: a clear error, not a traceback
    entries = sync(tmp_path / "weights_manifest.json", REPO / "data" / "timm-results-imagenet-resnet.csv")
    assert "cifar_resnet20.digits" in {e.name for e in entries}
