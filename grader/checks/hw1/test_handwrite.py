"""Step 1 (Data): the slide's HandWrite over generated image folders."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from grader.checks import check, expect, expect_tensor, fail, new_folder, show
from grader.checks.hw1 import slides
from grader.checks.hw1.data_support import PROBES, attempt, read
from grader.sandbox import RemoteObject, Session

# --------------------------------------------------------------------------------------------------------------------
# HandWrite: generated image folders
# --------------------------------------------------------------------------------------------------------------------


class Picture(NamedTuple):
    """One generated image file: ``<label>_<index>_<tag>.<ext>``."""

    label: str
    tag: str
    ext: str
    mode: str
    width: int
    height: int
    seed: int

    def __repr__(self) -> str:
        return repr(f"{self.label}_<i>_{self.tag}.{self.ext} ({self.mode}, {self.width}x{self.height})")


class Written(NamedTuple):
    """A written image file and what PIL reads back from it in this process."""

    path: str
    label: str
    size: tuple[int, int]
    mode: str
    pixels: torch.Tensor


_WORDS = ("0", "7", "a", "cat", "ka", "B")


@st.composite
def _folders(draw: st.DrawFn) -> tuple[dict[str, int], list[Picture]]:
    """A random word_to_id over a few labels, and 1 to 5 images that use them (from a drawn seed)."""
    n = draw(st.integers(1, 5))
    rng = random.Random(draw(st.integers(0, 2**32 - 1)))
    words = rng.sample(_WORDS, rng.randint(1, 3))
    word_to_id = dict(zip(words, rng.sample(range(10), len(words)), strict=True))
    pictures = [
        Picture(
            rng.choice(words),
            rng.choice(("scan", "a_b", "x_y_z")),
            rng.choice(("png", "png", "jpg")),
            rng.choice(("L", "RGB")),
            rng.randint(1, 4),
            rng.randint(1, 4),
            rng.randrange(2**16),
        )
        for _ in range(n)
    ]
    return word_to_id, pictures


def _write_pictures(scratch: Path, pictures: list[Picture]) -> list[Written]:
    """Write ``pictures`` into a new folder whose own name holds '_' (a full-path split would break)."""
    folder = new_folder(scratch, "hand_write_")
    written = []
    for index, picture in enumerate(pictures):
        shape = (picture.height, picture.width) + ((3,) if picture.mode == "RGB" else ())
        pixels = np.random.default_rng(picture.seed).integers(0, 256, shape, dtype=np.uint8)
        path = folder / f"{picture.label}_{index}_{picture.tag}.{picture.ext}"
        Image.fromarray(pixels).save(path)
        with Image.open(path) as image:
            written.append(Written(str(path), picture.label, image.size, image.mode, torch.from_numpy(np.array(image))))
    return written


def _image_facts(student: Session, dataset: RemoteObject, files: list[Written], label: str) -> list[dict[str, Any]]:
    """Every ``dataset[i]`` as plain facts (read and closed in the worker), each checked to be a pair."""
    facts = read(student, "image_items", dataset, list(range(len(files))), label)
    for index, item in enumerate(facts):
        if not item["pair"]:
            fail(f"{label}[{index}] returned a {item['type']}: expected a pair (image, label)")
    return facts


def _expect_label(facts: dict[str, Any], file: Written, word_to_id: dict[str, int], what: str, hint: str = "") -> None:
    if "label" not in facts:
        fail(f"{what} returned a label of type {facts['label_type']}: expected torch.tensor(word_to_id[label])")
    label = expect_tensor(facts["label"], f"{what} label", shape=(), dtype=torch.int64)
    want = word_to_id[file.label]
    expect(
        int(label) == want,
        f"{what} gave label {show(label)} for the file '{_short(file.path)}' with word_to_id={word_to_id}: its "
        f"label is {file.label!r} (the base name up to the first '_'), so expected tensor({want}){hint}",
    )


def _short(path: str) -> str:
    """Return the last two parts of a generated path (its folder and base name)."""
    return "/".join(Path(path).parts[-2:])


def _handwrite(
    student: Session, files: list[Written], word_to_id: dict[str, int], *transform: RemoteObject
) -> tuple[RemoteObject, str]:
    """The student's HandWrite over ``files``, and how messages name it."""
    data = student.module("data")
    paths = [file.path for file in files]
    label = (
        f"HandWrite(files={[_short(path) for path in paths]}, word_to_id={word_to_id}{', transform' * len(transform)})"
    )
    return attempt(label, lambda: data.HandWrite(paths, word_to_id, *transform)), label


@check(points=4, step="data", slide=slides.DATASET)
@settings(max_examples=10)
@given(folder=_folders())
def test_handwrite_items(student: Session, scratch: Path, folder: tuple[dict[str, int], list[Picture]]) -> None:
    """HandWrite returns the PIL image and tensor(word_to_id[label])"""
    # Verdict: each item, read back by the image_items probe (it only carries values: size, mode, pixels,
    # label), against the PNG/JPEG files written and re-read here; a replaced probe would have to return them.
    word_to_id, pictures = folder
    files = _write_pictures(scratch, pictures)
    dataset, label = _handwrite(student, files, word_to_id)
    length = attempt(f"len({label})", lambda: len(dataset))
    expect(length == len(files), f"len({label}) is {length}, but files holds {len(files)} paths")
    for index, (facts, file) in enumerate(zip(_image_facts(student, dataset, files, label), files, strict=True)):
        what = f"{label}[{index}]"
        if not facts["pil"]:
            fail(
                f"{what} returned an image of type {facts.get('type', 'torch.Tensor')}: without a transform it must "
                "be the PIL image from Image.open(path), returned as is"
            )
        expect(
            tuple(facts["size"]) == file.size
            and facts["mode"] == file.mode
            and torch.equal(facts["pixels"], file.pixels),
            f"{what} returned a {facts['mode']} image of size {tuple(facts['size'])}, but files[{index}] "
            f"('{_short(file.path)}') is a {file.mode} image of size {file.size} with other pixels: open "
            "files[index] with Image.open",
        )
        _expect_label(facts, file, word_to_id, what)


@check(points=2, step="data", slide=slides.DATASET)
@settings(max_examples=8)
@given(folder=_folders())
def test_handwrite_transform(student: Session, scratch: Path, folder: tuple[dict[str, int], list[Picture]]) -> None:
    """HandWrite passes each image through the transform"""
    # Verdict: each item pulled across against transform(Image.open(file)) computed here from the file itself.
    word_to_id, pictures = folder
    files = _write_pictures(scratch, pictures)
    transform = student.probe(f"{PROBES}:pixel_transform")
    dataset, label = _handwrite(student, files, word_to_id, transform)
    for index, (facts, file) in enumerate(zip(_image_facts(student, dataset, files, label), files, strict=True)):
        what = f"{label}[{index}]"
        if facts["pil"]:
            fail(
                f"{what} returned the PIL image itself; the transform was called {transform.calls} time(s). "
                "When a transform is given, return transform(image)"
            )
        expected = torch.from_numpy(np.array(file.pixels.numpy(), dtype=np.float32)) / 255
        image = facts.get("image")
        expect(
            isinstance(image, torch.Tensor) and image.shape == expected.shape and torch.allclose(image, expected),
            f"{what} returned {show(image) if image is not None else facts['type']}, but transform(Image.open"
            f"(files[{index}])) is {show(expected)}: return what the transform returns",
        )


@check(points=2, step="data", slide=slides.DATASET)
@settings(max_examples=8)
@given(folder=_folders())
def test_handwrite_own_mapping(student: Session, scratch: Path, folder: tuple[dict[str, int], list[Picture]]) -> None:
    """HandWrite keeps its own word_to_id (two datasets, two mappings)"""
    # Verdict: the labels pulled across from two datasets alive at once against word_to_id computed here.
    word_to_id, pictures = folder
    other = {word: 10 + 3 * number for number, word in enumerate(reversed(list(word_to_id)))}
    files = _write_pictures(scratch, pictures)
    first, first_label = _handwrite(student, files, word_to_id)
    second, second_label = _handwrite(student, files, other)
    for dataset, mapping, label in ((first, word_to_id, first_label), (second, other, second_label)):
        for index, (facts, file) in enumerate(zip(_image_facts(student, dataset, files, label), files, strict=True)):
            hint = "; store word_to_id on self, not in a global or a class attribute"
            _expect_label(facts, file, mapping, f"{label}[{index}] (with a second HandWrite alive)", hint)
