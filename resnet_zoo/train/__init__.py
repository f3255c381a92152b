"""Fine-tuning: freezing and parameter groups, datasets, augmentation, the finetune loop."""

from .tuning import freeze, param_groups, unfreeze

__all__ = ["freeze", "unfreeze", "param_groups"]
