"""Step 3 (Training): one epoch of mini-batch gradient descent, and many.

Slide: Step 3 Write the training process.

Replace every ``raise NotImplementedError`` below.
"""

from collections.abc import Callable

import torch
from torch import nn
from torch.utils.data import DataLoader


def train_one_epoch(
    model: nn.Module,
    loader: DataLoader,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    optimizer: torch.optim.Optimizer,
    device: str | torch.device = "cpu",
) -> float:
    """Train ``model`` for one pass over ``loader`` and return the epoch's loss.

    - Put the model in training mode first (``model.train()``).
    - For each ``(x, y)`` batch: move ``x`` and ``y`` to ``device``, then
      1. clear the gradients (``optimizer.zero_grad()``),
      2. ``output = model(x)``,
      3. the loss, ``loss_fn(output, y)``: prediction first, gold labels second
         (the slide's ``loss_function(gold, output)`` has them swapped),
      4. ``loss.backward()``,
      5. ``optimizer.step()``.
    - Return a Python float: the mean loss per sample over the epoch, i.e. the
      sum of ``loss.item() * batch_size`` over the batches divided by the
      number of samples (a short last batch weighs less).

    Slide: Step 3 Write the training process (steps 1 to 5).
    """
    raise NotImplementedError(
        "Step 3: write the training loop and return the weighted mean loss"
    )


def train(
    model: nn.Module,
    train_loader: DataLoader,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    optimizer: torch.optim.Optimizer,
    epochs: int,
    device: str | torch.device = "cpu",
) -> list[float]:
    """Run ``epochs`` epochs with ``train_one_epoch``; return their losses.

    The result is a list of ``epochs`` floats, one per epoch, in order.

    Slide: Step 3 Write the training process (step 6: repeat).
    """
    raise NotImplementedError("Step 3: call train_one_epoch epochs times")
