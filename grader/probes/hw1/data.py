"""Worker-side helpers for the hw1 data checks.

They build datasets whose items name themselves, a transform that records its
calls, and read images and loader batches back as plain data. The checks
recompute every expected value in the trusted process.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset


class IndexDataset(Dataset):
    """``n`` items; item ``i`` is ``torch.tensor(offset + i)``, so a split or a batch shows where it came from."""

    def __init__(self, n: int, offset: int = 0) -> None:
        self._values = range(offset, offset + n)

    def __getitem__(self, index: int) -> torch.Tensor:
        return torch.tensor(self._values[index])

    def __len__(self) -> int:
        return len(self._values)


def index_dataset(n: int, offset: int = 0) -> IndexDataset:
    """Return a dataset of ``n`` items ``offset``, ``offset + 1``, ... (as 0-dim int64 tensors)."""
    return IndexDataset(n, offset)


def items(dataset: Any, indices: list[int]) -> list[Any]:
    """``dataset[i]`` for every i in ``indices`` (one call instead of one per item)."""
    return [dataset[index] for index in indices]


def read_parts(parts: list[Any]) -> list[list[Any]]:
    """Every item of each part split_dataset returned, in index order."""
    return [[part[index] for index in range(len(part))] for part in parts]


def loader_batches(loader: Any, seed: int) -> list[Any]:
    """One pass over ``loader`` after seeding torch's global generator (a fresh shuffle per seed)."""
    torch.manual_seed(seed)
    return list(loader)


def seed_globals(seed: int) -> None:
    """Seed the worker's global random generators (torch's, Python's, NumPy's): what code that takes no
    generator of its own draws from."""
    torch.manual_seed(seed)
    random.seed(seed)
    np.random.seed(seed)


class PixelTransform:
    """A transform that records its calls and returns the image's pixels as a float32 tensor / 255."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, image: Any) -> torch.Tensor:
        self.calls += 1
        if not isinstance(image, Image.Image):
            raise TypeError(f"the transform expects the PIL image opened from the file, got {type(image).__name__}")
        return torch.from_numpy(np.array(image, dtype=np.float32)) / 255


def pixel_transform() -> PixelTransform:
    """Return a fresh :class:`PixelTransform`."""
    return PixelTransform()


def image_items(dataset: Any, indices: list[int]) -> list[dict[str, Any]]:
    """``dataset[i]`` for every i in ``indices`` as plain facts; a PIL image is read, then closed.

    Handles to PIL images would keep their files open in the worker, whose open files are few.
    """
    return [_image_item(dataset[index]) for index in indices]


def _image_item(item: Any) -> dict[str, Any]:
    if not isinstance(item, tuple | list) or len(item) != 2:
        return {"pair": False, "type": type(item).__name__}
    image, label = item
    facts: dict[str, Any] = {"pair": True, "pil": isinstance(image, Image.Image)}
    # Only plain values come back as the label: a handle (to an image, say) would keep a file open.
    if isinstance(label, torch.Tensor | int | float):
        facts["label"] = label
    else:
        facts["label_type"] = type(label).__name__
    if facts["pil"]:
        facts.update(size=list(image.size), mode=image.mode, pixels=torch.from_numpy(np.array(image)))
        image.close()
    elif isinstance(image, torch.Tensor):
        facts["image"] = image
    else:
        facts["type"] = type(image).__name__
    return facts
