"""Step 1 (Data): TitanicDataset, HandWrite, split_dataset and make_loaders.

Inputs are generated (CSV files written with the csv module, image folders
written with PIL) and every expected value is recomputed here, in the trusted
process. Objects that must live in the worker (datasets whose items name
themselves, a recording transform) come from ``grader.probes.hw1.data``.
"""

from __future__ import annotations

import csv
import io
import random
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import numpy as np
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from PIL import Image

from grader.checks import Step, check, expect, expect_raises, expect_tensor, fail, show
from grader.checks.hw1 import slides
from grader.errors import StudentError
from grader.sandbox import RemoteObject, Session

T = TypeVar("T")

_PROBES = "grader.probes.hw1.data"

# --------------------------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------------------------


def _attempt(what: str, call: Callable[[], T]) -> T:
    """Run a call into student code; an exception it raises fails the check with ``what`` as context."""
    try:
        return call()
    except StudentError as exc:
        fail(f"{what} failed: {exc}")


def _read(student: Session, probe: str, dataset: RemoteObject, indices: list[int], label: str) -> list[Any]:
    """``probe`` (a reader of ``dataset[i]`` for every i in ``indices``) in one call.

    When student code raises, each index is read on its own so that the message names the index that failed.
    """
    try:
        return student.probe(f"{_PROBES}:{probe}", dataset, indices)
    except StudentError as exc:
        error = exc
    for index in indices:
        _attempt(f"{label}[{index}]", lambda index=index: student.probe(f"{_PROBES}:{probe}", dataset, [index]))
    fail(f"reading {label}[i] for i in {indices} failed: {error}")


def _pair(item: Any, what: str) -> tuple[Any, Any]:
    """The two halves of an ``(x, y)`` item (a tuple or a list of two)."""
    if not isinstance(item, tuple | list) or len(item) != 2:
        fail(f"{what} returned {show(item)}: expected a pair (x, y)")
    return item[0], item[1]


def _as_int(item: Any, what: str) -> int:
    """The integer an item of a probe dataset stands for (a 0-dim tensor, or an int)."""
    if isinstance(item, torch.Tensor) and item.numel() == 1 and not item.is_floating_point():
        return int(item)
    if isinstance(item, int) and not isinstance(item, bool):
        return item
    fail(f"{what} is {show(item)}: expected an item of the dataset you were given (a 0-dim int64 tensor)")


# --------------------------------------------------------------------------------------------------------------------
# TitanicDataset: generated Kaggle-style CSV files
# --------------------------------------------------------------------------------------------------------------------

_FEATURES = ("Pclass", "Sex", "Age", "SibSp", "Parch", "Fare")


class Passenger(NamedTuple):
    """One CSV row, every cell as the text written to the file."""

    PassengerId: str
    Survived: str
    Pclass: str
    Name: str
    Sex: str
    Age: str
    SibSp: str
    Parch: str
    Ticket: str
    Fare: str
    Cabin: str
    Embarked: str

    def features(self) -> list[float]:
        """[Pclass, Sex, Age, SibSp, Parch, Fare] as the contract reads them."""
        return [
            float(self.Pclass),
            1.0 if self.Sex == "female" else 0.0,
            _number(self.Age),
            float(self.SibSp),
            float(self.Parch),
            _number(self.Fare),
        ]

    def line(self) -> str:
        """Return the row as it appears in the file."""
        return _csv_text([self]).strip()

    def __repr__(self) -> str:
        # Hypothesis prints the smallest failing input with repr: the CSV line reads best.
        return repr(self.line())


def _number(cell: str) -> float:
    return float(cell) if cell else 0.0


def _csv_text(rows: list[Passenger], header: bool = False) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if header:
        writer.writerow(Passenger._fields)
    writer.writerows(rows)
    return buffer.getvalue()


_SURNAMES = ("Braund", "Cumings", "Heikkinen", "O'Brien", "Futrelle", "Vander Planke")
_TITLES = ("Mr.", "Mrs.", "Miss.", "Master.", "Dr.")
_GIVEN = ("Owen", "John Bradley", "Laina", "Jacques Heath")
_EXTRAS = ("", ' "Ned" Harris', " (Florence Briggs Thayer)", ", Jr", ' ("Lily May" Peel, Jr)')
_FARES = ("7.25", "71.2833", "8.05", "0", "512.3292", "13")


def _age(rng: random.Random) -> str:
    kind = rng.randrange(3)
    if kind == 0:
        return str(rng.randint(0, 80))
    return f"{rng.randint(0, 79)}.5" if kind == 1 else rng.choice(("0.42", "0.67", "0.83", "0.92"))


def _fare(rng: random.Random) -> str:
    if rng.randrange(2):
        return rng.choice(_FARES)
    return f"{rng.randint(0, 3_000_000) / 10_000:.4f}".rstrip("0").rstrip(".")


def _passenger(rng: random.Random, passenger_id: int, blanks: bool) -> Passenger:
    """One Kaggle-like row; with ``blanks``, Age and Fare are each empty one time in three."""
    return Passenger(
        PassengerId=str(passenger_id),
        Survived=rng.choice("01"),
        Pclass=rng.choice("123"),
        Name=f"{rng.choice(_SURNAMES)}, {rng.choice(_TITLES)} {rng.choice(_GIVEN)}{rng.choice(_EXTRAS)}",
        Sex=rng.choice(("male", "female")),
        Age="" if blanks and rng.randrange(3) == 0 else _age(rng),
        SibSp=str(rng.randint(0, 8)),
        Parch=str(rng.randint(0, 6)),
        Ticket=rng.choice(("A/5 21171", "PC 17599", "113803", "STON/O2. 3101282")),
        Fare="" if blanks and rng.randrange(3) == 0 else _fare(rng),
        Cabin=rng.choice(("", "C85", "C23 C25 C27")),
        Embarked=rng.choice(("S", "C", "Q", "")),
    )


@st.composite
def _passengers(draw: st.DrawFn, max_rows: int = 8, blanks: bool = False) -> list[Passenger]:
    """Rows of a Kaggle Titanic CSV; with ``blanks``, some Age or Fare cells are empty (at least one).

    Rows come from a drawn seed (two draws per file instead of a dozen per row keeps generation cheap).
    """
    n = draw(st.integers(1, max_rows))
    rng = random.Random(draw(st.integers(0, 2**32 - 1)))
    rows = [_passenger(rng, passenger_id, blanks) for passenger_id in rng.sample(range(1, 892), n)]
    if blanks and all(row.Age and row.Fare for row in rows):
        index = rng.randrange(n)
        rows[index] = rows[index]._replace(**{rng.choice(("Age", "Fare")): ""})
    return rows


def _titanic(student: Session, scratch: Path, rows: list[Passenger]) -> tuple[RemoteObject, str]:
    """Write ``rows`` to a new CSV file and open it with the student's TitanicDataset."""
    text = _csv_text(rows, header=True)
    handle, name = tempfile.mkstemp(suffix=".csv", prefix="passengers_", dir=scratch)
    with open(handle, "w", encoding="utf-8", newline="") as file:
        file.write(text)
    data = student.module("data")
    label = f"TitanicDataset('{Path(name).name}')"
    dataset = _attempt(
        f"{label} on a file of the Kaggle header and {_count(len(rows), 'row')}", lambda: data.TitanicDataset(name)
    )
    return dataset, label


def _expect_row(item: Any, row: Passenger, what: str, rows: list[Passenger]) -> None:
    """``item`` is the (x, y) pair of ``row`` (one of ``rows``, the whole file, for a better message)."""
    x, y = _pair(item, what)
    x = expect_tensor(x, f"{what} x", shape=(6,), dtype=torch.float32)
    wrong = _wrong_features(x, row)
    if wrong:
        others = [
            index
            for index, other in enumerate(rows)
            if other.features() != row.features() and not _wrong_features(x, other)
        ]
        if others:
            hint = f" (that is row {others[0]} of the file: keep the rows in file order)"
        else:
            hints = [f"Sex is {row.Sex!r}: male 0, female 1"] if "Sex" in wrong else []
            hints += [
                f"{name} is empty: read it as 0.0"
                for name in ("Age", "Fare")
                if name in wrong and getattr(row, name) == ""
            ]
            hint = f" ({'; '.join(hints)})" if hints else ""
        fail(
            f"{what} gave x={show(x)} but the row\n    {row.line()}\nhas [Pclass, Sex, Age, SibSp, Parch, Fare] = "
            f"{row.features()}; wrong: {', '.join(wrong)}{hint}"
        )
    y = expect_tensor(y, f"{what} y", shape=(), dtype=torch.int64)
    expect(
        int(y) == int(row.Survived),
        f"{what} gave y={show(y)} but the row\n    {row.line()}\nhas Survived = {row.Survived}",
    )


def _wrong_features(x: torch.Tensor, row: Passenger) -> list[str]:
    """Return the names of the features of ``x`` that differ from ``row``'s (within float32 rounding)."""
    expected = torch.tensor(row.features(), dtype=torch.float64)
    close = torch.isclose(x.to(torch.float64), expected, rtol=1e-6, atol=1e-5)
    return [name for name, ok in zip(_FEATURES, close.tolist(), strict=True) if not ok]


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _expect_rows(student: Session, scratch: Path, rows: list[Passenger]) -> None:
    """len and every ds[i] of a file holding ``rows``, in file order."""
    dataset, name = _titanic(student, scratch, rows)
    length = _attempt(f"len({name})", lambda: len(dataset))
    expect(
        length == len(rows),
        f"len({name}) is {length}, but the file has {_count(len(rows), 'row')} after its header",
    )
    items = _read(student, "items", dataset, list(range(length)), name)
    for index, (item, row) in enumerate(zip(items, rows, strict=True)):
        _expect_row(item, row, f"{name}[{index}]", rows)


@check(points=5, step=Step.DATA, slide=slides.DATASET)
@settings(max_examples=15)
@given(rows=_passengers())
def test_titanic_rows(student: Session, scratch: Path, rows: list[Passenger]) -> None:
    """TitanicDataset reads every row in file order, as (x float32 (6,), y int64 0-dim)"""
    _expect_rows(student, scratch, rows)


@check(points=3, step=Step.DATA, slide=slides.DATASET)
@settings(max_examples=15)
@given(rows=_passengers(blanks=True))
def test_titanic_empty_cells(student: Session, scratch: Path, rows: list[Passenger]) -> None:
    """TitanicDataset reads an empty Age or Fare cell as 0.0"""
    _expect_rows(student, scratch, rows)


@check(points=2, step=Step.DATA, slide=slides.DATASET)
@settings(max_examples=10)
@given(rows=_passengers(max_rows=5))
def test_titanic_negative_indices(student: Session, scratch: Path, rows: list[Passenger]) -> None:
    """TitanicDataset takes negative indices as a Python list does"""
    dataset, name = _titanic(student, scratch, rows)
    n = len(rows)
    items = _read(student, "items", dataset, list(range(-n, 0)), name)
    for index, item in zip(range(-n, 0), items, strict=True):
        what = f"{name}[{index}] (a file of {_count(n, 'row')}: row {n + index}, as for a Python list)"
        _expect_row(item, rows[n + index], what, rows)


@check(points=2, step=Step.DATA, slide=slides.DATASET)
@settings(max_examples=10)
@given(rows=_passengers(max_rows=5))
def test_titanic_index_error(student: Session, scratch: Path, rows: list[Passenger]) -> None:
    """TitanicDataset raises IndexError past the end"""
    dataset, name = _titanic(student, scratch, rows)
    n = len(rows)
    for index in (n, n + 1, n + 7, -n - 1):
        expect_raises(
            "IndexError",
            lambda index=index: dataset[index],
            f"{name}[{index}] on a file of {_count(n, 'row')} (valid indices: {-n} to {n - 1})",
        )


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
    folder = Path(tempfile.mkdtemp(prefix="hand_write_", dir=scratch))
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
    facts = _read(student, "image_items", dataset, list(range(len(files))), label)
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
    return _attempt(label, lambda: data.HandWrite(paths, word_to_id, *transform)), label


@check(points=4, step=Step.DATA, slide=slides.DATASET)
@settings(max_examples=10)
@given(folder=_folders())
def test_handwrite_items(student: Session, scratch: Path, folder: tuple[dict[str, int], list[Picture]]) -> None:
    """HandWrite returns the PIL image and tensor(word_to_id[label])"""
    word_to_id, pictures = folder
    files = _write_pictures(scratch, pictures)
    dataset, label = _handwrite(student, files, word_to_id)
    length = _attempt(f"len({label})", lambda: len(dataset))
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


@check(points=2, step=Step.DATA, slide=slides.DATASET)
@settings(max_examples=8)
@given(folder=_folders())
def test_handwrite_transform(student: Session, scratch: Path, folder: tuple[dict[str, int], list[Picture]]) -> None:
    """HandWrite passes each image through the transform"""
    word_to_id, pictures = folder
    files = _write_pictures(scratch, pictures)
    transform = student.probe(f"{_PROBES}:pixel_transform")
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


@check(points=2, step=Step.DATA, slide=slides.DATASET)
@settings(max_examples=8)
@given(folder=_folders())
def test_handwrite_own_mapping(student: Session, scratch: Path, folder: tuple[dict[str, int], list[Picture]]) -> None:
    """HandWrite keeps its own word_to_id (two datasets, two mappings)"""
    word_to_id, pictures = folder
    other = {word: 10 + 3 * number for number, word in enumerate(reversed(list(word_to_id)))}
    files = _write_pictures(scratch, pictures)
    first, first_label = _handwrite(student, files, word_to_id)
    second, second_label = _handwrite(student, files, other)
    for dataset, mapping, label in ((first, word_to_id, first_label), (second, other, second_label)):
        for index, (facts, file) in enumerate(zip(_image_facts(student, dataset, files, label), files, strict=True)):
            hint = "; store word_to_id on self, not in a global or a class attribute"
            _expect_label(facts, file, mapping, f"{label}[{index}] (with a second HandWrite alive)", hint)


# --------------------------------------------------------------------------------------------------------------------
# split_dataset
# --------------------------------------------------------------------------------------------------------------------


def _parts(student: Session, result: Any, what: str) -> list[list[int]]:
    """Return the items of the three parts split_dataset returned, each as the ints they stand for."""
    if not isinstance(result, tuple | list) or len(result) != 3:
        fail(f"{what} returned {show(result)}: expected three datasets (train, val, test)")
    parts = _attempt(f"reading the parts of {what}", lambda: student.probe(f"{_PROBES}:read_parts", list(result)))
    return [
        [_as_int(item, f"{name}[{index}] of {what}") for index, item in enumerate(part)]
        for name, part in zip(("train", "val", "test"), parts, strict=True)
    ]


@st.composite
def _fractions(draw: st.DrawFn) -> tuple[float, float, float]:
    """Three fractions in twentieths that sum to 1."""
    first = draw(st.integers(0, 20))
    second = draw(st.integers(0, 20 - first))
    return first / 20, second / 20, (20 - first - second) / 20


def _ambiguous(fraction: float, n: int) -> bool:
    """Whether ``int(fraction * n)`` sits a rounding error below an integer (a fair split could go either way)."""
    product = fraction * n
    return product < round(product) and round(product) - product < 1e-9


def _expect_split(parts: list[list[int]], n: int, fractions: tuple[float, float, float], what: str) -> None:
    sizes = [len(part) for part in parts]
    n_train, n_val = int(fractions[0] * n), int(fractions[1] * n)
    want = [n_train, n_val, n - n_train - n_val]
    expect(
        sizes == want,
        f"{what} on a dataset of {_count(n, 'item')} gave parts of sizes {sizes}; expected {want}: "
        f"int({fractions[0]} * {n}), int({fractions[1]} * {n}) and the rest (int rounds down)",
    )
    everything = sorted(item for part in parts for item in part)
    if everything != list(range(n)):
        seen = set(everything)
        twice = sorted({item for item in everything if everything.count(item) > 1})
        missing = sorted(set(range(n)) - seen)
        fail(
            f"{what} on a dataset of {_count(n, 'item')} (item i is tensor(i)) must put each item in exactly one part; "
            f"in two parts or twice: {twice[:10]}, in none: {missing[:10]}; parts: {parts}"
        )


@check(points=3, step=Step.DATA, slide=slides.DATALOADER)
@settings(max_examples=15)
@given(n=st.integers(1, 60), fractions=_fractions(), seed=st.integers(0, 1000))
def test_split_parts(student: Session, n: int, fractions: tuple[float, float, float], seed: int) -> None:
    """split_dataset gives disjoint parts of sizes int(f0*n), int(f1*n) and the rest, same seed same split"""
    assume(not _ambiguous(fractions[0], n) and not _ambiguous(fractions[1], n))
    data = student.module("data")
    dataset = student.probe(f"{_PROBES}:index_dataset", n)
    what = f"split_dataset(dataset, {fractions}, seed={seed})"
    parts = _parts(student, _attempt(what, lambda: data.split_dataset(dataset, fractions, seed)), what)
    _expect_split(parts, n, fractions, what)
    again = _parts(student, _attempt(what, lambda: data.split_dataset(dataset, fractions, seed)), what)
    expect(
        [sorted(part) for part in again] == [sorted(part) for part in parts],
        f"{what} called twice on a dataset of {_count(n, 'item')} gave two different splits: {parts} then {again}; the "
        "same seed must give the same split (use torch.Generator().manual_seed(seed))",
    )


@check(points=2, step=Step.DATA, slide=slides.DATALOADER)
@settings(max_examples=10)
@given(n=st.integers(1, 60))
def test_split_defaults(student: Session, n: int) -> None:
    """split_dataset defaults to fractions (0.8, 0.1, 0.1) and seed 0"""
    data = student.module("data")
    dataset = student.probe(f"{_PROBES}:index_dataset", n)
    what = "split_dataset(dataset)"
    parts = _parts(student, _attempt(what, lambda: data.split_dataset(dataset)), what)
    _expect_split(parts, n, (0.8, 0.1, 0.1), what)
    explicit = "split_dataset(dataset, (0.8, 0.1, 0.1), 0)"
    given_parts = _parts(student, _attempt(explicit, lambda: data.split_dataset(dataset, (0.8, 0.1, 0.1), 0)), explicit)
    expect(
        [sorted(part) for part in parts] == [sorted(part) for part in given_parts],
        f"on a dataset of {_count(n, 'item')}, {what} gave {parts} but {explicit} gave {given_parts}: the default "
        "seed must be 0",
    )


# --------------------------------------------------------------------------------------------------------------------
# make_loaders
# --------------------------------------------------------------------------------------------------------------------

_VAL_OFFSET, _TEST_OFFSET = 1000, 2000


def _loaders(student: Session, sizes: tuple[int, int, int], train_bs: int, eval_bs: int) -> tuple[list[Any], str]:
    """make_loaders over three probe datasets: train items 0.., val items 1000.., test items 2000.."""
    data = student.module("data")
    sets = [
        student.probe(f"{_PROBES}:index_dataset", size, offset)
        for size, offset in zip(sizes, (0, _VAL_OFFSET, _TEST_OFFSET), strict=True)
    ]
    what = f"make_loaders(trainset, valset, testset, train_bs={train_bs}, eval_bs={eval_bs})"
    loaders = _attempt(what, lambda: data.make_loaders(*sets, train_bs, eval_bs))
    if not isinstance(loaders, tuple | list) or len(loaders) != 3:
        fail(f"{what} returned {show(loaders)}: expected three DataLoaders (train, val, test)")
    return list(loaders), what


def _epoch(student: Session, loader: Any, seed: int, what: str) -> list[list[int]]:
    """One pass over ``loader`` as a list of batches of item numbers."""
    batches = _attempt(f"iterating over {what}", lambda: student.probe(f"{_PROBES}:loader_batches", loader, seed))
    epoch = []
    for index, batch in enumerate(batches):
        batch = expect_tensor(batch, f"batch {index} of {what} (over a dataset of 0-dim int64 tensors)")
        expect(
            batch.dim() == 1 and not batch.is_floating_point(),
            f"batch {index} of {what} is {show(batch)}: expected a 1-D int64 tensor of the dataset's items "
            "(the DataLoader's default collate)",
        )
        epoch.append([int(item) for item in batch])
    return epoch


def _chunks(items: list[int], size: int) -> list[list[int]]:
    return [items[start : start + size] for start in range(0, len(items), size)]


_loader_sizes = st.tuples(st.integers(30, 45), st.integers(5, 20), st.integers(5, 20))


@check(points=3, step=Step.DATA, slide=slides.DATALOADER)
@settings(max_examples=5)
@given(sizes=_loader_sizes, train_bs=st.integers(2, 8), extra=st.integers(1, 10))
def test_loaders_train(student: Session, sizes: tuple[int, int, int], train_bs: int, extra: int) -> None:
    """make_loaders: the train loader shuffles trainset with batch size train_bs"""
    eval_bs = train_bs + extra
    loaders, what = _loaders(student, sizes, train_bs, eval_bs)
    n = sizes[0]
    loader = f"the train loader of {what} (trainset: {n} items)"
    epochs = [_epoch(student, loaders[0], seed, loader) for seed in (1, 2)]
    for epoch in epochs:
        batch_sizes = [len(batch) for batch in epoch]
        want = [len(chunk) for chunk in _chunks(list(range(n)), train_bs)]
        expect(
            batch_sizes == want,
            f"{loader} gave batches of sizes {batch_sizes}; expected {want} "
            f"(batch_size=train_bs={train_bs}, the last batch holds the rest)",
        )
        order = [item for batch in epoch for item in batch]
        expect(
            sorted(order) == list(range(n)),
            f"{loader} gave the items {sorted(order)}; expected each item of trainset (0 to {n - 1}) once per "
            "epoch: the train loader must read trainset",
        )
    first, second = ([item for batch in epoch for item in batch] for epoch in epochs)
    expect(
        first != second,
        f"{loader} gave the same order in two epochs ({first}); the train loader must shuffle (shuffle=True)",
    )


@check(points=2, step=Step.DATA, slide=slides.DATALOADER)
@settings(max_examples=5)
@given(sizes=_loader_sizes, train_bs=st.integers(2, 8), extra=st.integers(1, 10))
def test_loaders_eval(student: Session, sizes: tuple[int, int, int], train_bs: int, extra: int) -> None:
    """make_loaders: val and test loaders keep their dataset's order with batch size eval_bs"""
    eval_bs = train_bs + extra
    loaders, what = _loaders(student, sizes, train_bs, eval_bs)
    for name, loader, size, offset in (
        ("val", loaders[1], sizes[1], _VAL_OFFSET),
        ("test", loaders[2], sizes[2], _TEST_OFFSET),
    ):
        described = f"the {name} loader of {what} ({name}set: {size} items, {offset} to {offset + size - 1})"
        want = _chunks(list(range(offset, offset + size)), eval_bs)
        for seed in (1, 2):
            got = _epoch(student, loader, seed, described)
            expect(
                got == want,
                f"{described} gave the batches {got}; expected {want}: {name}set in order "
                f"(shuffle=False), batch_size=eval_bs={eval_bs}",
            )
