"""The digits of hw1's end-to-end check: scikit-learn's 1,797, split and perturbed by the grading key.

Which fifth is held out, the pixel noise on it and which class each digit is filed under are drawn from the
grading key (grader.grading_key), in the trusted process; only the training pool is written out (as PNG
files) for the worker to read. The relabelling is what makes the files necessary: the digits themselves
ship with scikit-learn, and a pipeline that learnt from that file instead (held-out digits included) would
learn the digits' own names, not the classes the grader's files name them by.
"""

from __future__ import annotations

import functools
import gzip
import importlib.util
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from grader import grading_key

#: The fraction of the digits held out.
HELD_OUT = 0.2
#: Each held-out pixel (0 to 240 in steps of 15) moves by up to this much, drawn from the grading key.
NOISE = 8
#: Added to each pixel's standard deviation: pixels that are almost always blank are not blown up.
SCALE_FLOOR = 0.05


@functools.cache
def digits() -> tuple[np.ndarray, np.ndarray]:
    """The 1,797 digits as uint8 8x8 images (0..240) and their labels.

    Read from the file ``sklearn.datasets.load_digits`` reads (importing sklearn.datasets costs
    about a second, most of it scipy), or through load_digits when that file is not where it was.
    """
    spec = importlib.util.find_spec("sklearn")
    path = Path(spec.origin).parent / "datasets" / "data" / "digits.csv.gz" if spec and spec.origin else None
    if path is not None and path.is_file():
        values = np.array(gzip.decompress(path.read_bytes()).replace(b",", b" ").split(), dtype=np.float64)
        if values.size == 1797 * 65:
            table = values.reshape(1797, 65)
            return (table[:, :64].reshape(-1, 8, 8) * 15).astype(np.uint8), table[:, 64].astype(np.int64)
    from sklearn.datasets import load_digits

    data = load_digits()
    return (data.images * 15).astype(np.uint8), data.target.astype(np.int64)


@dataclass(frozen=True)
class HeldOut:
    """The digits of one grading key: the training pool (written as files) and the held-out digits (kept here)."""

    pool: tuple[int, ...]
    held: tuple[int, ...]
    features: torch.Tensor
    #: The held-out digits' classes (after :attr:`classes`).
    labels: torch.Tensor
    mean: np.ndarray
    scale: np.ndarray
    #: The class each digit is filed under (``classes[7]``: the class of the images of sevens); never the identity.
    classes: tuple[int, ...] = tuple(range(10))


def held_out() -> HeldOut:
    """The split and noise of the grading key in force (read from the key when first asked, in a check)."""
    return _held_out(grading_key.derive("hw1/end-to-end/held-out"))


@functools.cache
def _held_out(seed: bytes) -> HeldOut:
    """A shuffle of the 1,797 digits and the held-out fifth's pixel noise, drawn from ``seed`` alone."""
    images, labels = digits()
    rng = np.random.default_rng(int.from_bytes(seed, "big"))
    order = rng.permutation(len(labels))
    cut = int(HELD_OUT * len(order))
    held, pool = order[:cut], order[cut:]
    noise = rng.integers(-NOISE, NOISE + 1, size=images[held].shape)
    noisy = np.clip(images[held].astype(np.int16) + noise, 0, 255).astype(np.uint8)
    mean, scale = standardization(images[pool])
    classes = rng.permutation(10)
    if (classes == np.arange(10)).all():
        classes = np.roll(classes, 1)
    return HeldOut(
        tuple(int(index) for index in pool),
        tuple(int(index) for index in held),
        torch.from_numpy(features(noisy, mean, scale)),
        torch.from_numpy(classes[labels[held]]),
        mean,
        scale,
        tuple(int(c) for c in classes),
    )


@functools.cache
def _pool_pngs(pool: tuple[int, ...]) -> tuple[bytes, ...]:
    """The training pool's digits as PNG bytes (uint8, 2-D: mode L); encoded once, a batch reuses them."""
    images = digits()[0]
    encoded = []
    for index in pool:
        buffer = io.BytesIO()
        Image.fromarray(images[index]).save(buffer, format="PNG")
        encoded.append(buffer.getvalue())
    return tuple(encoded)


def standardization(pool: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each pixel's mean and scale (standard deviation plus a floor) over the training ``pool``, of pixels / 255."""
    values = pool.reshape(-1, 64).astype(np.float32) / np.float32(255.0)
    return values.mean(axis=0), values.std(axis=0) + np.float32(SCALE_FLOOR)


def features(images: np.ndarray, mean: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """The 64 values the worker's transform (grader.probes.hw1.train.DigitsTransform) makes of each image.

    The same float32 operations, element by element, in the same order: the held-out digits get exactly
    the values the training PNGs would get.
    """
    return (images.reshape(len(images), 64).astype(np.float32) / np.float32(255.0) - mean) / scale


def write_digits(folder: Path, held: HeldOut) -> list[str]:
    """Write the training pool as ``<class>_<n>.png`` (the digit's class under the key's relabelling; n counts the
    files: no digit's place in the data set)."""
    labels = digits()[1]
    files = []
    for number, (index, encoded) in enumerate(zip(held.pool, _pool_pngs(held.pool), strict=True)):
        path = folder / f"{held.classes[labels[index]]}_{number}.png"
        path.write_bytes(encoded)
        files.append(str(path))
    return files
