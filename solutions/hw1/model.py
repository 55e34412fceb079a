"""Step 2 (Model): the network, softmax and cross-entropy by hand, loss and optimizer.

Slides: Step 2-1 Construct the model, Step 2-2 Define the loss function,
Step 2-3 Define the optimizer.
"""

import torch
from torch import nn


# BEGIN SOLUTION
LOSSES: dict[str, type[nn.Module]] = {
    "classification": nn.CrossEntropyLoss,
    "regression": nn.MSELoss,
    "binary": nn.BCELoss,
}

OPTIMIZERS: dict[str, type[torch.optim.Optimizer]] = {
    "sgd": torch.optim.SGD,
    "rmsprop": torch.optim.RMSprop,
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
}
# END SOLUTION


class MyModel(nn.Module):
    """A two-layer perceptron: Linear -> ReLU -> Linear (Slide: Step 2-1)."""

    def __init__(self, in_features: int, hidden_size: int, num_classes: int) -> None:
        """Build the layers: Linear -> ReLU -> Linear.

        The first Linear maps ``in_features`` to ``hidden_size``, the second maps
        ``hidden_size`` to ``num_classes``.

        Call ``super().__init__()`` first: without it ``nn.Module`` has nowhere
        to register your layers, so ``model.parameters()`` would be empty and
        the optimizer would train nothing. Keep the layers as attributes
        (``self.fc1 = nn.Linear(...)``); layers hidden in a plain Python list
        are not registered either.

        Slide: Step 2-1 Construct the model ("Why do we need super().__init__()?").
        """
        # PROMPT: Step 2-1: call super().__init__(), then define the layers
        # BEGIN SOLUTION
        # Without this call nn.Module has no registry to record the layers in.
        super().__init__()
        self.fc1 = nn.Linear(in_features, hidden_size)
        self.relu = nn.ReLU()
        self.fc2 = nn.Linear(hidden_size, num_classes)
        # END SOLUTION

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map ``x`` of shape (N, in_features) to logits of shape (N, num_classes).

        Must work for every batch size N >= 1, including N = 1. Return the raw
        scores (logits): do not apply softmax here, because
        ``nn.CrossEntropyLoss`` applies it itself.

        Slide: Step 2-1 Construct the model (``forward``).
        """
        # PROMPT: Step 2-1: return unnormalised logits
        # BEGIN SOLUTION
        return self.fc2(self.relu(self.fc1(x)))
        # END SOLUTION


def softmax(logits: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Return ``exp(logits) / sum(exp(logits))`` along ``dim``, same shape as logits.

    - Write it by hand with elementary operations (``torch.exp``, ``sum``,
      division). PyTorch's ready-made softmax and log-softmax are off limits,
      whatever their spelling; README.md, section "Rules", lists them.
    - It must stay finite for logits up to +-1e4: ``exp(1e4)`` overflows to
      inf. Subtract the maximum along ``dim`` first (``keepdim=True``); that
      does not change the result.
    - The slide's numbers: softmax([0.5, 0.7, 1.3]) = [0.225, 0.275, 0.500]
      and softmax([2, 1, 0]) = [0.665, 0.244, 0.090].

    Slide: Step 2-2 Define the loss function (the Softmax slides).
    """
    # PROMPT: Step 2-2: write softmax by hand, subtracting the max first
    # BEGIN SOLUTION
    # Shifting by the max leaves the result unchanged but keeps exp from overflowing.
    shifted = logits - logits.max(dim=dim, keepdim=True).values
    exps = torch.exp(shifted)
    return exps / exps.sum(dim=dim, keepdim=True)
    # END SOLUTION


def cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Return the mean over the batch of ``-log softmax(logits)[target]``.

    - ``logits``: float tensor of shape (N, C); ``targets``: int64 tensor of
      shape (N,) with class indices in [0, C).
    - The result is a 0-dim tensor (like ``torch.tensor(0.105)``).
    - Write it by hand; PyTorch's ready-made cross-entropy, NLL and
      log-softmax functions and modules are off limits (README.md, "Rules").
    - It must stay finite for logits up to +-1e4, so do not take the log of a
      probability that may have rounded to 0. Use the log-sum-exp trick:
      ``shifted = logits - max``, then
      ``log_probs = shifted - log(sum(exp(shifted)))``, and pick each row's
      target entry (``gather`` or indexing).
    - The slide's numbers: a target probability of 0.9 gives 0.105 and 0.1
      gives 2.302.

    Slide: Step 2-2 Define the loss function (the Cross-entropy slides).
    """
    # PROMPT: Step 2-2: write cross-entropy by hand with the log-sum-exp trick
    # BEGIN SOLUTION
    # log(softmax) taken directly (log-sum-exp) stays finite where a
    # probability would round to 0 and its log to -inf.
    shifted = logits - logits.max(dim=1, keepdim=True).values
    log_probs = shifted - torch.log(torch.exp(shifted).sum(dim=1, keepdim=True))
    picked = log_probs.gather(1, targets.long().unsqueeze(1)).squeeze(1)
    return -picked.mean()
    # END SOLUTION


def build_loss(task: str) -> nn.Module:
    """Return a new loss module for ``task``, following the slide's table.

    - "classification" -> ``nn.CrossEntropyLoss()``
    - "regression" -> ``nn.MSELoss()``
    - "binary" -> ``nn.BCELoss()``
    - for any other task, raising ValueError is good practice (not graded).

    Slide: Step 2-2 Define the loss function (the table).
    """
    # PROMPT: Step 2-2: pick the loss for classification, regression or binary
    # BEGIN SOLUTION
    if task not in LOSSES:
        raise ValueError(f"unknown task {task!r}; expected one of {sorted(LOSSES)}")
    return LOSSES[task]()
    # END SOLUTION


def build_optimizer(
    model: nn.Module, name: str, lr: float = 1e-3
) -> torch.optim.Optimizer:
    """Return a ``torch.optim`` optimizer over ``model.parameters()`` with ``lr``.

    - "sgd" -> ``torch.optim.SGD``, "rmsprop" -> ``torch.optim.RMSprop``,
      "adam" -> ``torch.optim.Adam``, "adamw" -> ``torch.optim.AdamW``.
    - Pass only ``lr``; every other setting keeps PyTorch's default.
    - for any other name, raising ValueError is good practice (not graded).

    Slide: Step 2-3 Define the optimizer.
    """
    # PROMPT: Step 2-3: build sgd, rmsprop, adam or adamw with lr
    # BEGIN SOLUTION
    if name not in OPTIMIZERS:
        raise ValueError(
            f"unknown optimizer {name!r}; expected one of {sorted(OPTIMIZERS)}"
        )
    return OPTIMIZERS[name](model.parameters(), lr=lr)
    # END SOLUTION
