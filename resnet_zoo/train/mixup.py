"""Mixup and CutMix on a batch, with soft targets (timm's ``--mixup``, ``--cutmix``,
``--mixup-prob``, ``--mixup-switch-prob``, ``--smoothing``)."""

import math
import random
from dataclasses import dataclass

import torch
import torch.nn as nn


def one_hot(labels: torch.Tensor, num_classes: int, smoothing: float) -> torch.Tensor:
    off = smoothing / num_classes
    y = torch.full((labels.shape[0], num_classes), off, device=labels.device)
    return y.scatter_(1, labels.view(-1, 1), 1.0 - smoothing + off)


@dataclass
class Mixup:
    """Per batch, with probability ``prob``: CutMix (with ``switch_prob`` when both are on) or Mixup,
    lambda drawn from Beta(alpha, alpha). Returns the mixed images and soft targets."""

    mixup_alpha: float
    cutmix_alpha: float
    num_classes: int
    prob: float = 1.0
    switch_prob: float = 0.5
    smoothing: float = 0.1

    @property
    def active(self) -> bool:
        return self.mixup_alpha > 0 or self.cutmix_alpha > 0

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        target = one_hot(y, self.num_classes, self.smoothing)
        if not self.active or random.random() >= self.prob:
            return x, target
        use_cutmix = self.cutmix_alpha > 0 and (self.mixup_alpha <= 0 or random.random() < self.switch_prob)
        alpha = self.cutmix_alpha if use_cutmix else self.mixup_alpha
        lam = float(torch.distributions.Beta(alpha, alpha).sample())
        flipped = x.flip(0)
        if use_cutmix:
            h, w = x.shape[-2:]
            cut = math.sqrt(1 - lam)
            ch, cw = int(h * cut), int(w * cut)
            cy, cx = random.randint(0, h - 1), random.randint(0, w - 1)
            top, bottom = max(cy - ch // 2, 0), min(cy + ch // 2, h)
            left, right = max(cx - cw // 2, 0), min(cx + cw // 2, w)
            x = x.clone()
            x[..., top:bottom, left:right] = flipped[..., top:bottom, left:right]
            lam = 1 - (bottom - top) * (right - left) / (h * w)  # the area actually kept
        else:
            x = x * lam + flipped * (1 - lam)
        return x, target * lam + target.flip(0) * (1 - lam)


class SoftTargetCrossEntropy(nn.Module):
    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return torch.sum(-target * logits.log_softmax(dim=-1), dim=-1).mean()
