"""Step 3 (Training): an epoch over dict batches with ``output = model(**batch)``.

Slides: Step 3 Write the training process, and "** in Python".
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
    max_grad_norm: float | None = None,
) -> float:
    """Train ``model`` for one pass over ``loader`` and return the epoch's loss.

    - Put the model in training mode first (``model.train()``).
    - Each batch is a dict ``{"input_ids", "attention_mask", "labels"}``
      (``collate_batch``). For each batch:
      1. move every tensor of the dict to ``device``;
      2. take the labels out: ``labels = batch.pop("labels")`` (the model's
         ``forward`` has no ``labels`` argument);
      3. ``optimizer.zero_grad()``;
      4. ``output = model(**batch)``, as on the slide;
      5. ``loss = loss_fn(output, labels)``, prediction first;
      6. ``loss.backward()``;
      7. when ``max_grad_norm`` is not None, clip the gradients:
         ``torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)``,
         after ``backward`` and before ``step``;
      8. ``optimizer.step()``.
    - Return a Python float: the mean loss per sample over the epoch, the sum
      of ``loss.item() * batch_size`` divided by the number of samples.

    Slide: Step 3 Write the training process (steps 1 to 5, ``model(**batch)``).
    """
    # PROMPT: Step 3: train over the dict batches with output = model(**batch)
    # BEGIN SOLUTION
    model.train()
    total_loss, n_samples = 0.0, 0
    for batch in loader:
        batch = {key: value.to(device) for key, value in batch.items()}
        # forward() takes input_ids and attention_mask only: labels go to the loss.
        labels = batch.pop("labels")
        optimizer.zero_grad()
        output = model(**batch)
        loss = loss_fn(output, labels)
        loss.backward()
        if max_grad_norm is not None:
            # Between backward (gradients exist) and step (they are used).
            nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
        optimizer.step()
        total_loss += loss.item() * len(labels)
        n_samples += len(labels)
    return total_loss / n_samples
    # END SOLUTION


def train(
    model: nn.Module,
    train_loader: DataLoader,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    optimizer: torch.optim.Optimizer,
    epochs: int,
    device: str | torch.device = "cpu",
    max_grad_norm: float | None = None,
) -> list[float]:
    """Run ``epochs`` epochs with ``train_one_epoch``; return their losses.

    ``max_grad_norm`` is passed on to every epoch. The result is a list of
    ``epochs`` floats, one per epoch, in order.

    Slide: Step 3 Write the training process (step 6: repeat).
    """
    # PROMPT: Step 3: call train_one_epoch epochs times
    # BEGIN SOLUTION
    return [
        train_one_epoch(model, train_loader, loss_fn, optimizer, device, max_grad_norm)
        for _ in range(epochs)
    ]
    # END SOLUTION
