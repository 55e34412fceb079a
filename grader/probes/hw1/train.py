"""Worker-side helpers for the hw1 train, evaluate and end-to-end checks.

They build the reference objects those checks hand to the student's
``train_one_epoch``, ``train``, ``predict`` and ``evaluate`` (so that a bug in
the student's model.py or data.py cannot leak into Steps 3 and 4), record what
the student's code did with them, and read weights back as plain data. The
trusted process recomputes every number they lead to.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from PIL import Image
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from grader.probes.device import guard_loader, place


class RecordingLinear(nn.Module):
    """``nn.Linear`` with given weights that notes, at each forward, the mode it ran in.

    ``calls`` holds one ``(self.training, torch.is_grad_enabled(), batch_size)``
    tuple per forward.
    """

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor) -> None:
        super().__init__()
        self.linear = nn.Linear(weight.shape[1], weight.shape[0])
        with torch.no_grad():
            self.linear.weight.copy_(weight)
            self.linear.bias.copy_(bias)
        self.calls: list[tuple[bool, bool, int]] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Record the mode, then apply the linear layer."""
        self.calls.append((self.training, torch.is_grad_enabled(), int(x.shape[0])))
        return self.linear(x)


class RecordingCrossEntropy(nn.CrossEntropyLoss):
    """``nn.CrossEntropyLoss`` that notes whether its first argument looks like logits.

    ``calls`` holds one ``(first argument is floating point, its shape)`` pair per call,
    recorded before the loss runs, so a swapped call that crashes is still seen.
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
) -> tuple[RecordingLinear, DataLoader, RecordingCrossEntropy, torch.optim.SGD]:
    """``(model, loader, loss_fn, optimizer)`` for a training check, model and loss on ``device``.

    The model starts in eval mode. ``guard``: see :func:`grader.probes.device.place`.
    """
    model, loss_fn = RecordingLinear(weight, bias), RecordingCrossEntropy()
    place(device, model, loss_fn, guard=guard)
    model.eval()
    return model, loader(x, y, batch_size, device, guard), loss_fn, torch.optim.SGD(model.parameters(), lr=lr)


def evaluation_setup(
    logits: torch.Tensor, y: torch.Tensor, batch_size: int, device: str = "cpu", guard: bool = True
) -> tuple[RecordingLinear, DataLoader]:
    """``(model, loader)`` whose model (on ``device``) maps each input to itself; it starts in train mode.

    With an identity weight and a zero bias the model's output is exactly its
    input, so the loader's ``x`` are the logits the trusted process chose.
    """
    classes = logits.shape[1]
    model = RecordingLinear(torch.eye(classes), torch.zeros(classes))
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


def held_out_logits(model: nn.Module, x: torch.Tensor, device: str = "cpu") -> torch.Tensor:
    """The student's trained model's logits for ``x`` (moved to ``device``), without gradients."""
    with torch.no_grad():
        return model(x.to(device))


def digits_transform(mean: torch.Tensor, scale: torch.Tensor) -> DigitsTransform:
    """The transform the end-to-end check gives the student's HandWrite (see :class:`DigitsTransform`)."""
    return DigitsTransform(mean.numpy(), scale.numpy())
