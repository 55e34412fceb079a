"""Worker-side helpers for the hw1 train, evaluate and end-to-end checks.

They build the reference objects those checks hand to the student's
``train_one_epoch``, ``train``, ``predict`` and ``evaluate`` (so that a bug in
the student's model.py or data.py cannot leak into Steps 3 and 4), record what
the student's code did with them, and read weights back as plain data. The
trusted process recomputes every number they lead to.
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


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
    """Turns an 8x8 grayscale PIL image into 64 float32 values in [0, 1]."""

    def __call__(self, image: Image.Image) -> torch.Tensor:
        """Scale the pixels by 1/255 and flatten them row by row."""
        return torch.from_numpy(np.asarray(image, dtype=np.float32).reshape(-1) / np.float32(255.0))


def loader(x: torch.Tensor, y: torch.Tensor, batch_size: int) -> DataLoader:
    """An unshuffled DataLoader over ``TensorDataset(x, y)``."""
    return DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=False)


def training_setup(
    weight: torch.Tensor, bias: torch.Tensor, x: torch.Tensor, y: torch.Tensor, batch_size: int, lr: float
) -> tuple[RecordingLinear, DataLoader, RecordingCrossEntropy, torch.optim.SGD]:
    """``(model, loader, loss_fn, optimizer)`` for a training check; the model starts in eval mode."""
    model = RecordingLinear(weight, bias)
    model.eval()
    return model, loader(x, y, batch_size), RecordingCrossEntropy(), torch.optim.SGD(model.parameters(), lr=lr)


def evaluation_setup(logits: torch.Tensor, y: torch.Tensor, batch_size: int) -> tuple[RecordingLinear, DataLoader]:
    """``(model, loader)`` whose model maps each input to itself; the model starts in train mode.

    With an identity weight and a zero bias the model's output is exactly its
    input, so the loader's ``x`` are the logits the trusted process chose.
    """
    classes = logits.shape[1]
    model = RecordingLinear(torch.eye(classes), torch.zeros(classes))
    model.train()
    return model, loader(logits, y, batch_size)


def state(model: nn.Module) -> dict[str, torch.Tensor]:
    """A copy of ``model``'s state_dict."""
    return {name: value.detach().clone() for name, value in model.state_dict().items()}


def digits_transform() -> DigitsTransform:
    """The transform the end-to-end check gives the student's HandWrite."""
    return DigitsTransform()
