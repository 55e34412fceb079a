"""Helpers the hw2 checks share: CSV files of rows, and the advice for a CSV read by hand or a dict batch
handled as a pair."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from grader.checks import fail, new_file, show
from grader.errors import StudentError

#: The keys of a batch, as collate_batch makes it.
KEYS = ("input_ids", "attention_mask", "labels")


def show_batch(batch: Any) -> str:
    """A dict batch for messages: each tensor on one line of its own text, not torch's multi-line print."""
    if not isinstance(batch, dict):
        return show(batch)
    return "{" + ", ".join(f"{key!r}: {show(value, 200)}" for key, value in batch.items()) + "}"


def write_csv(scratch: Path, rows: list[tuple[str, int]], label_first: bool = False, quote_all: bool = False) -> Path:
    """A ``text,label`` CSV file of ``rows`` (the columns the other way round with ``label_first``)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL)
    writer.writerow(["label", "text"] if label_first else ["text", "label"])
    writer.writerows([(label, text) if label_first else (text, label) for text, label in rows])
    return new_file(scratch, "rows_", ".csv", buffer.getvalue().encode("utf-8"))


def explain_csv_cells(
    scratch: Path, rows: list[tuple[str, int]], read: Callable[[str], Any], error: StudentError, what: str
) -> None:
    """Fail, naming the cause, if reading the CSV failed only because its cells are quoted; else do nothing.

    ``read(path)`` reads a file with the student's code. The cause is shown, not guessed: the same rows with
    no comma, quote or line break in their texts (a file with no quoting at all) are read without an error.
    """
    special = next((text for text, _ in rows if re.search(r'[,"\n]', text)), None)
    if special is None:
        return
    plain = write_csv(scratch, [(re.sub(r'[,"\n]', " ", text), label) for text, label in rows])
    try:
        read(str(plain))
    except StudentError:
        return
    fail(
        f"{what} failed: {error}. A CSV cell may hold commas, quotes and line breaks (here the text {special!r}), "
        f"written inside quotes; splitting lines on ',' or on line breaks cuts such a cell in pieces (the same rows "
        f"without those characters, in {plain.name}, are read without an error). Read the file with the csv "
        'module: csv.DictReader(f) on a file opened with newline="" and encoding="utf-8"'
    )


def explain_batch(error: StudentError, what: str) -> None:
    """Fail with the dict-batch advice when student code handled a batch as a pair or left the labels in."""
    if "unexpected keyword argument 'labels'" in error.message:
        fail(
            f"{what} called the model with the labels still in the batch ({error.message}): take them out first, "
            "labels = batch.pop('labels'), then output = model(**batch); forward has no labels argument"
        )
    if "missing 1 required positional argument: 'attention_mask'" in error.message:
        fail(
            f"{what} passed the whole batch as one argument ({error.message}): write output = model(**batch); ** "
            "unpacks the dict, each key becoming the argument of the same name"
        )
    if (
        error.is_a("ValueError") and "values to unpack" in error.message
    ) or "'str' object has no attribute" in error.message:
        fail(
            f"{what} unpacked each batch as a tuple ({error.message}): each batch is a dict "
            "{'input_ids', 'attention_mask', 'labels'}, and unpacking a dict gives its keys; write for batch in "
            "loader: ..., then use batch['labels'] and model(**batch)"
        )
