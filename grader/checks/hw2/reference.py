"""The hw2 contract, computed in the trusted process: what the checks compare the student's answers with.

Each function is the handout's rule written once, plainly (the reference solution's own code never runs
here): tokenizer, vocabulary, encoding, padding, masked mean and the classifier's forward pass.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence

import torch

PAD_ID, UNK_ID = 0, 1
SPECIALS = ("<pad>", "<unk>")
_TOKEN = re.compile(r"\w+|[^\w\s]")


def tokenize(text: str) -> list[str]:
    """Lower case first, then runs of word characters and single other non-space characters."""
    return _TOKEN.findall(text.lower())


def counts(texts: Iterable[str]) -> Counter[str]:
    """Every token occurrence over ``texts``."""
    return Counter(token for text in texts for token in tokenize(text))


def build_vocab(texts: Iterable[str], min_freq: int = 1) -> dict[str, int]:
    """Specials 0 and 1, then the tokens seen ``min_freq`` times or more: most frequent first, ties alphabetical."""
    seen = counts(texts)
    kept = sorted((token for token, count in seen.items() if count >= min_freq), key=lambda t: (-seen[t], t))
    return {token: index for index, token in enumerate([*SPECIALS, *kept])}


def encode(text: str, vocab: dict[str, int]) -> list[int]:
    """The ids of ``text``'s tokens, ``UNK_ID`` for those ``vocab`` does not hold."""
    return [vocab.get(token, UNK_ID) for token in tokenize(text)]


def collate(items: Sequence[tuple[Sequence[int], int]]) -> dict[str, torch.Tensor]:
    """The padded dict batch of ``(ids, label)`` items (right padding with ``PAD_ID``, int64 mask)."""
    longest = max((len(ids) for ids, _ in items), default=0)
    input_ids = torch.full((len(items), longest), PAD_ID, dtype=torch.int64)
    mask = torch.zeros((len(items), longest), dtype=torch.int64)
    for row, (ids, _) in enumerate(items):
        input_ids[row, : len(ids)] = torch.as_tensor(list(ids), dtype=torch.int64)
        mask[row, : len(ids)] = 1
    labels = torch.tensor([label for _, label in items], dtype=torch.int64)
    return {"input_ids": input_ids, "attention_mask": mask, "labels": labels}


def masked_mean(embeddings: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The mean over the real tokens of each row (zero for a row without any), in float64."""
    weights = mask.to(torch.float64).unsqueeze(-1)
    return (embeddings.to(torch.float64) * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1)


def logits(
    embedding: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, input_ids: torch.Tensor, mask: torch.Tensor
) -> torch.Tensor:
    """The classifier's forward pass from its three parameters, in float64."""
    pooled = masked_mean(embedding.to(torch.float64)[input_ids], mask)
    return pooled @ weight.to(torch.float64).T + bias.to(torch.float64)
