"""Worker-side helpers for the hw1 train, evaluate and end-to-end checks.

They build the reference objects those checks hand to the student's
``train_one_epoch``, ``train``, ``predict`` and ``evaluate`` (so that a bug in
the student's model.py or data.py cannot leak into Steps 3 and 4), and read
weights and outputs back as plain data. Nothing is recorded here for a verdict:
student code shares this process and could rewrite any record. What the mode
and device checks need to see, the reference models turn into values that come
back (:class:`ReferenceLinear`), and the trusted process recomputes every
number they lead to.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from PIL import Image
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from grader.probes.device import guard_loader, place


class ReferenceLinear(nn.Module):
    """``nn.Linear`` with given weights, whose output may also show the mode it ran in.

    ``eval_scale`` multiplies the output in eval mode; ``train_order`` and ``grad_order`` reorder its
    classes (``output[:, order]``) in train mode and while gradients are tracked. A check that wants to
    know the mode sets one of them and reads it off what the student's code returns (weights after an
    epoch, predictions, an accuracy); the others leave them at rest, so the model is a plain Linear.
    """

    def __init__(
        self,
        weight: torch.Tensor,
        bias: torch.Tensor,
        eval_scale: float = 1.0,
        train_order: list[int] | None = None,
        grad_order: list[int] | None = None,
    ) -> None:
        super().__init__()
        self.linear = nn.Linear(weight.shape[1], weight.shape[0])
        with torch.no_grad():
            self.linear.weight.copy_(weight)
            self.linear.bias.copy_(bias)
        self.eval_scale = eval_scale
        self.train_order = train_order
        self.grad_order = grad_order

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The linear layer's output, changed as the mode says."""
        output = self.linear(x)
        if not self.training and self.eval_scale != 1.0:
            output = output * self.eval_scale
        if self.training and self.train_order is not None:
            output = output[:, self.train_order]
        if torch.is_grad_enabled() and self.grad_order is not None:
            output = output[:, self.grad_order]
        return output


class RecordingCrossEntropy(nn.CrossEntropyLoss):
    """``nn.CrossEntropyLoss`` that notes whether its first argument looks like logits.

    ``calls`` holds one ``(first argument is floating point, its shape)`` pair per call,
    recorded before the loss runs, so a swapped call that crashes is still seen. It only
    words the message of a check that already failed (student code could rewrite it).
    """

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[bool, tuple[int, ...]]] = []

    def forward(self, input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Record the first argument, then compute the usual cross-entropy."""
        self.calls.append((bool(input.is_floating_point()), tuple(input.shape)))
        return super().forward(input, target)


class DigitsTransform:
    """Turns an 8x8 grayscale PIL image into 64 standardized float32 values (the end-to-end check's features).

    Each pixel, scaled to [0, 1] and flattened row by row, has ``mean`` subtracted and is divided by
    ``scale`` (both of shape (64,), float32), as grader.checks.hw1.test_end_to_end.features does.
    """

    def __init__(self, mean: np.ndarray, scale: np.ndarray) -> None:
        self.mean = mean
        self.scale = scale

    def __call__(self, image: Image.Image) -> torch.Tensor:
        """The image's 64 standardized pixels."""
        pixels = np.asarray(image, dtype=np.float32).reshape(-1) / np.float32(255.0)
        return torch.from_numpy((pixels - self.mean) / self.scale)


def loader(x: torch.Tensor, y: torch.Tensor, batch_size: int, device: str = "cpu", guard: bool = True) -> DataLoader:
    """An unshuffled DataLoader over ``TensorDataset(x, y)``; its batches stay on the CPU, as a real one's do."""
    data = DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=False)
    guard_loader(data, device, guard)
    return data


def training_setup(
    weight: torch.Tensor,
    bias: torch.Tensor,
    x: torch.Tensor,
    y: torch.Tensor,
    batch_size: int,
    lr: float,
    device: str = "cpu",
    guard: bool = True,
    eval_scale: float = 1.0,
) -> tuple[ReferenceLinear, DataLoader, RecordingCrossEntropy, torch.optim.SGD]:
    """``(model, loader, loss_fn, optimizer)`` for a training check, model and loss on ``device``.

    The model starts in eval mode, where its output is scaled by ``eval_scale`` (see
    :class:`ReferenceLinear`). ``guard``: see :func:`grader.probes.device.place`.
    """
    model, loss_fn = ReferenceLinear(weight, bias, eval_scale=eval_scale), RecordingCrossEntropy()
    place(device, model, loss_fn, guard=guard)
    model.eval()
    return model, loader(x, y, batch_size, device, guard), loss_fn, torch.optim.SGD(model.parameters(), lr=lr)


def evaluation_setup(
    logits: torch.Tensor,
    y: torch.Tensor,
    batch_size: int,
    device: str = "cpu",
    guard: bool = True,
    weight: torch.Tensor | None = None,
    train_order: list[int] | None = None,
    grad_order: list[int] | None = None,
) -> tuple[ReferenceLinear, DataLoader]:
    """``(model, loader)`` whose model (on ``device``) maps its input by ``weight``; it starts in train mode.

    With the identity as weight (when ``weight`` is None) and a zero bias the model's output is exactly
    its input, so the loader's ``x`` are the logits the trusted process chose. ``train_order``,
    ``grad_order``: see :class:`ReferenceLinear`.
    """
    classes = logits.shape[1]
    weight = torch.eye(classes) if weight is None else weight
    model = ReferenceLinear(weight, torch.zeros(classes), train_order=train_order, grad_order=grad_order)
    place(device, model, guard=guard)
    model.train()
    return model, loader(logits, y, batch_size, device, guard)


def state(model: nn.Module) -> dict[str, torch.Tensor]:
    """A copy of ``model``'s state_dict, on the CPU."""
    return {name: value.detach().cpu().clone() for name, value in model.state_dict().items()}


def pipeline_setup(
    model: nn.Module, loss_fn: nn.Module, train_loader: Any, device: str = "cpu", guard: bool = True
) -> None:
    """Put the student's model (and loss) on ``device`` before its optimizer is built; guard its loader."""
    place(device, model, loss_fn, guard=guard)
    guard_loader(train_loader, device, guard)


def outputs(model: nn.Module, x: torch.Tensor, device: str = "cpu") -> torch.Tensor:
    """``model(x)`` (``x`` moved to ``device``) without gradients: which network the model computes."""
    with torch.no_grad():
        return model(x.to(device))


def digits_transform(mean: torch.Tensor, scale: torch.Tensor) -> DigitsTransform:
    """The transform the end-to-end check gives the student's HandWrite (see :class:`DigitsTransform`)."""
    return DigitsTransform(mean.numpy(), scale.numpy())
