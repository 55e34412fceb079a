"""Step 1 (Data): the Titanic and handwriting datasets, the split and the loaders.

Slides: Step 1-1 Prepare the dataset, Step 1-2 Overwrite PyTorch Dataset,
Step 1-3 Define DataLoader.
"""

import csv
import os
from collections.abc import Callable, Sequence
from typing import Any

import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset, Subset


# BEGIN SOLUTION
def _number(cell: str) -> float:
    """Read a numeric CSV cell; an empty cell (a missing Age or Fare) is 0.0."""
    return float(cell) if cell.strip() else 0.0


def _features(row: dict[str, str]) -> list[float]:
    """Return [Pclass, Sex, Age, SibSp, Parch, Fare] of one CSV row as numbers."""
    return [
        _number(row["Pclass"]),
        1.0 if row["Sex"].strip() == "female" else 0.0,
        _number(row["Age"]),
        _number(row["SibSp"]),
        _number(row["Parch"]),
        _number(row["Fare"]),
    ]


# END SOLUTION


class TitanicDataset(Dataset):
    """Kaggle Titanic rows as (features, label) pairs (Slide: Step 1-2)."""

    def __init__(self, csv_path: str | os.PathLike[str]) -> None:
        """Read every row of the CSV file at ``csv_path``.

        The file has the Kaggle Titanic header: PassengerId, Survived, Pclass,
        Name, Sex, Age, SibSp, Parch, Ticket, Fare, Cabin, Embarked. Names contain
        commas inside quotes ("Braund, Mr. Owen Harris"), so splitting a line on
        "," is wrong: use ``csv.DictReader``.

        Keep the rows in file order. Building the tensors here, once, makes
        ``__getitem__`` a cheap lookup.

        Slide: Step 1-2 Overwrite PyTorch Dataset (``__init__``).
        """
        # PROMPT: Step 1-2: read the CSV with csv.DictReader and build the tensors
        # BEGIN SOLUTION
        # utf-8-sig drops a byte-order mark that would otherwise rename the first
        # column.
        with open(csv_path, newline="", encoding="utf-8-sig") as f:
            rows = list(csv.DictReader(f))
        # Tensors are built once here so that __getitem__ is a plain lookup.
        self.samples = [
            (
                torch.tensor(_features(row), dtype=torch.float32),
                torch.tensor(int(row["Survived"]), dtype=torch.int64),
            )
            for row in rows
        ]
        # END SOLUTION

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(x, y)`` for row ``index`` (0 is the first row after the header).

        - ``x``: float32 tensor of shape (6,) holding
          [Pclass, Sex, Age, SibSp, Parch, Fare], with Sex encoded as male 0,
          female 1. An empty numeric cell (a missing Age or Fare, for example)
          is read as 0.0.
        - ``y``: int64 tensor of shape () (0-dim) holding Survived, e.g.
          ``torch.tensor(1)``, not ``torch.tensor([1])``.
        - Negative indices work as for a Python list: ``ds[-1]`` is the last row.
        - ``index >= len(ds)`` (or ``index < -len(ds)``) raises IndexError.

        Slide: Step 1-2 Overwrite PyTorch Dataset (``__getitem__``).
        """
        # PROMPT: Step 1-2: return the (x, y) pair of row index
        # BEGIN SOLUTION
        # A list lookup already gives negative indices and IndexError past the end.
        return self.samples[index]
        # END SOLUTION

    def __len__(self) -> int:
        """Return the number of data rows (the header does not count).

        Slide: Step 1-2 Overwrite PyTorch Dataset (``__len__``).
        """
        # PROMPT: Step 1-2: return the number of rows
        # BEGIN SOLUTION
        return len(self.samples)
        # END SOLUTION


class HandWrite(Dataset):
    """Image files named ``<label>_<anything>.<ext>`` (the slide's class, Step 1-2)."""

    def __init__(
        self,
        files: Sequence[str | os.PathLike[str]],
        word_to_id: dict[str, int],
        transform: Callable[[Image.Image], Any] | None = None,
    ) -> None:
        """Remember the image paths, the label-to-id mapping and the transform.

        ``files`` are paths such as ``"digits/7_123.png"``: the label is the part
        of the file's base name before the first "_" (here "7"). ``word_to_id``
        maps each label to its class index. ``transform`` (may be None) turns a
        PIL image into whatever the model needs.

        Store all three on ``self``. The slide's version forgets to store
        ``word_to_id`` and then reads a global of that name in ``__getitem__``.

        Slide: Step 1-2 Overwrite PyTorch Dataset (the HandWrite example).
        """
        # PROMPT: Step 1-2: store files, word_to_id and transform on self
        # BEGIN SOLUTION
        self.files = files
        # Stored on self: the slide reads a global word_to_id that does not exist here.
        self.word_to_id = word_to_id
        self.transform = transform
        # END SOLUTION

    def __getitem__(self, index: int) -> tuple[Any, torch.Tensor]:
        """Return ``(image, label)`` for file ``index``.

        - ``image``: the file opened with ``PIL.Image.open``, then passed through
          ``transform`` when one was given (returned as is otherwise).
        - ``label``: ``torch.tensor(word_to_id[<label>])``, an int64 0-dim
          tensor, where ``<label>`` is the base name's part before the first "_".
          Take the base name with ``os.path.basename`` so that any folder works.

        Slide: Step 1-2 Overwrite PyTorch Dataset (the HandWrite example).
        """
        # PROMPT: Step 1-2: open the image, apply the transform, look up the label
        # BEGIN SOLUTION
        fname = self.files[index]
        image = Image.open(fname)
        if self.transform is not None:
            image = self.transform(image)
        # basename, unlike split('/'), also works for Path objects and Windows paths.
        label = os.path.basename(fname).split("_")[0]
        return image, torch.tensor(self.word_to_id[label], dtype=torch.int64)
        # END SOLUTION

    def __len__(self) -> int:
        """Return the number of image files.

        Slide: Step 1-2 Overwrite PyTorch Dataset (``__len__``).
        """
        # PROMPT: Step 1-2: return the number of files
        # BEGIN SOLUTION
        return len(self.files)
        # END SOLUTION


def split_dataset(
    dataset: Dataset,
    fractions: tuple[float, float, float] = (0.8, 0.1, 0.1),
    seed: int = 0,
) -> tuple[Dataset, Dataset, Dataset]:
    """Shuffle ``dataset`` and cut it into ``(train, val, test)`` datasets.

    With ``n = len(dataset)`` and ``fractions = (f0, f1, f2)``:

    - ``train`` has ``int(f0 * n)`` samples, ``val`` has ``int(f1 * n)`` and
      ``test`` has the rest (``f2`` is not used for rounding).
    - The three parts are disjoint and together hold every sample of
      ``dataset`` exactly once.
    - The same ``seed`` always gives the same split; use a
      ``torch.Generator().manual_seed(seed)``, not the global random state.

    ``torch.utils.data.Subset`` and ``torch.randperm`` are the tools to use.

    Slide: Step 1-3 ("split the dataset into train / validation / test sets first").
    """
    # PROMPT: Step 1-3: split into sizes int(f0*n), int(f1*n) and the rest
    # BEGIN SOLUTION
    n = len(dataset)
    n_train, n_val = int(fractions[0] * n), int(fractions[1] * n)
    # A private generator makes the split depend on seed alone, not on global RNG state.
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed)).tolist()
    return (
        Subset(dataset, order[:n_train]),
        Subset(dataset, order[n_train : n_train + n_val]),
        Subset(dataset, order[n_train + n_val :]),
    )
    # END SOLUTION


def make_loaders(
    trainset: Dataset,
    valset: Dataset,
    testset: Dataset,
    train_bs: int,
    eval_bs: int,
) -> tuple[DataLoader, DataLoader, DataLoader]:
    """Return ``(train_loader, val_loader, test_loader)``.

    - The train loader shuffles and uses batch size ``train_bs``.
    - The val and test loaders do not shuffle and use batch size ``eval_bs``
      (evaluation keeps no gradients, so its batches can be larger).

    Slide: Step 1-3 Define DataLoader.
    """
    # PROMPT: Step 1-3: build the three DataLoaders
    # BEGIN SOLUTION
    return (
        DataLoader(trainset, batch_size=train_bs, shuffle=True),
        DataLoader(valset, batch_size=eval_bs, shuffle=False),
        DataLoader(testset, batch_size=eval_bs, shuffle=False),
    )
    # END SOLUTION
