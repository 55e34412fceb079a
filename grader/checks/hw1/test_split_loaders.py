"""Step 1 (Data): split_dataset and make_loaders, judged by the items and batches they yield."""

from __future__ import annotations

from typing import Any

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from grader.checks import check, expect, expect_tensor, fail, show
from grader.checks.hw1 import slides
from grader.checks.hw1.data_support import PROBES, as_int, attempt, count
from grader.sandbox import Session

# --------------------------------------------------------------------------------------------------------------------
# split_dataset
# --------------------------------------------------------------------------------------------------------------------


def _parts(student: Session, result: Any, what: str) -> list[list[int]]:
    """Return the items of the three parts split_dataset returned, each as the ints they stand for."""
    if not isinstance(result, tuple | list) or len(result) != 3:
        fail(f"{what} returned {show(result)}: expected three datasets (train, val, test)")
    parts = attempt(f"reading the parts of {what}", lambda: student.probe(f"{PROBES}:read_parts", list(result)))
    return [
        [as_int(item, f"{name}[{index}] of {what}") for index, item in enumerate(part)]
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
        f"{what} on a dataset of {count(n, 'item')} gave parts of sizes {sizes}; expected {want}: "
        f"int({fractions[0]} * {n}), int({fractions[1]} * {n}) and the rest (int rounds down)",
    )
    everything = sorted(item for part in parts for item in part)
    if everything != list(range(n)):
        seen = set(everything)
        twice = sorted({item for item in everything if everything.count(item) > 1})
        missing = sorted(set(range(n)) - seen)
        fail(
            f"{what} on a dataset of {count(n, 'item')} (item i is tensor(i)) must put each item in exactly one part; "
            f"in two parts or twice: {twice[:10]}, in none: {missing[:10]}; parts: {parts}"
        )


#: Seeds of the worker's global random generators between two calls with the same ``seed``.
_GLOBAL_SEEDS = (1, 2, 3, 4, 5)


def _explain_global_state(
    student: Session, dataset: Any, fractions: tuple[float, float, float], seed: int, what: str
) -> None:
    """Fail, naming the cause, if ``split_dataset(dataset, fractions, seed)`` follows the global random state.

    Shuffling with torch.randperm(n), random_split or random.shuffle without a generator of its own draws from
    the global generators, so ``seed`` changes nothing; reseeding those here shows it for certain, where two
    calls in a row may happen to agree.
    """
    data = student.module("data")
    first: list[list[int]] | None = None
    for global_seed in _GLOBAL_SEEDS:
        student.probe(f"{PROBES}:seed_globals", global_seed)
        parts = _parts(student, attempt(what, lambda: data.split_dataset(dataset, fractions, seed)), what)
        split = [sorted(part) for part in parts]
        if first is None:
            first = split
        elif split != first:
            fail(
                f"{what} gave {first} with the global random generators seeded with {_GLOBAL_SEEDS[0]} but "
                f"{split} with them seeded with {global_seed}: the split follows the global random state and "
                "ignores `seed` (torch.randperm(n), random_split(...) and random.shuffle draw from the global "
                "generators unless given one of their own). Shuffle with a generator seeded with seed: "
                "torch.randperm(n, generator=torch.Generator().manual_seed(seed)), random_split(dataset, lengths, "
                "generator=torch.Generator().manual_seed(seed)) or random.Random(seed).shuffle(indices)"
            )


@check(points=3, step="data", slide=slides.DATALOADER)
@settings(max_examples=15)
@given(n=st.integers(1, 60), fractions=_fractions(), seed=st.integers(0, 1000))
def test_split_parts(student: Session, n: int, fractions: tuple[float, float, float], seed: int) -> None:
    """split_dataset gives disjoint parts of sizes int(f0*n), int(f1*n) and the rest, same seed same split"""
    # Verdict: the items of the three parts, read back by the read_parts probe (values only; the items name
    # themselves), against the sizes and the partition computed here, twice for the same seed.
    assume(not _ambiguous(fractions[0], n) and not _ambiguous(fractions[1], n))
    data = student.module("data")
    dataset = student.probe(f"{PROBES}:index_dataset", n)
    # A split that follows the global random state then fails the same way when hypothesis replays it.
    student.probe(f"{PROBES}:seed_globals", 0)
    what = f"split_dataset(dataset, {fractions}, seed={seed})"
    parts = _parts(student, attempt(what, lambda: data.split_dataset(dataset, fractions, seed)), what)
    _expect_split(parts, n, fractions, what)
    again = _parts(student, attempt(what, lambda: data.split_dataset(dataset, fractions, seed)), what)
    if [sorted(part) for part in again] != [sorted(part) for part in parts]:
        _explain_global_state(student, dataset, fractions, seed, what)
    expect(
        [sorted(part) for part in again] == [sorted(part) for part in parts],
        f"{what} called twice on a dataset of {count(n, 'item')} gave two different splits: {parts} then {again}; the "
        "same seed must give the same split (use torch.Generator().manual_seed(seed))",
    )


@check(points=2, step="data", slide=slides.DATALOADER)
@settings(max_examples=10)
@given(n=st.integers(1, 60))
def test_split_defaults(student: Session, n: int) -> None:
    """split_dataset defaults to fractions (0.8, 0.1, 0.1) and seed 0"""
    # Verdict: the parts' items pulled across, against the sizes computed here and the explicit call's parts.
    data = student.module("data")
    dataset = student.probe(f"{PROBES}:index_dataset", n)
    student.probe(f"{PROBES}:seed_globals", 0)
    what = "split_dataset(dataset)"
    parts = _parts(student, attempt(what, lambda: data.split_dataset(dataset)), what)
    _expect_split(parts, n, (0.8, 0.1, 0.1), what)
    explicit = "split_dataset(dataset, (0.8, 0.1, 0.1), 0)"
    given_parts = _parts(student, attempt(explicit, lambda: data.split_dataset(dataset, (0.8, 0.1, 0.1), 0)), explicit)
    if [sorted(part) for part in parts] != [sorted(part) for part in given_parts]:
        # Not the default's fault when the explicit seed does not fix the split either.
        _explain_global_state(student, dataset, (0.8, 0.1, 0.1), 0, explicit)
    expect(
        [sorted(part) for part in parts] == [sorted(part) for part in given_parts],
        f"on a dataset of {count(n, 'item')}, {what} gave {parts} but {explicit} gave {given_parts}: the default "
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
        student.probe(f"{PROBES}:index_dataset", size, offset)
        for size, offset in zip(sizes, (0, _VAL_OFFSET, _TEST_OFFSET), strict=True)
    ]
    what = f"make_loaders(trainset, valset, testset, train_bs={train_bs}, eval_bs={eval_bs})"
    loaders = attempt(what, lambda: data.make_loaders(*sets, train_bs, eval_bs))
    if not isinstance(loaders, tuple | list) or len(loaders) != 3:
        fail(f"{what} returned {show(loaders)}: expected three DataLoaders (train, val, test)")
    return list(loaders), what


def _epoch(student: Session, loader: Any, seed: int, what: str) -> list[list[int]]:
    """One pass over ``loader`` as a list of batches of item numbers."""
    batches = attempt(f"iterating over {what}", lambda: student.probe(f"{PROBES}:loader_batches", loader, seed))
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


@check(points=3, step="data", slide=slides.DATALOADER)
@settings(max_examples=5)
@given(sizes=_loader_sizes, train_bs=st.integers(2, 8), extra=st.integers(1, 10))
def test_loaders_train(student: Session, sizes: tuple[int, int, int], train_bs: int, extra: int) -> None:
    """make_loaders: the train loader shuffles trainset with batch size train_bs"""
    # Verdict: two epochs of batches, read back by the loader_batches probe (values only), against the
    # batch sizes and the items of trainset computed here, and against each other (shuffled).
    eval_bs = train_bs + extra
    loaders, what = _loaders(student, sizes, train_bs, eval_bs)
    n = sizes[0]
    loader = f"the train loader of {what} (trainset: {n} items)"
    epochs = [_epoch(student, loaders[0], seed, loader) for seed in (1, 2)]
    want = [len(chunk) for chunk in _chunks(list(range(n)), train_bs)]
    # drop_last=True (a common choice for training) leaves the last, shorter batch out: accepted.
    dropped = [train_bs] * (n // train_bs)
    for epoch in epochs:
        batch_sizes = [len(batch) for batch in epoch]
        expect(
            batch_sizes in (want, dropped),
            f"{loader} gave batches of sizes {batch_sizes}; expected {want} "
            f"(batch_size=train_bs={train_bs}, the last batch holds the rest)",
        )
        order = [item for batch in epoch for item in batch]
        expect(
            len(set(order)) == len(order) and set(order) <= set(range(n)),
            f"{loader} gave the items {sorted(order)}; expected each item of trainset (0 to {n - 1}) once per "
            "epoch: the train loader must read trainset",
        )
    first, second = ([item for batch in epoch for item in batch] for epoch in epochs)
    expect(
        first != second,
        f"{loader} gave the same order in two epochs ({first}); the train loader must shuffle (shuffle=True)",
    )


@check(points=2, step="data", slide=slides.DATALOADER)
@settings(max_examples=5)
@given(sizes=_loader_sizes, train_bs=st.integers(2, 8), extra=st.integers(1, 10))
def test_loaders_eval(student: Session, sizes: tuple[int, int, int], train_bs: int, extra: int) -> None:
    """make_loaders: val and test loaders keep their dataset's order with batch size eval_bs"""
    # Verdict: the batches pulled across against the in-order chunks of valset and testset computed here.
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
