"""Worker-side helpers for the hw2 train, evaluate and end-to-end checks.

They build the reference objects those checks hand to the student's ``train_one_epoch``, ``train``,
``predict`` and ``evaluate`` (so that a bug in the student's data.py or model.py cannot leak into Steps 3
and 4): a bag-of-embeddings model and a lookup model whose ``forward(input_ids, attention_mask)`` takes
exactly the batch's inputs (so ``model(**batch)`` with the labels still in the batch fails as it would with
the student's model), loaders of dict batches padded by the grader's own collate, and a loss that records
its calls. They record what the student's code did and read weights back as plain data; the trusted process
recomputes every number they lead to.
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


class _Recording(nn.Module):
    """Notes, at each forward, ``(self.training, torch.is_grad_enabled(), batch size)`` in ``calls``."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[bool, bool, int]] = []

    def _record(self, input_ids: torch.Tensor) -> None:
        self.calls.append((self.training, torch.is_grad_enabled(), int(input_ids.shape[0])))


class BagModel(_Recording):
    """Embedding (padding_idx 0) -> mean over the real tokens -> Linear, with given weights."""

    def __init__(self, embedding: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> None:
        super().__init__()
        self.embedding = nn.Embedding(embedding.shape[0], embedding.shape[1], padding_idx=0)
        self.classifier = nn.Linear(weight.shape[1], weight.shape[0])
        with torch.no_grad():
            self.embedding.weight.copy_(embedding)
            self.classifier.weight.copy_(weight)
            self.classifier.bias.copy_(bias)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Record the mode, then the logits."""
        self._record(input_ids)
        mask = attention_mask.unsqueeze(-1).to(torch.float32)
        pooled = (self.embedding(input_ids) * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1)
        return self.classifier(pooled)


class LookupModel(_Recording):
    """Logits read from a table: sample ``k`` (first id ``k + 2``) gets row ``k``; ``scale`` is its one weight.

    ``scale`` is 1, so the logits are exactly the table's rows; it is a parameter so that the model has one.
    """

    def __init__(self, table: torch.Tensor) -> None:
        super().__init__()
        self.table = table
        self.scale = nn.Parameter(torch.ones(()))

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Record the mode, then the table's rows for the batch's samples."""
        self._record(input_ids)
        return self.table.to(input_ids.device)[input_ids[:, 0] - 2] * self.scale


class RecordingCrossEntropy(nn.CrossEntropyLoss):
    """``nn.CrossEntropyLoss`` that notes ``(first argument is floating point, its shape)`` at each call."""

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
) -> tuple[BagModel, DataLoader, RecordingCrossEntropy, torch.optim.SGD]:
    """``(model, loader, loss_fn, optimizer)`` for a training check; the model starts in eval mode."""
    model, loss_fn = BagModel(embedding, weight, bias), RecordingCrossEntropy()
    place(device, model, loss_fn, guard=guard)
    model.eval()
    return model, loader(rows, labels, batch_size, device, guard), loss_fn, torch.optim.SGD(model.parameters(), lr=lr)


def evaluation_setup(
    table: torch.Tensor, rows: list[list[int]], labels: list[int], batch_size: int, device: str, guard: bool
) -> tuple[LookupModel, DataLoader]:
    """``(model, loader)`` whose model gives sample ``k`` the logits ``table[k]``; it starts in train mode."""
    model = LookupModel(table)
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
