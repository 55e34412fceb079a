"""Step 3 (Training): one epoch of mini-batch gradient descent, and many.

Slide: Step 3 Write the training process.
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
    # PROMPT: Step 3: write the training loop and return the weighted mean loss
    # BEGIN SOLUTION
    model.train()
    total_loss, n_samples = 0.0, 0
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        optimizer.zero_grad()
        output = model(x)
        # Prediction first: the slide's loss_function(gold, output) swaps them.
        loss = loss_fn(output, y)
        loss.backward()
        optimizer.step()
        # loss is a batch mean; weighting by size makes a short last batch count less.
        total_loss += loss.item() * len(y)
        n_samples += len(y)
    return total_loss / n_samples
    # END SOLUTION


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
    # PROMPT: Step 3: call train_one_epoch epochs times
    # BEGIN SOLUTION
    return [
        train_one_epoch(model, train_loader, loss_fn, optimizer, device)
        for _ in range(epochs)
    ]
    # END SOLUTION
