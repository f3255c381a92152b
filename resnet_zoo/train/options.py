"""What one fine-tuning run is asked to do: :class:`FinetuneConfig` and its checks.

Augmentation options carry the names of timm's ``train.py`` (``scale``, ``ratio``, ``hflip``,
``color_jitter``, ``aa``, ``mixup``, ``cutmix``, ``smoothing``, ``model_ema``), so a timm user's
command line reads the same here.
"""

from dataclasses import dataclass

from ..errors import InvalidArgumentError

DEVICES = ("auto", "cpu", "cuda")


@dataclass
class FinetuneConfig:
    model: str  # an architecture (from scratch unless --pretrained) or arch.tag (its weights)
    data: str = "digits"  # an ImageFolder directory, or "digits"
    out: str = "finetune_out"
    pretrained: bool | str = False  # True: the arch's default weight; a tag; a .safetensors path
    epochs: int = 10
    batch_size: int = 32
    lr: float = 1e-3
    warmup_epochs: float = 1.0
    weight_decay: float = 0.05
    label_smoothing: float = 0.1  # timm: --smoothing
    freeze: str | None = None  # freeze the stem and stages up to this one ("layer2")
    val_fraction: float = 0.2
    amp: bool = False
    seed: int = 0
    resume: bool = False
    overwrite: bool = False  # replace the run an --out folder holds
    hub_dir: str | None = None
    progress: bool = True
    max_steps: int | None = None  # stop each epoch early (smoke runs)
    img_size: int | None = None  # None: the weight's input size, or the data's for CIFAR-style archs
    workers: int = 0  # DataLoader worker processes
    device: str = "auto"
    # augmentation, as timm's train.py names it
    scale: tuple[float, float] = (0.25, 1.0)  # random-resized-crop area fraction
    ratio: tuple[float, float] = (3 / 4, 4 / 3)
    hflip: float = 0.5
    color_jitter: float = 0.0  # brightness/contrast/saturation strength
    aa: str | None = None  # "rand-m9-n2", "trivial"
    mixup: float = 0.0  # Beta(alpha, alpha); 0 = off
    cutmix: float = 0.0
    mixup_prob: float = 1.0
    mixup_switch_prob: float = 0.5
    # model EMA and early stopping
    model_ema: bool = False
    model_ema_decay: float = 0.998
    patience: int | None = None  # stop after this many epochs without a better val_acc


def _check_range(name: str, value: float, low: float, high: float, high_open: bool = False) -> None:
    ok = low <= value < high if high_open else low <= value <= high
    if not ok:
        bound = f"[{low:g}, {high:g}{')' if high_open else ']'}"
        raise InvalidArgumentError(f"--{name}={value:g} must be in {bound}")


def check_config(cfg: FinetuneConfig) -> None:
    """Refuse bad values before any data is read or model built, naming the option and its range."""
    for name in ("epochs", "batch_size"):
        if getattr(cfg, name) < 1:
            raise InvalidArgumentError(f"--{name.replace('_', '-')}={getattr(cfg, name)} must be >= 1")
    if not cfg.lr > 0:
        raise InvalidArgumentError(f"--lr={cfg.lr} must be > 0")
    _check_range("label-smoothing", cfg.label_smoothing, 0, 1, high_open=True)
    _check_range("hflip", cfg.hflip, 0, 1)
    _check_range("mixup-prob", cfg.mixup_prob, 0, 1)
    _check_range("mixup-switch-prob", cfg.mixup_switch_prob, 0, 1)
    _check_range("model-ema-decay", cfg.model_ema_decay, 0, 1, high_open=True)
    _check_range("color-jitter", cfg.color_jitter, 0, 1)
    if cfg.mixup < 0 or cfg.cutmix < 0:
        raise InvalidArgumentError(f"--mixup={cfg.mixup:g} / --cutmix={cfg.cutmix:g} must be >= 0 (0 turns it off)")
    if not 0 < cfg.scale[0] <= cfg.scale[1] <= 1:
        raise InvalidArgumentError(f"--scale {cfg.scale[0]:g} {cfg.scale[1]:g} must satisfy 0 < MIN <= MAX <= 1")
    if not 0 < cfg.ratio[0] <= cfg.ratio[1]:
        raise InvalidArgumentError(f"--ratio {cfg.ratio[0]:g} {cfg.ratio[1]:g} must satisfy 0 < MIN <= MAX")
    if cfg.img_size is not None and not 8 <= cfg.img_size <= 4096:
        raise InvalidArgumentError(f"--img-size={cfg.img_size} must be in [8, 4096] pixels")
    if cfg.workers < 0:
        raise InvalidArgumentError(f"--workers={cfg.workers} must be >= 0 (0: load in the main process)")
    if cfg.device not in DEVICES:
        raise InvalidArgumentError(f"--device={cfg.device!r} is not one of {', '.join(DEVICES)}")
    if cfg.patience is not None and cfg.patience < 1:
        raise InvalidArgumentError(f"--patience={cfg.patience} must be >= 1 epoch (leave it out for no early stop)")
    if cfg.max_steps is not None and cfg.max_steps < 1:
        raise InvalidArgumentError(f"--max-steps={cfg.max_steps} must be >= 1")
    if cfg.resume and cfg.overwrite:
        raise InvalidArgumentError("--resume and --overwrite contradict each other: continue the run, or replace it")
