"""Step 1 (Data): texts and labels from a CSV file, a tokenizer, a vocabulary, padded batches.

Slides: Step 1-1 Prepare the dataset (torchtext's role, played by your own tokenizer
and vocabulary), Step 1-2 Overwrite PyTorch Dataset, Step 1-3 Define DataLoader.

Replace every ``raise NotImplementedError`` below.
"""

import csv
import os
import re
from collections import Counter
from collections.abc import Iterable, Sequence

import torch
from torch.utils.data import DataLoader, Dataset

#: The padding token's id: collate_batch fills short sequences with it.
PAD_ID = 0
#: The id of every token the vocabulary does not hold.
UNK_ID = 1
SPECIALS = ("<pad>", "<unk>")


def tokenize(text: str) -> list[str]:
    """Split ``text`` into tokens: lower case first, then words and punctuation.

    The rule, exactly:

    1. lower-case the whole text with ``str.lower()``;
    2. a token is either a maximal run of word characters (letters, digits and
       ``_`` in any script: what ``\\w`` matches in Python's ``re``), or a single
       character that is neither a word character nor white space (``,``,
       ``!``, ``"``, an emoji...); white space only separates tokens.

    ``re.findall(r"\\w+|[^\\w\\s]", text.lower())`` does exactly this. Examples:
    ``tokenize("Hello, World!")`` is ``["hello", ",", "world", "!"]``;
    ``tokenize("It's 3.5°C")`` is ``["it", "'", "s", "3", ".", "5", "°", "c"]``;
    ``tokenize("")`` and ``tokenize("  ")`` are ``[]``.

    Slide: Step 1-1 Prepare the dataset (torchtext's tokenizer, written by hand).
    """
    raise NotImplementedError(
        "Step 1-1: lower-case, then find the words and punctuation marks"
    )


def read_rows(csv_path: str | os.PathLike[str]) -> list[tuple[str, int]]:
    """Return the ``(text, label)`` rows of a CSV file, in file order.

    The file has a header naming the columns ``text`` and ``label`` (in that
    order or another). Fields may be quoted: a text can hold commas, double
    quotes (written ``""`` inside quotes) and line breaks, so read it with
    ``csv.DictReader`` over a file opened with ``newline=""`` and
    ``encoding="utf-8"``, never with ``line.split(",")``. ``label`` is an int;
    ``text`` is returned exactly as in the file (it may be empty).

    Slide: Step 1-1 Prepare the dataset.
    """
    raise NotImplementedError(
        "Step 1-1: read the (text, label) rows with csv.DictReader"
    )


def build_vocab(texts: Iterable[str], min_freq: int = 1) -> dict[str, int]:
    """Map every token seen at least ``min_freq`` times in ``texts`` to an id.

    - ``"<pad>"`` is 0 and ``"<unk>"`` is 1, always.
    - The other tokens get 2, 3, ... in this order: the most frequent first
      (count every occurrence, over all the texts); tokens seen equally often
      in alphabetical order (Python's ``sorted`` order of strings), as
      torchtext's ``build_vocab_from_iterator`` does:
      ``sorted(counts, key=lambda token: (-counts[token], token))``.
      (``Counter.most_common()`` breaks ties by first appearance instead.)
    - Tokens seen fewer than ``min_freq`` times are left out: they will be
      ``<unk>``.

    Example: ``build_vocab(["b a b", "c a b"])`` is
    ``{"<pad>": 0, "<unk>": 1, "b": 2, "a": 3, "c": 4}``, and with
    ``min_freq=2`` ``{"<pad>": 0, "<unk>": 1, "b": 2, "a": 3}``.

    Slide: Step 1-1 Prepare the dataset (torchtext's vocabulary, written by hand).
    """
    raise NotImplementedError(
        "Step 1-1: count the tokens, keep the frequent ones, number them"
    )


def encode(text: str, vocab: dict[str, int]) -> list[int]:
    """Return the ids of ``text``'s tokens (``tokenize``), ``UNK_ID`` for unknown ones.

    Example: with the vocabulary above, ``encode("a d b", vocab)`` is ``[3, 1, 2]``.

    Slide: Step 1-1 Prepare the dataset.
    """
    raise NotImplementedError(
        "Step 1-1: look every token up in vocab, <unk> when it is missing"
    )


class TextDataset(Dataset):
    """The rows of a CSV file as ``(ids, label)`` pairs (Slide: Step 1-2)."""

    def __init__(self, csv_path: str | os.PathLike[str], vocab: dict[str, int]) -> None:
        """Read the rows (``read_rows``) and encode every text with ``vocab``.

        Encoding each text once here makes ``__getitem__`` a cheap lookup.

        Slide: Step 1-2 Overwrite PyTorch Dataset (``__init__``).
        """
        raise NotImplementedError("Step 1-2: read the rows and encode the texts")

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(ids, label)`` for row ``index`` (0 is the first row after the header).

        - ``ids``: the encoded text, an int64 tensor of shape ``(length,)``;
          an empty text gives shape ``(0,)``, still int64.
        - ``label``: an int64 0-dim tensor, ``torch.tensor(label)``.
        - Negative indices work as for a Python list.

        Slide: Step 1-2 Overwrite PyTorch Dataset (``__getitem__``).
        """
        raise NotImplementedError("Step 1-2: return the (ids, label) pair of row index")

    def __len__(self) -> int:
        """Return the number of rows (the header does not count).

        Slide: Step 1-2 Overwrite PyTorch Dataset (``__len__``).
        """
        raise NotImplementedError("Step 1-2: return the number of rows")


def collate_batch(
    items: Sequence[tuple[torch.Tensor, torch.Tensor]],
) -> dict[str, torch.Tensor]:
    """Turn a list of ``(ids, label)`` pairs into one padded batch, a dict.

    With ``B = len(items)`` and ``T`` the length of the longest ``ids`` of the
    batch (0 when every text is empty):

    - ``"input_ids"``: int64 ``(B, T)``; row ``i`` is ``items[i]``'s ids followed
      by ``PAD_ID`` (0) up to ``T`` (padding on the right);
    - ``"attention_mask"``: int64 ``(B, T)``, 1 at a real token, 0 at padding;
    - ``"labels"``: int64 ``(B,)``, the labels in the same order.

    Exactly these three keys: ``model(**batch)`` passes every key but
    ``"labels"`` to ``forward``. ``torch.nn.utils.rnn.pad_sequence`` helps.

    Slide: Step 1-3 Define DataLoader (``collate_fn``) and Step 3 (``model(**batch)``).
    """
    raise NotImplementedError(
        "Step 1-3: pad to the longest sequence and build the dict batch"
    )


def make_loaders(
    trainset: Dataset, evalset: Dataset, train_bs: int, eval_bs: int
) -> tuple[DataLoader, DataLoader]:
    """Return ``(train_loader, eval_loader)``, both batching with ``collate_batch``.

    - The train loader shuffles and uses batch size ``train_bs``.
    - The eval loader does not shuffle and uses batch size ``eval_bs``.

    Slide: Step 1-3 Define DataLoader (``collate_fn=``).
    """
    raise NotImplementedError(
        "Step 1-3: build the two DataLoaders with collate_fn=collate_batch"
    )
