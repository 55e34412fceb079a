"""Worker-side helpers for the hw2 train, evaluate and end-to-end checks.

They build the reference objects those checks hand to the student's ``train_one_epoch``, ``train``,
``predict`` and ``evaluate`` (so that a bug in the student's data.py or model.py cannot leak into Steps 3
and 4): a bag-of-embeddings model and a lookup model whose ``forward(input_ids, attention_mask)`` takes
exactly the batch's inputs (so ``model(**batch)`` with the labels still in the batch fails as it would with
the student's model), loaders of dict batches padded by the grader's own collate, and a loss. They read
weights back as plain data. Nothing is recorded here for a verdict: student code shares this process and
could rewrite any record (issue 14). What the mode and device checks need to see, the reference models turn
into values that come back (the weights after an epoch, predictions), and the trusted process recomputes
every number they lead to.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader

from grader.probes.device import guard_loader, place
from grader.probes.hw2.data import PairDataset


def collate(items: list[tuple[torch.Tensor, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """The contract's dict batch: ids padded on the right with 0, an int64 mask, the labels."""
    longest = max(len(ids) for ids, _ in items)
    input_ids = torch.zeros((len(items), longest), dtype=torch.int64)
    mask = torch.zeros((len(items), longest), dtype=torch.int64)
    for row, (ids, _) in enumerate(items):
        input_ids[row, : len(ids)] = ids
        mask[row, : len(ids)] = 1
    return {"input_ids": input_ids, "attention_mask": mask, "labels": torch.stack([label for _, label in items])}


class BagModel(nn.Module):
    """Embedding (padding_idx 0) -> mean over the real tokens -> Linear, with given weights.

    In eval mode its logits are multiplied by ``eval_scale`` (1: a plain model): the mode check sets it and
    reads the mode off the weights and the loss after an epoch.
    """

    def __init__(
        self, embedding: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, eval_scale: float = 1.0
    ) -> None:
        super().__init__()
        self.embedding = nn.Embedding(embedding.shape[0], embedding.shape[1], padding_idx=0)
        self.classifier = nn.Linear(weight.shape[1], weight.shape[0])
        with torch.no_grad():
            self.embedding.weight.copy_(embedding)
            self.classifier.weight.copy_(weight)
            self.classifier.bias.copy_(bias)
        self.eval_scale = eval_scale

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """The logits, scaled in eval mode as ``eval_scale`` says."""
        mask = attention_mask.unsqueeze(-1).to(torch.float32)
        pooled = (self.embedding(input_ids) * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1)
        output = self.classifier(pooled)
        if not self.training and self.eval_scale != 1.0:
            output = output * self.eval_scale
        return output


class LookupModel(nn.Module):
    """Logits read from a table: sample ``k`` (first id ``k + 2``) gets row ``k``; ``scale`` is its one weight.

    ``scale`` is 1, so the logits are exactly the table's rows (times ``weight`` transposed, when one is
    given: another model); it is a parameter so that the model has one. ``train_order`` and ``grad_order``
    reorder its classes (``output[:, order]``) in train mode and while gradients are tracked: a mode check
    sets one and reads the mode off the predictions that come back.
    """

    def __init__(
        self,
        table: torch.Tensor,
        weight: torch.Tensor | None = None,
        train_order: list[int] | None = None,
        grad_order: list[int] | None = None,
    ) -> None:
        super().__init__()
        self.table = table
        self.weight = weight
        self.train_order = train_order
        self.grad_order = grad_order
        self.scale = nn.Parameter(torch.ones(()))

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """The table's rows for the batch's samples, changed as the mode says."""
        output = self.table.to(input_ids.device)[input_ids[:, 0] - 2] * self.scale
        if self.weight is not None:
            output = output @ self.weight.to(input_ids.device).T
        if self.training and self.train_order is not None:
            output = output[:, self.train_order]
        if torch.is_grad_enabled() and self.grad_order is not None:
            output = output[:, self.grad_order]
        return output


class RecordingCrossEntropy(nn.CrossEntropyLoss):
    """``nn.CrossEntropyLoss`` that notes ``(first argument is floating point, its shape)`` at each call.

    The record only words the message of a check that already failed (student code could rewrite it).
    """

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[bool, tuple[int, ...]]] = []

    def forward(self, input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Record the first argument, then compute the usual cross-entropy."""
        self.calls.append((bool(input.is_floating_point()), tuple(input.shape)))
        return super().forward(input, target)


def loader(rows: list[list[int]], labels: list[int], batch_size: int, device: str, guard: bool) -> DataLoader:
    """An unshuffled DataLoader of dict batches; its batches stay on the CPU, as a real one's do."""
    data = DataLoader(PairDataset(rows, labels), batch_size=batch_size, shuffle=False, collate_fn=collate)
    guard_loader(data, device, guard)
    return data


def training_setup(
    embedding: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor,
    rows: list[list[int]],
    labels: list[int],
    batch_size: int,
    lr: float,
    device: str = "cpu",
    guard: bool = True,
    eval_scale: float = 1.0,
) -> tuple[BagModel, DataLoader, RecordingCrossEntropy, torch.optim.SGD]:
    """``(model, loader, loss_fn, optimizer)`` for a training check; the model starts in eval mode.

    ``eval_scale``: see :class:`BagModel`.
    """
    model, loss_fn = BagModel(embedding, weight, bias, eval_scale), RecordingCrossEntropy()
    place(device, model, loss_fn, guard=guard)
    model.eval()
    return model, loader(rows, labels, batch_size, device, guard), loss_fn, torch.optim.SGD(model.parameters(), lr=lr)


def evaluation_setup(
    table: torch.Tensor,
    rows: list[list[int]],
    labels: list[int],
    batch_size: int,
    device: str,
    guard: bool,
    weight: torch.Tensor | None = None,
    train_order: list[int] | None = None,
    grad_order: list[int] | None = None,
) -> tuple[LookupModel, DataLoader]:
    """``(model, loader)`` whose model gives sample ``k`` the logits ``table[k]``; it starts in train mode.

    ``weight``, ``train_order``, ``grad_order``: see :class:`LookupModel`.
    """
    model = LookupModel(table, weight, train_order, grad_order)
    place(device, model, guard=guard)
    model.train()
    return model, loader(rows, labels, batch_size, device, guard)


def state(model: nn.Module) -> dict[str, torch.Tensor]:
    """A copy of ``model``'s parameters, on the CPU."""
    return {name: value.detach().cpu().clone() for name, value in model.named_parameters()}


def pipeline_setup(model: nn.Module, train_loader: Any, lr: float, device: str, guard: bool) -> tuple[Any, Any]:
    """For the end-to-end run: the student's model on ``device``, its loader guarded; ``(loss_fn, Adam)``."""
    loss_fn = nn.CrossEntropyLoss()
    place(device, model, loss_fn, guard=guard)
    guard_loader(train_loader, device, guard)
    return loss_fn, torch.optim.Adam(model.parameters(), lr=lr)
