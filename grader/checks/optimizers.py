"""The update rules of torch.optim's SGD, RMSprop, Adam and AdamW (default settings), written out.

Checks replay training in the trusted process to compare weights. Making a real
``torch.optim`` optimizer there would import ``torch._dynamo`` (seconds of start-up
on the grading path); these few lines follow the update rules in PyTorch's
documentation instead, with PyTorch's default hyperparameters.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch


class _Optimizer:
    """``zero_grad`` and ``step`` over a parameter list, as torch.optim does them."""

    def __init__(self, params: Iterable[torch.Tensor], lr: float) -> None:
        self.params = list(params)
        self.lr = lr
        self.steps = 0
        self.state: dict[int, dict[str, torch.Tensor]] = {}

    def zero_grad(self) -> None:
        """Drop the gradients (``set_to_none=True``, torch's default)."""
        for param in self.params:
            param.grad = None

    @torch.no_grad()
    def step(self) -> None:
        """Update every parameter that has a gradient."""
        self.steps += 1
        for index, param in enumerate(self.params):
            if param.grad is not None:
                self._update(param, param.grad, self.state.setdefault(index, {}))

    def _update(self, param: torch.Tensor, grad: torch.Tensor, state: dict[str, torch.Tensor]) -> None:
        raise NotImplementedError


class SGD(_Optimizer):
    """Plain SGD: ``p -= lr * g`` (momentum 0)."""

    def _update(self, param: torch.Tensor, grad: torch.Tensor, state: dict[str, torch.Tensor]) -> None:
        param.add_(grad, alpha=-self.lr)


class RMSprop(_Optimizer):
    """RMSprop with alpha 0.99, eps 1e-8, not centered, no momentum."""

    def _update(self, param: torch.Tensor, grad: torch.Tensor, state: dict[str, torch.Tensor]) -> None:
        square = state.setdefault("square_avg", torch.zeros_like(param))
        square.mul_(0.99).addcmul_(grad, grad, value=0.01)
        param.addcdiv_(grad, square.sqrt().add_(1e-8), value=-self.lr)


class Adam(_Optimizer):
    """Adam with betas (0.9, 0.999), eps 1e-8, no weight decay."""

    weight_decay = 0.0

    def _update(self, param: torch.Tensor, grad: torch.Tensor, state: dict[str, torch.Tensor]) -> None:
        param.mul_(1 - self.lr * self.weight_decay)
        mean = state.setdefault("exp_avg", torch.zeros_like(param))
        square = state.setdefault("exp_avg_sq", torch.zeros_like(param))
        mean.lerp_(grad, 0.1)
        square.mul_(0.999).addcmul_(grad, grad, value=0.001)
        correction1 = 1 - 0.9**self.steps
        correction2 = 1 - 0.999**self.steps
        denominator = (square.sqrt() / math.sqrt(correction2)).add_(1e-8)
        param.addcdiv_(mean, denominator, value=-self.lr / correction1)


class AdamW(Adam):
    """AdamW: Adam with decoupled weight decay 0.01 (applied to the weights before the Adam step)."""

    weight_decay = 0.01
