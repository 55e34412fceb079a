"""Step 2 (Model): a text classifier that averages word embeddings over the real tokens.

Slide: Step 2-1 Construct the model.

Replace every ``raise NotImplementedError`` below.
"""

import torch
from torch import nn


def masked_mean(embeddings: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Average each sequence's vectors over its real tokens only.

    ``embeddings`` is ``(B, T, D)``, ``attention_mask`` ``(B, T)`` (int64, 1 at a
    real token, 0 at padding, as ``collate_batch`` makes it). Row ``i`` of the
    ``(B, D)`` result is the mean of ``embeddings[i, t]`` over the positions ``t``
    where ``attention_mask[i, t]`` is 1: padding must not change it, whatever
    vectors sit there. A sequence without any real token (an empty text)
    averages to the zero vector (divide by at least 1).

    Multiply by the mask (``attention_mask.unsqueeze(-1)``, as a float), sum
    over ``T``, and divide by the number of real tokens ``clamp``-ed to 1.

    Slide: Step 2-1 Construct the model (``forward``).
    """
    raise NotImplementedError(
        "Step 2-1: sum the vectors of the real tokens, divide by their number"
    )


class TextClassifier(nn.Module):
    """Embedding -> masked mean over the real tokens -> Linear (Slide: Step 2-1)."""

    def __init__(self, vocab_size: int, embed_dim: int, num_classes: int) -> None:
        """Build the two layers, after ``super().__init__()``.

        - ``nn.Embedding(vocab_size, embed_dim, padding_idx=0)``: row 0 (the
          ``<pad>`` token) starts at zero and is never trained;
        - ``nn.Linear(embed_dim, num_classes)``.

        Nothing else: no other layer, no dropout. The model's parameters are
        exactly the embedding's ``(vocab_size, embed_dim)`` weight and the linear
        layer's ``(num_classes, embed_dim)`` weight and ``(num_classes,)`` bias.

        Slide: Step 2-1 Construct the model (``__init__``).
        """
        raise NotImplementedError(
            "Step 2-1: call super().__init__(), then build the embedding and the linear layer"
        )

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Return the logits ``(B, num_classes)`` of a batch.

        ``input_ids`` and ``attention_mask`` are the ``(B, T)`` tensors of a
        ``collate_batch`` batch. The arguments have exactly these names, so that
        ``model(**inputs)`` works for ``inputs = {"input_ids": ...,
        "attention_mask": ...}`` (Slide: "** in Python"). Embed the ids,
        ``masked_mean`` them, apply the linear layer; return logits (no softmax).

        Slide: Step 2-1 Construct the model (``forward``) and Step 3 (``model(**batch)``).
        """
        raise NotImplementedError(
            "Step 2-1: embed, average over the real tokens, classify"
        )
