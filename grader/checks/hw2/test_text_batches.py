"""Step 1 (Data): TextDataset over generated CSV files, collate_batch's padded dict batches, the loaders.

Expected items and batches are computed here (grader.checks.hw2.reference); a dataset's ids are judged
against the student's own ``encode`` of the file's texts, so an encoding bug costs ``encode``'s points only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st

from grader.checks import attempt, check, expect, expect_tensor, fail, show
from grader.checks.hw2 import reference, slides
from grader.checks.hw2.support import KEYS, explain_csv_cells, show_batch, write_csv
from grader.errors import StudentError
from grader.sandbox import Session

PROBES = "grader.probes.hw2.data"

# --------------------------------------------------------------------------------------------------------------------
# TextDataset
# --------------------------------------------------------------------------------------------------------------------

_PIECES = ("The", "cat", "sat,", '"quoted"', "dog!", "café", "line\nbreak", "zebra", "?", "")
dataset_text = st.lists(st.sampled_from(_PIECES), max_size=7).map(" ".join).map(str.strip)
_dataset_rows = st.lists(st.tuples(dataset_text, st.integers(0, 4)), min_size=1, max_size=7)


def own_encoding(student: Session, texts: list[str], vocab: dict[str, int]) -> list[list[int]]:
    """The student's ``encode`` of each text; the rule's ids where it fails (it has its own check)."""
    encode = student.module("data").encode
    found = []
    for text in texts:
        try:
            ids = encode(text, vocab)
        except StudentError:
            ids = None
        if isinstance(ids, tuple):
            ids = list(ids)
        ok = isinstance(ids, list) and all(type(item) is int for item in ids)
        found.append(ids if ok else reference.encode(text, vocab))
    return found


@check(points=4, step="data", slide=slides.DATASET)
@settings(max_examples=8)
@given(rows=_dataset_rows)
@example(rows=[("", 1), ("The cat sat, the dog!", 0), ('"quoted" line\nbreak', 2)])
def test_dataset_items(student: Session, scratch: Path, rows: list[tuple[str, int]]) -> None:
    """TextDataset(csv_path, vocab)[i] is (int64 ids of row i's text, int64 0-dim label); len counts the rows"""
    # Verdict: len(dataset) and the items read back (items probe) against the labels this check wrote and
    # the ids the student's own encode returned for the texts (reference.encode where it fails).
    path = write_csv(scratch, rows)
    vocab = reference.build_vocab([text for text, _ in rows] + ["cat dog zebra"])
    call = f"TextDataset({path.name!r}, vocab)"
    data = student.module("data")
    try:
        dataset = data.TextDataset(str(path), dict(vocab))
    except StudentError as exc:
        explain_csv_cells(scratch, rows, lambda plain: data.TextDataset(plain, dict(vocab)), exc, call)
        fail(f"{call} failed: {exc}")
    size = attempt(f"len({call})", lambda: len(dataset))
    expect(size == len(rows), f"len({call}) is {size}; the file has {len(rows)} rows after its header")
    got = attempt(f"{call}[i]", lambda: student.probe(f"{PROBES}:items", dataset, [*range(len(rows)), -1]))
    wanted = own_encoding(student, [text for text, _ in rows], vocab)
    for index, (item, (text, label)) in enumerate(zip(got, [*rows, rows[-1]], strict=True)):
        at = index if index < len(rows) else -1
        where = f"{call}[{at}] (text {text!r}, label {label})"
        if not isinstance(item, tuple | list) or len(item) != 2:
            fail(f"{where} returned {show(item)}: expected a pair (ids, label)")
        ids, got_label = item
        want = wanted[index if index < len(rows) else -1]
        ids = expect_tensor(ids, f"the ids of {where}")
        empty = " (torch.tensor([]) is float32: give dtype=torch.int64)" if not want else ""
        expect(
            ids.dtype == torch.int64 and ids.dim() == 1,
            f"the ids of {where} are {show(ids)}: expected an int64 tensor of shape (length,){empty}",
        )
        expect(ids.tolist() == want, f"the ids of {where} are {ids.tolist()}; expected encode(text, vocab) = {want}")
        got_label = expect_tensor(got_label, f"the label of {where}")
        expect(
            got_label.dtype == torch.int64 and got_label.dim() == 0 and int(got_label) == label,
            f"the label of {where} is {show(got_label)}; expected torch.tensor({label}), an int64 0-dim tensor",
        )


# --------------------------------------------------------------------------------------------------------------------
# collate_batch
# --------------------------------------------------------------------------------------------------------------------

_lengths = st.lists(st.integers(0, 9), min_size=1, max_size=6)


def batch_items(lengths: list[int], seed: int) -> list[tuple[list[int], int]]:
    """``(ids, label)`` items of the given lengths, ids in 2..49 (never the pad id), drawn from ``seed``."""
    gen = torch.Generator().manual_seed(seed)
    return [
        (torch.randint(2, 50, (length,), generator=gen).tolist(), int(torch.randint(0, 4, (), generator=gen)))
        for length in lengths
    ]


def _slip(got: dict[str, torch.Tensor], items: list[tuple[list[int], int]]) -> str:
    """What a wrong batch has done instead, in words; "" when nothing known matches."""
    want = reference.collate(items)
    ids, mask, real = got["input_ids"], got["attention_mask"], want["attention_mask"].bool()
    flipped = reference.collate([(list(reversed(row)), label) for row, label in items])
    if ids.shape != want["input_ids"].shape:
        longest = want["input_ids"].shape[1]
        if ids.dim() == 2 and ids.shape[0] == len(items):
            return f"it pads to {ids.shape[1]} tokens: pad each batch to its longest sequence, here {longest}"
        return f"input_ids must be (B, T) = {tuple(want['input_ids'].shape)}, one row per item"
    if torch.equal(ids, flipped["input_ids"].flip(1)):
        return "the padding is on the left: real tokens first, then the padding"
    if torch.equal(ids[real], want["input_ids"][real]) and not torch.equal(ids, want["input_ids"]):
        return "padding must use the id of <pad>, 0"
    if mask.shape == real.shape and torch.equal(mask, 1 - want["attention_mask"]):
        return "the mask is inverted: 1 at a real token, 0 at padding"
    return ""


@check(points=6, step="data", slide=slides.DATALOADER)
@settings(max_examples=15)
@given(lengths=_lengths, seed=st.integers(0, 2**16))
@example(lengths=[4], seed=0)
@example(lengths=[0, 0], seed=1)
@example(lengths=[3, 0, 5, 1], seed=2)
def test_collate_batch(student: Session, lengths: list[int], seed: int) -> None:
    """collate_batch pads to the longest sequence and returns {input_ids, attention_mask, labels} (int64)"""
    # Verdict: the dict collate_batch returned (pulled across) against reference.collate of the same items,
    # computed here.
    items = batch_items(lengths, seed)
    sent = [(torch.tensor(ids, dtype=torch.int64), torch.tensor(label)) for ids, label in items]
    call = f"collate_batch({[(ids, label) for ids, label in items]})"
    got = attempt(call, lambda: student.module("data").collate_batch(sent))
    if not isinstance(got, dict):
        fail(f"{call} returned {show(got)}; expected a dict with the keys {', '.join(KEYS)}")
    expect(
        set(got) == set(KEYS),
        f"{call} returned a dict with the keys {sorted(got)}; expected exactly {list(KEYS)} (model(**batch) passes "
        "every key but labels to forward)",
    )
    want = reference.collate(items)
    for key in KEYS:
        value = expect_tensor(got[key], f"batch[{key!r}] of {call}")
        if value.dtype != torch.int64:
            fail(f"batch[{key!r}] of {call} has dtype {value.dtype}; expected torch.int64 (the mask too: 1 and 0)")
    for key in KEYS:
        if got[key].shape != want[key].shape or not torch.equal(got[key], want[key]):
            slip = _slip(got, items)
            fail(
                f"batch[{key!r}] of {call} is {show(got[key])}; expected {show(want[key])}"
                + (f": {slip}" if slip else "")
            )


# --------------------------------------------------------------------------------------------------------------------
# make_loaders
# --------------------------------------------------------------------------------------------------------------------

#: Item ``k`` of the train set has the ids ``[10 + k, 9, 9, ...]``; of the eval set ``[510 + k, 509, ...]``.
_TRAIN_BASE, _EVAL_BASE = 10, 510


def loader_items(size: int, base: int) -> list[tuple[list[int], int]]:
    """Items that name themselves by their largest id, ``base + k``; lengths 1 to 4."""
    return [([base + k] + [base - 1] * (k % 4), k % 3) for k in range(size)]


def _same(got: Any, want: Any) -> bool:
    """Whether two batches are equal (dicts of tensors compared tensor by tensor)."""
    if isinstance(got, dict) and isinstance(want, dict):
        return set(got) == set(want) and all(_same(got[key], want[key]) for key in want)
    if isinstance(got, torch.Tensor) and isinstance(want, torch.Tensor):
        return got.shape == want.shape and got.dtype == want.dtype and torch.equal(got, want)
    return bool(got == want)


def own_collate(student: Session, items: list[tuple[list[int], int]]) -> Any:
    """The student's own collate_batch of ``items`` (None when it fails): what their loaders may yield."""
    sent = [(torch.tensor(ids, dtype=torch.int64), torch.tensor(label)) for ids, label in items]
    try:
        return student.module("data").collate_batch(sent)
    except StudentError:
        return None


def _batches(student: Session, loader: Any, seed: int, what: str, size: int, base: int) -> list[list[int]]:
    """One pass over ``loader``, as the item numbers of each batch; each batch must be collate_batch's.

    The contract's padded dict, or what the student's own collate_batch makes of the same items: a collate
    bug costs collate_batch's points, not the loaders' too.
    """
    items = loader_items(size, base)
    batches = attempt(f"iterating over {what}", lambda: student.probe(f"{PROBES}:loader_batches", loader, seed))
    found = []
    for index, batch in enumerate(batches):
        where = f"batch {index} of {what}"
        ids = batch.get("input_ids") if isinstance(batch, dict) else None
        if not isinstance(ids, torch.Tensor) or ids.dim() != 2 or not ids.shape[1]:
            fail(f"{where} is {show_batch(batch)}: expected collate_batch's dict (pass collate_fn=collate_batch)")
        numbers = [int(row.max()) - base for row in ids]
        expect(
            all(0 <= number < size for number in numbers),
            f"{where} has the input_ids {show(ids)}; expected the padded ids of items of the dataset",
        )
        chosen = [items[number] for number in numbers]
        want = reference.collate(chosen)
        expect(
            _same(batch, want) or _same(batch, own_collate(student, chosen)),
            f"{where} is {show_batch(batch)}; expected collate_batch of its items, {show_batch(want)}",
        )
        found.append(numbers)
    return found


def _loaders(student: Session, sizes: tuple[int, int], train_bs: int, eval_bs: int) -> tuple[Any, Any, str]:
    sets = []
    for size, base in zip(sizes, (_TRAIN_BASE, _EVAL_BASE), strict=True):
        items = loader_items(size, base)
        sets.append(student.probe(f"{PROBES}:pair_dataset", [ids for ids, _ in items], [label for _, label in items]))
    what = f"make_loaders(trainset, evalset, train_bs={train_bs}, eval_bs={eval_bs})"
    try:
        loaders = student.module("data").make_loaders(*sets, train_bs, eval_bs)
    except StudentError as exc:
        fail(f"{what} failed: {exc}")
    if not isinstance(loaders, tuple | list) or len(loaders) != 2:
        fail(f"{what} returned {show(loaders)}: expected two DataLoaders (train, eval)")
    return loaders[0], loaders[1], what


def _chunks(n: int, size: int) -> list[int]:
    return [min(size, n - start) for start in range(0, n, size)]


@check(points=5, step="data", slide=slides.DATALOADER)
@settings(max_examples=4)
@given(
    train_size=st.integers(20, 30), eval_size=st.integers(5, 12), train_bs=st.integers(2, 6), extra=st.integers(1, 5)
)
def test_loaders(student: Session, train_size: int, eval_size: int, train_bs: int, extra: int) -> None:
    """make_loaders: dict batches from collate_batch; train shuffled with train_bs, eval in order with eval_bs"""
    # Verdict: the batches read back (loader_batches probe): each against reference.collate (or the student's own
    # collate_batch) of the items it holds; their sizes and item orders against train_bs, eval_bs and shuffling.
    eval_bs = train_bs + extra
    train_loader, eval_loader, what = _loaders(student, (train_size, eval_size), train_bs, eval_bs)
    train = f"the train loader of {what} (trainset: {train_size} items of lengths 1 to 4)"
    epochs = []
    for seed in (1, 2):
        try:
            epoch = _batches(student, train_loader, seed, train, train_size, _TRAIN_BASE)
        except StudentError as exc:
            if "stack expects each tensor to be equal size" in exc.message:
                fail(f"iterating over {train} failed ({exc.message}): pass collate_fn=collate_batch to the DataLoader")
            raise
        sizes = [len(batch) for batch in epoch]
        expect(
            sizes in (_chunks(train_size, train_bs), [train_bs] * (train_size // train_bs)),
            f"{train} gave batches of sizes {sizes}; expected {_chunks(train_size, train_bs)} (batch_size=train_bs)",
        )
        order = [item for batch in epoch for item in batch]
        expect(len(set(order)) == len(order), f"{train} gave some items twice in one epoch: {sorted(order)}")
        epochs.append(order)
    expect(epochs[0] != epochs[1], f"{train} gave the same order in two epochs ({epochs[0]}): shuffle=True")
    evaluated = f"the eval loader of {what} (evalset: {eval_size} items)"
    want = [list(range(start, min(start + eval_bs, eval_size))) for start in range(0, eval_size, eval_bs)]
    for seed in (1, 2):
        got = _batches(student, eval_loader, seed, evaluated, eval_size, _EVAL_BASE)
        expect(got == want, f"{evaluated} gave the items {got}; expected {want}: in order (shuffle=False), eval_bs")
