"""Step 1 (Data): TitanicDataset over generated Kaggle-style CSV files (quoted commas, empty cells)."""

from __future__ import annotations

import csv
import io
import random
from pathlib import Path
from typing import Any, NamedTuple

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from grader.checks import check, expect, expect_raises, expect_tensor, fail, new_file, show
from grader.checks.hw1 import slides
from grader.checks.hw1.data_support import PROBES, Explain, attempt, count, pair, read
from grader.errors import StudentError
from grader.sandbox import RemoteObject, Session

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


def _explain_quoted_commas(student: Session, scratch: Path, rows: list[Passenger]) -> Explain:
    """What fails a check, naming the cause, when student code splits the file's lines on ``,``.

    Names hold commas inside quotes ("Braund, Mr. Owen Harris"); ``line.split(',')`` cuts them in pieces and
    pushes the cells after them along, so a conversion to a number fails or the cell count is off. The cause
    is shown, not guessed: the same rows with the commas taken out of the names are read without an error.
    """

    def explain(error: StudentError, what: str) -> None:
        if not any("," in row.Name for row in rows):
            return
        plain = [row._replace(Name=row.Name.replace(",", "")) for row in rows]
        text = _csv_text(plain, header=True)
        name = str(new_file(scratch, "passengers_", ".csv", text.encode("utf-8")))
        try:
            dataset = student.module("data").TitanicDataset(name)
            student.probe(f"{PROBES}:items", dataset, list(range(len(plain))))
        except StudentError:
            return
        row = next(row for row in rows if "," in row.Name)
        fail(
            f"{what} failed: {error}. The row\n    {row.line()}\nhas a Name with commas inside quotes "
            f"({row.Name!r}): splitting a line on ',' cuts that cell in pieces and shifts the cells after it (the "
            f"same rows without those commas, in {Path(name).name}, are read without an error). CSV cells can "
            "contain quoted commas: read the file with the csv module, csv.DictReader(f) (or csv.reader(f)), which "
            "keeps a quoted cell whole"
        )

    return explain


def _titanic(student: Session, scratch: Path, rows: list[Passenger]) -> tuple[RemoteObject, str]:
    """Write ``rows`` to a new CSV file and open it with the student's TitanicDataset."""
    text = _csv_text(rows, header=True)
    name = str(new_file(scratch, "passengers_", ".csv", text.encode("utf-8")))
    data = student.module("data")
    label = f"TitanicDataset('{Path(name).name}')"
    what = f"{label} on a file of the Kaggle header and {count(len(rows), 'row')}"
    try:
        dataset = data.TitanicDataset(name)
    except StudentError as exc:
        _explain_quoted_commas(student, scratch, rows)(exc, what)
        fail(f"{what} failed: {exc}")
    return dataset, label


def _expect_row(item: Any, row: Passenger, what: str, rows: list[Passenger]) -> None:
    """``item`` is the (x, y) pair of ``row`` (one of ``rows``, the whole file, for a better message)."""
    x, y = pair(item, what)
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


def _expect_rows(student: Session, scratch: Path, rows: list[Passenger]) -> None:
    """len and every ds[i] of a file holding ``rows``, in file order."""
    dataset, name = _titanic(student, scratch, rows)
    length = attempt(f"len({name})", lambda: len(dataset))
    expect(
        length == len(rows),
        f"len({name}) is {length}, but the file has {count(len(rows), 'row')} after its header",
    )
    items = read(student, "items", dataset, list(range(length)), name, _explain_quoted_commas(student, scratch, rows))
    for index, (item, row) in enumerate(zip(items, rows, strict=True)):
        _expect_row(item, row, f"{name}[{index}]", rows)


@check(points=5, step="data", slide=slides.DATASET)
@settings(max_examples=15)
@given(rows=_passengers())
def test_titanic_rows(student: Session, scratch: Path, rows: list[Passenger]) -> None:
    """TitanicDataset reads every row in file order, as (x float32 (6,), y int64 0-dim)"""
    # Verdict: every item pulled across against the row written to the CSV here.
    _expect_rows(student, scratch, rows)


@check(points=3, step="data", slide=slides.DATASET)
@settings(max_examples=15)
@given(rows=_passengers(blanks=True))
def test_titanic_empty_cells(student: Session, scratch: Path, rows: list[Passenger]) -> None:
    """TitanicDataset reads an empty Age or Fare cell as 0.0"""
    # Verdict: every item pulled across against the row written here (empty cells read as 0.0).
    _expect_rows(student, scratch, rows)


@check(points=2, step="data", slide=slides.DATASET)
@settings(max_examples=10)
@given(rows=_passengers(max_rows=5))
def test_titanic_negative_indices(student: Session, scratch: Path, rows: list[Passenger]) -> None:
    """TitanicDataset takes negative indices as a Python list does"""
    # Verdict: the items at negative indices, pulled across, against the rows written here.
    dataset, name = _titanic(student, scratch, rows)
    n = len(rows)
    items = read(student, "items", dataset, list(range(-n, 0)), name, _explain_quoted_commas(student, scratch, rows))
    for index, item in zip(range(-n, 0), items, strict=True):
        what = f"{name}[{index}] (a file of {count(n, 'row')}: row {n + index}, as for a Python list)"
        _expect_row(item, rows[n + index], what, rows)


@check(points=2, step="data", slide=slides.DATASET)
@settings(max_examples=10)
@given(rows=_passengers(max_rows=5))
def test_titanic_index_error(student: Session, scratch: Path, rows: list[Passenger]) -> None:
    """TitanicDataset raises IndexError past the end"""
    # Verdict: where the boundary is, from what the worker returns: the first and last valid indices give an
    # (x, y) pair, the ones past them raise IndexError (so a dataset that raises everywhere does not pass).
    dataset, name = _titanic(student, scratch, rows)
    n = len(rows)
    ends = read(student, "items", dataset, [0, n - 1], name, _explain_quoted_commas(student, scratch, rows))
    for index, item in zip((0, n - 1), ends, strict=True):
        pair(item, f"{name}[{index}] on a file of {count(n, 'row')} (a valid index)")
    for index in (n, n + 1, n + 7, -n - 1):
        expect_raises(
            "IndexError",
            lambda index=index: dataset[index],
            f"{name}[{index}] on a file of {count(n, 'row')} (valid indices: {-n} to {n - 1})",
        )
