"""``create_model``: the only place where the two roads meet.

A name goes through the registry to a module (built on ``meta`` when weights follow); a tag goes
through the manifest to tensors; they meet here, at ``load_state_dict(assign=True)``. Repos in
timm's layout (``hf-hub:ORG/NAME``, ``local-dir:PATH``, a finetune output folder) are a third
source of tensors, read by ``weights.repo`` and checked here against the architecture they name.
"""

import os
from collections.abc import Iterable, Sequence
from fnmatch import fnmatchcase
from functools import partial
from pathlib import Path
from typing import Any

from .convert import ArchKeys
from .errors import IncompatibleCheckpointError, InvalidArgumentError, UnknownModelError
from .models import ResNetBase
from .nn.meta import meta_device
from .weights.cfg import weight_cfg
from .weights.load import LoadedWeights, is_path, load_into, weights_from_file, weights_from_manifest
from .weights.localhub import hub_dir_from_env
from .weights.manifest import Weights, load_manifest
from .weights.manifest import list_pretrained as manifest_list_pretrained
from .weights.repo import RepoWeights, is_repo_ref, is_weight_folder, open_repo, resolve_alias
from .zoo import arch_keys, build_model, get_spec, is_model, model_args
from .zoo import list_models as registry_list_models

# timm's feature wrappers and what a resnet_zoo model offers instead
FEATURE_CLASSES = (None, "list", "getter")


def create_model(
    name: str,
    pretrained: bool | str = False,
    num_classes: int | None = None,
    in_chans: int | None = None,
    hub_dir: str | os.PathLike[str] | None = None,
    features_only: bool = False,
    out_indices: Sequence[int] | None = None,
    verify: bool = False,
    **kwargs: Any,
) -> ResNetBase:
    """Build a registered ResNet by name, optionally with pretrained weights.

    Args:
        name: a registered architecture (``resnet_zoo.list_models()``), ``"arch.tag"`` to name a
            specific weight (torchvision's ``arch.IMAGENET1K_V1/V2/DEFAULT`` too), or a repo in
            timm's layout: ``"hf-hub:ORG/NAME[@REVISION]"`` or ``"local-dir:PATH"``.
        pretrained: ``False`` for random init; ``True`` for the arch's default (or the named tag's
            or repo's) weights; a tag string (a bare word is always a tag); a file: a ``Path``, or a
            string with a path separator or a ``.safetensors``/``.pth``/``.bin`` suffix; or a folder
            in timm's layout (a ``finetune`` output, ``save_pretrained``'s output).
        num_classes: classifier outputs (0 removes the classifier); defaults to the weight's, else
            the spec's. A count other than the weight's gets a new, randomly initialised classifier.
        in_chans: input channels; defaults to 3. Pretrained stems are adapted as timm does.
        hub_dir: a local hub directory to load weights from (default ``$RESNET_ZOO_HUB_DIR``).
        features_only: return a backbone whose forward gives the list of feature maps (stem, then
            one per stage) at ``out_indices`` (default: all); ``.feature_info`` describes them.
        verify: rehash the weight file even when its size and mtime match the last verification.
        **kwargs: architecture overrides such as ``drop_rate``, ``drop_path_rate``,
            ``global_pool``, ``output_stride``, ``shortcut``, ``zero_init_last``; and timm's
            factory arguments (``pretrained_cfg``, ``pretrained_cfg_overlay``, ``checkpoint_path``,
            ``feature_cfg``, ``feature_cls``, ``scriptable``, ``exportable``, ``no_jit``, ``cache_dir``).
    """
    if not isinstance(pretrained, (bool, str, os.PathLike)) and pretrained is not None:
        raise InvalidArgumentError(
            f"pretrained={pretrained!r} ({type(pretrained).__name__}) is invalid; use False, True, a weight tag, "
            "a path to a .safetensors file or a folder with config.json"
        )
    pretrained = os.fspath(pretrained) if isinstance(pretrained, os.PathLike) else pretrained
    timm_args = {k: kwargs.pop(k) for k in TIMM_ARGS if k in kwargs}
    name, pretrained, overlay, cache_dir = apply_timm_args(name, pretrained, timm_args)
    features_only, out_indices = feature_args(features_only, out_indices, timm_args)
    if features_only and num_classes:
        raise InvalidArgumentError(
            f"features_only=True returns feature maps; num_classes={num_classes} has no "
            "classifier to size (leave it out)"
        )
    if out_indices is not None and not features_only:
        raise InvalidArgumentError(
            "out_indices selects feature maps of a features_only=True backbone; pass features_only=True too"
        )
    overrides = dict(kwargs, num_classes=num_classes, in_chans=in_chans)
    repo = repo_of(name, pretrained, cache_dir)
    if repo is not None:
        model = model_from_repo(repo, bool(pretrained), overrides)
    elif pretrained:
        if cache_dir is not None:
            raise InvalidArgumentError(
                "cache_dir= applies to hf-hub: repos; manifest weights use huggingface_hub's cache (set "
                "HF_HUB_CACHE or HF_HOME before starting Python) or a local hub directory (hub_dir=)"
            )
        model = load_pretrained_model(name, pretrained, overrides, hub_dir=hub_dir, verify=verify)
    else:
        spec = get_spec(name)
        model_args(spec.name, **overrides)  # validate names before building
        model = build_model(spec.name, **overrides)
    if overlay:
        model.pretrained_cfg = {**model.pretrained_cfg, **overlay}
    if timm_args.get("checkpoint_path"):
        load_checkpoint(model, timm_args["checkpoint_path"])
    return model.as_backbone(out_indices) if features_only else model


# -- timm's factory arguments ------------------------------------------------------------------

TIMM_ARGS = (
    "pretrained_cfg",
    "pretrained_cfg_overlay",
    "checkpoint_path",
    "feature_cfg",
    "feature_cls",
    "scriptable",
    "exportable",
    "no_jit",
    "cache_dir",
)
_OVERLAY_SOURCES = ("file", "hf_hub_id", "state_dict", "url")


def apply_timm_args(
    name: str, pretrained: bool | str, args: dict[str, Any]
) -> tuple[str, bool | str, dict[str, Any], str | None]:
    """timm's ``pretrained_cfg`` (a tag or a dict) and ``pretrained_cfg_overlay`` (``file`` /
    ``hf_hub_id`` pick the weights; other keys overlay the model's pretrained_cfg).
    ``scriptable``/``exportable``/``no_jit`` need nothing: every model scripts and exports."""
    overlay: dict[str, Any] = {}
    cfg = args.get("pretrained_cfg")
    if isinstance(cfg, str):
        if "." in name:
            raise InvalidArgumentError(f"{name!r} names a tag and pretrained_cfg={cfg!r} another; give one")
        name = f"{name}.{cfg}"
    elif cfg is not None:
        overlay.update(cfg if isinstance(cfg, dict) else cfg.to_dict())
    overlay.update(args.get("pretrained_cfg_overlay") or {})
    if overlay.get("url") or overlay.get("state_dict") is not None:
        raise InvalidArgumentError(
            "pretrained_cfg_overlay with 'url' or 'state_dict' is not supported: download the file and "
            "pass pretrained='path/to/file.safetensors' (or checkpoint_path=), or load a state_dict with "
            "model.load_state_dict(...)"
        )
    if pretrained and overlay.get("file"):
        pretrained = str(overlay["file"])
    elif pretrained and overlay.get("hf_hub_id"):
        name = f"hf-hub:{overlay['hf_hub_id']}"
    overlay = {k: tuple(v) if isinstance(v, list) else v for k, v in overlay.items() if k not in _OVERLAY_SOURCES}
    cache_dir = args.get("cache_dir")
    return name, pretrained, overlay, (os.fspath(cache_dir) if cache_dir is not None else None)


def feature_args(
    features_only: bool, out_indices: Sequence[int] | None, args: dict[str, Any]
) -> tuple[bool, Sequence[int] | None]:
    """timm's ``feature_cfg`` / ``feature_cls``: the list-of-maps backbones (timm's default
    ``FeatureListNet`` and ``'getter'``) are what ``features_only`` builds; others are refused."""
    feature_cfg = dict(args.get("feature_cfg") or {})
    out_indices = feature_cfg.pop("out_indices", out_indices)
    feature_cls = args.get("feature_cls", feature_cfg.pop("feature_cls", None))
    feature_cfg.pop("flatten_sequential", None)  # our stages are already one level
    if feature_cfg:
        raise InvalidArgumentError(
            f"feature_cfg keys {sorted(feature_cfg)} are not supported; resnet_zoo takes out_indices "
            "(and feature_cls 'getter'/'list')"
        )
    if isinstance(feature_cls, str):
        feature_cls = feature_cls.lower()
    if feature_cls not in FEATURE_CLASSES:
        raise InvalidArgumentError(
            f"feature_cls={feature_cls!r} is not supported: features_only=True returns the list of maps "
            "(timm's FeatureListNet and 'getter'); for a dict of named outputs use torchvision's "
            "create_feature_extractor(model, return_nodes) or timm's FeatureGetterNet(model)"
        )
    return features_only, (tuple(out_indices) if out_indices is not None else None)


def load_checkpoint(model: ResNetBase, path: str | os.PathLike[str]) -> None:
    """timm's ``checkpoint_path``: a checkpoint of this exact model (same classes), loaded strictly."""
    arch = str(model.pretrained_cfg.get("architecture") or getattr(model, "arch_name", ""))
    loaded = weights_from_file(Path(path), keys_of(arch))
    if loaded.num_classes != model.num_classes:
        raise IncompatibleCheckpointError(
            f"checkpoint_path={str(path)!r} has a {loaded.num_classes}-class classifier, the model "
            f"{model.num_classes}; pass num_classes={loaded.num_classes}, or use pretrained= (which adapts the head)"
        )
    model.load_state_dict(loaded.state_dict, strict=True)


# -- repos in timm's layout ----------------------------------------------------------------------


def repo_of(name: str, pretrained: bool | str, cache_dir: str | None) -> RepoWeights | None:
    """The repo behind ``hf-hub:``/``local-dir:`` names or a ``pretrained=`` folder, else None."""
    if is_repo_ref(name):
        repo = open_repo(name, cache_dir, need_weights=bool(pretrained))
        registered_arch(repo)
        if isinstance(pretrained, str):
            raise InvalidArgumentError(f"{name!r} names its weights; pass pretrained=True, not {pretrained!r}")
        return repo
    if isinstance(pretrained, str) and (is_repo_ref(pretrained) or is_weight_folder(pretrained)):
        repo = open_repo(pretrained, cache_dir)
        arch = registered_arch(repo)
        if get_spec(name).name != arch:
            raise IncompatibleCheckpointError(
                f"pretrained={pretrained!r} holds a {arch!r} model, not {name!r}; use create_model({arch!r}, "
                f"pretrained={pretrained!r})"
            )
        return repo
    return None


def registered_arch(repo: RepoWeights) -> str:
    if not is_model(repo.arch):
        raise UnknownModelError(
            f"{repo.location}: its config.json names the architecture {repo.arch!r}, which resnet_zoo does not "
            "register; resnet_zoo.list_models() names those it builds (load this repo with timm instead)"
        )
    return get_spec(repo.arch).name


def model_from_repo(repo: RepoWeights, with_weights: bool, overrides: dict[str, Any]) -> ResNetBase:
    """The architecture a repo names, with its weights (checked against the arch) or its classes only."""
    arch = repo.arch
    if not with_weights:
        args = {"num_classes": repo.weight.num_classes, **{k: v for k, v in overrides.items() if v is not None}}
        model_args(arch, **args)
        model = build_model(arch, **args)
    else:
        loaded = weights_from_file(repo.weight_file, keys_of(arch))
        loaded.name, loaded.weight = repo.location, repo.weight
        model = assemble(arch, loaded, overrides)
    model.pretrained_cfg = {**model.pretrained_cfg, **repo.pretrained_cfg, "num_classes": model.num_classes}
    model.weights = repo.weight
    return model


def load_reference(
    ref: str, hub_dir: str | os.PathLike[str] | None = None, arch_default_weight: bool = True
) -> tuple[ResNetBase, Weights | None]:
    """What a command's MODEL argument names, loaded: a weight tag; an architecture (its default
    weight, or random init without ``arch_default_weight``); ``hf-hub:``/``local-dir:`` repos; a
    folder in timm's layout (a finetune output); or a weight file beside its ``config.json``.
    Returns the model and its weight record (None for random init)."""
    path = Path(ref)
    if path.suffix in (".safetensors", ".bin") and (path.parent / "config.json").is_file():
        ref = str(path.parent)  # a finetune checkpoint file: its folder holds the config
    if is_repo_ref(ref):
        model = create_model(ref, pretrained=True, hub_dir=hub_dir)
    elif is_weight_folder(ref):
        model = create_model(open_repo(ref, need_weights=False).arch, pretrained=ref)
    elif "." in ref or (arch_default_weight and manifest_has_weights(ref)):
        model = create_model(ref, pretrained=True, hub_dir=hub_dir)
    else:
        model = create_model(ref)
    return model, model.weights


def manifest_has_weights(arch: str) -> bool:
    return any(w.arch == get_spec(arch).name for w in load_manifest().values())


# -- the manifest road ----------------------------------------------------------------------------


def keys_of(arch: str) -> "partial[ArchKeys]":
    """``(num_classes, in_chans) -> ArchKeys`` of ``arch``: what the weights road checks against."""
    return partial(arch_keys, get_spec(arch).name)


def read_weights(
    name: str, pretrained: bool | str, hub_dir: str | os.PathLike[str] | None = None, verify: bool = False
) -> LoadedWeights:
    """The tensors ``create_model(name, pretrained=...)`` would load, in our layout and checked."""
    keys_for = keys_of(name)
    if is_path(pretrained):  # a Path, or a str with a separator or a weight-file suffix; a bare word is a tag
        return weights_from_file(Path(pretrained), keys_for)  # type: ignore[arg-type]  # is_path: str or PathLike
    name = resolve_alias(name)
    if isinstance(pretrained, str):
        pretrained = resolve_alias(f"{get_spec(name).name}.{pretrained}").partition(".")[2] or True
    return weights_from_manifest(name, pretrained, keys_for, hub_dir_from_env(hub_dir), verify)


def load_pretrained_model(
    name: str,
    pretrained: bool | str,
    overrides: dict[str, Any],
    hub_dir: str | os.PathLike[str] | None = None,
    verify: bool = False,
) -> ResNetBase:
    """Weights first, then the model built on ``meta`` to fit them, then assigned."""
    return assemble(get_spec(name).name, read_weights(name, pretrained, hub_dir, verify), overrides)


def assemble(arch: str, weights: LoadedWeights, overrides: dict[str, Any]) -> ResNetBase:
    """Build ``arch`` on ``meta`` to fit ``weights`` (with ``overrides``), assign them, attach the
    weight's pretrained_cfg (timm's dict) and its record (``model.weights``)."""
    implied = {"num_classes": weights.num_classes, "in_chans": weights.in_chans}
    args = {**implied, **{k: v for k, v in overrides.items() if v is not None}}
    model_args(arch, **args)  # validate before building
    with meta_device():
        model = build_model(arch, **args)
    load_into(model, weights.state_dict, weights.name, weights.num_classes)
    if weights.weight is not None:
        cfg = {**model.pretrained_cfg, **weight_cfg(weights.weight)}
        if model.num_classes != weights.num_classes:  # a new head: the weight's classes no longer apply
            cfg.update(num_classes=model.num_classes, label_names=None)
        if args.get("in_chans", 3) != weights.in_chans:
            c = args["in_chans"]
            cfg.update(input_size=(c, *cfg["input_size"][1:]), test_input_size=None)
        model.pretrained_cfg = cfg
        model.weights = weights.weight
    else:
        model.pretrained_cfg = {**model.pretrained_cfg, "file": weights.name}
    return model


# -- listings in timm's shape ---------------------------------------------------------------------


def list_models(
    filter: str | Iterable[str] = "",
    exclude: str | Iterable[str] = "",
    pretrained: bool = False,
    include_tags: bool | None = None,
    exclude_filters: str | Iterable[str] = "",
    module: str = "",
) -> list[str]:
    """Registered architectures matching shell-style wildcards (``"resnet5*"``), as timm's
    ``list_models``: ``pretrained=True`` keeps those with weights and (as timm) lists their weight
    names ``arch.tag`` unless ``include_tags=False``; ``exclude_filters`` is timm's name of ``exclude``."""
    excludes = [exclude] if isinstance(exclude, str) else list(exclude)
    excludes += [exclude_filters] if isinstance(exclude_filters, str) else list(exclude_filters)
    archs = registry_list_models(filter, [e for e in excludes if e])
    if not pretrained and not include_tags:
        return archs
    weights = load_manifest()
    tagged = [w.name for w in weights.values() if w.arch in set(archs)]
    if include_tags is False:
        with_weights = {w.arch for w in weights.values()}
        return [a for a in archs if a in with_weights]
    if not pretrained:  # include_tags=True: every arch, tagged where it has weights
        tagged += [a for a in archs if not any(n.startswith(a + ".") for n in tagged)]
    patterns = [filter] if isinstance(filter, str) else list(filter)
    return [n for n in tagged if not any(p and "." in p for p in patterns) or any(fnmatchcase(n, p) for p in patterns)]


def list_pretrained(
    filter: str = "", exclude_filters: str | Iterable[str] = "", manifest: str | None = None
) -> list[str]:
    """Weight names ``arch.tag`` matching a shell-style wildcard (``"resnet50.*"``), as timm's."""
    names = manifest_list_pretrained(filter, manifest=manifest)
    excludes = [exclude_filters] if isinstance(exclude_filters, str) else list(exclude_filters)
    return [n for n in names if not any(e and fnmatchcase(n, e) for e in excludes)]


__all__ = ["create_model", "keys_of", "read_weights", "load_pretrained_model", "list_models", "list_pretrained"]
