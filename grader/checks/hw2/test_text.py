"""Step 1 (Data), torchtext's part written by hand: the tokenizer, the CSV rows, the vocabulary, encoding.

Every expected value is the handout's rule computed here (grader.checks.hw2.reference). ``build_vocab`` and
``encode`` are judged on the tokens the student's own ``tokenize`` gives, so a tokenizer bug costs the
tokenizer's points, not theirs too.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from grader.checks import attempt, check, expect, fail, show
from grader.checks.hw2 import reference, slides
from grader.checks.hw2.support import explain_csv_cells, write_csv
from grader.errors import StudentError
from grader.sandbox import Session

# 'İ' is the one character whose lower case is two characters of which the second is not a word character:
# lower-casing before or after splitting gives different tokens. The handout says "before"; no check asks.
_ANY_CHARACTER = st.characters(blacklist_categories=("Cs",), blacklist_characters="\u0130")
any_text = st.text(_ANY_CHARACTER, max_size=40)
_LONG = "The goal, at last! " * 1200


# --------------------------------------------------------------------------------------------------------------------
# tokenize
# --------------------------------------------------------------------------------------------------------------------

_WORD = r"\w+|[^\w\s]"
_TOKENIZER_SLIPS: dict[str, Callable[[str], list[str]]] = {
    "does not lower-case the text (str.lower() first)": lambda t: re.findall(_WORD, t),
    "splits on white space only: punctuation must be tokens of its own": lambda t: t.lower().split(),
    "drops the punctuation: a character that is neither a word character nor white space is a token": (
        lambda t: re.findall(r"\w+", t.lower())
    ),
    'keeps runs of punctuation together ("!!" is two tokens, "!" and "!")': (
        lambda t: re.findall(r"\w+|[^\w\s]+", t.lower())
    ),
    "treats letters outside a-z as punctuation: a word character is a letter or digit of any script (\\w)": (
        lambda t: re.findall(r"[a-z0-9_]+|[^a-z0-9_\s]", t.lower())
    ),
    "uses str.casefold(); the rule is str.lower()": lambda t: re.findall(_WORD, t.casefold()),
}


def _tokens(value: Any, call: str) -> list[str]:
    """``tokenize``'s value as a list of strings, or a failure that says what is wrong with it."""
    if isinstance(value, tuple):
        value = list(value)
    if not isinstance(value, list) or not all(isinstance(token, str) for token in value):
        fail(f"{call} returned {show(value)}; expected a list of strings")
    return value


def _expect_tokens(student: Session, text: str) -> None:
    call = f"tokenize({show(text, 120)})"
    got = _tokens(attempt(call, lambda: student.module("data").tokenize(text)), call)
    want = reference.tokenize(text)
    if got == want:
        return
    hint = next((slip for slip, slipped in _TOKENIZER_SLIPS.items() if slipped(text) == got), "")
    fail(f"{call} returned {show(got, 200)}; expected {show(want, 200)}" + (f": your tokenizer {hint}" if hint else ""))


_EXAMPLES = ("Hello, World!", "It's 3.5°C", "", "   ", "Don't STOP—believing!!", "café au lait", "tab\tand\nline")


@check(points=2, step="data", slide=slides.PREPARE)
def test_tokenize_examples(student: Session) -> None:
    """tokenize lower-cases and splits words and punctuation (the handout's examples)"""
    # Verdict: the token lists tokenize returned (pulled across) against reference.tokenize of the same
    # texts, computed here.
    for text in _EXAMPLES:
        _expect_tokens(student, text)


@check(points=3, step="data", slide=slides.PREPARE)
@settings(max_examples=25)
@given(text=any_text)
@example(text=_LONG)
@example(text="🙂 Ünïcödé ΑΒΓ, 東京!")
def test_tokenize_any_text(student: Session, text: str) -> None:
    """tokenize follows the rule for any text: any script, emoji, empty or very long"""
    # Verdict: the token list tokenize returned (pulled across) against reference.tokenize of the text,
    # computed here.
    _expect_tokens(student, text)


# --------------------------------------------------------------------------------------------------------------------
# read_rows
# --------------------------------------------------------------------------------------------------------------------

csv_text = st.one_of(st.text(st.sampled_from('ab ,"\n'), max_size=12), any_text.filter(lambda t: "\r" not in t))
_rows = st.lists(st.tuples(csv_text, st.integers(0, 20)), min_size=1, max_size=6)


@check(points=3, step="data", slide=slides.PREPARE)
@settings(max_examples=12)
@given(rows=_rows, label_first=st.booleans(), quote_all=st.booleans())
@example(rows=[('He said "hi", then left', 1), ("", 0), ("two\nlines", 2)], label_first=False, quote_all=False)
def test_read_rows(
    student: Session, scratch: Path, rows: list[tuple[str, int]], label_first: bool, quote_all: bool
) -> None:
    """read_rows returns every (text, label) row in file order: quoted commas, quotes, line breaks, empty texts"""
    # Verdict: the rows read_rows returned (pulled across) against the rows this check wrote to the CSV file.
    path = write_csv(scratch, rows, label_first, quote_all)
    call = f"read_rows({path.name!r}) for the file {show(path.read_text(encoding='utf-8'), 400)}"
    read_rows = student.module("data").read_rows
    try:
        got = read_rows(str(path))
    except StudentError as exc:
        explain_csv_cells(scratch, rows, read_rows, exc, call)
        fail(f"{call} failed: {exc}")
    if not isinstance(got, list | tuple) or not all(isinstance(row, list | tuple) and len(row) == 2 for row in got):
        fail(f"{call} returned {show(got)}; expected a list of (text, label) pairs")
    got = [tuple(row) for row in got]
    if any(isinstance(label, str) for _, label in got):
        fail(f"{call} returned {show(got)}: the labels are strings; convert them with int()")
    expect(
        got == list(rows),
        f"{call} returned {show(got, 400)}; expected {show(list(rows), 400)} (use csv.DictReader on a file opened "
        'with newline="" and encoding="utf-8": quoted fields may hold commas, quotes and line breaks)',
    )


# --------------------------------------------------------------------------------------------------------------------
# build_vocab and encode, on the student's own tokens
# --------------------------------------------------------------------------------------------------------------------

_WORDS = ("a", "b", "c", "the", "cat", "dog", "Cat", "DOG!", "x1", "é", "zz,")
vocab_texts = st.lists(st.lists(st.sampled_from(_WORDS), max_size=8).map(" ".join), max_size=6)


def own_tokens(student: Session, texts: list[str]) -> list[list[str]]:
    """The student's ``tokenize`` of each text; the rule's tokens where it fails (it has its own check)."""
    tokenize = student.module("data").tokenize
    found = []
    for text in texts:
        try:
            tokens = tokenize(text)
        except StudentError:
            tokens = None
        ok = isinstance(tokens, list) and all(isinstance(token, str) for token in tokens)
        found.append(tokens if ok else reference.tokenize(text))
    return found


def expected_vocab(tokens: list[list[str]], min_freq: int) -> dict[str, int]:
    """The contract's vocabulary of these tokens."""
    counts = Counter(token for text in tokens for token in text)
    kept = sorted((t for t, n in counts.items() if n >= min_freq), key=lambda t: (-counts[t], t))
    return {token: index for index, token in enumerate([*reference.SPECIALS, *kept])}


def _vocab_slip(got: dict[str, Any], tokens: list[list[str]], min_freq: int, want: dict[str, int]) -> str:
    """What the student's vocabulary equals instead, in words; "" when nothing known matches."""
    counts = Counter(token for text in tokens for token in text)
    documents = Counter(token for text in tokens for token in set(text))
    first = {token: index for index, token in enumerate(dict.fromkeys(t for text in tokens for t in text))}

    def numbered(order: list[str], specials: tuple[str, ...] = reference.SPECIALS) -> dict[str, int]:
        return {token: index for index, token in enumerate([*specials, *order])}

    kept = [t for t in counts if counts[t] >= min_freq]
    slips = {
        "breaks ties by first appearance (Counter.most_common()); tokens seen equally often go in alphabetical "
        "order": numbered(sorted(kept, key=lambda t: (-counts[t], first[t]))),
        "leaves out tokens seen exactly min_freq times: keep those seen at least min_freq times (>=)": numbered(
            sorted((t for t in counts if counts[t] > min_freq), key=lambda t: (-counts[t], t))
        ),
        "counts the texts a token occurs in, not its occurrences": numbered(
            sorted((t for t in documents if documents[t] >= min_freq), key=lambda t: (-documents[t], t))
        ),
        "orders the tokens alphabetically only: the most frequent come first": numbered(sorted(kept)),
        "puts the least frequent first: the most frequent come first": numbered(
            sorted(kept, key=lambda t: (counts[t], t))
        ),
        'has no "<pad>" (0) and "<unk>" (1) at the start': numbered(sorted(kept, key=lambda t: (-counts[t], t)), ()),
        'swaps the specials: "<pad>" is 0 and "<unk>" is 1': numbered(
            sorted(kept, key=lambda t: (-counts[t], t)), ("<unk>", "<pad>")
        ),
    }
    return next((slip for slip, vocab in slips.items() if vocab == got and vocab != want), "")


@check(points=5, step="data", slide=slides.PREPARE)
@settings(max_examples=15)
@given(texts=vocab_texts, min_freq=st.integers(1, 3))
@example(texts=["b a b", "c a b"], min_freq=1)
@example(texts=["b a b", "c a b"], min_freq=2)
@example(texts=["dog cat", "cat dog"], min_freq=1)
def test_build_vocab(student: Session, texts: list[str], min_freq: int) -> None:
    """build_vocab: <pad> 0, <unk> 1, then tokens seen min_freq times or more, most frequent first, ties alphabetical"""
    # Verdict: the dict build_vocab returned against the vocabulary computed here (counts, order) from the
    # token lists the student's own tokenize returned for the texts (reference.tokenize where it fails).
    call = f"build_vocab({show(texts, 300)}, min_freq={min_freq})"
    got = attempt(call, lambda: student.module("data").build_vocab(texts, min_freq=min_freq))
    if not isinstance(got, dict):
        fail(f"{call} returned {show(got)}; expected a dict mapping each token to its id")
    tokens = own_tokens(student, texts)
    want = expected_vocab(tokens, min_freq)
    if got == want:
        return
    slip = _vocab_slip(got, tokens, min_freq, want)
    if not slip and set(got) - set(want) - set(reference.SPECIALS):
        slip = "holds tokens your tokenize does not give for these texts: split each text with tokenize"
    fail(f"{call} returned {show(got, 400)}; expected {show(want, 400)}" + (f": it {slip}" if slip else ""))


_VOCAB = {"<pad>": 0, "<unk>": 1, "the": 2, "cat": 3, ",": 4, "sat": 5, "!": 6, "é": 7}
encode_texts = st.lists(st.sampled_from(("the", "Cat", "sat", ",", "!", "dog", "É", "mat", "THE")), max_size=10).map(
    " ".join
)


@check(points=2, step="data", slide=slides.PREPARE)
@settings(max_examples=10)
@given(text=encode_texts)
@example(text="")
@example(text="The cat sat on the mat!")
def test_encode(student: Session, text: str) -> None:
    """encode looks each token up in the vocabulary, <unk> (1) for the tokens it does not hold"""
    # Verdict: the ids encode returned against lookups done here, in a vocabulary chosen here, of the token list
    # the student's own tokenize returned (reference.tokenize where it fails).
    call = f"encode({text!r}, {_VOCAB})"
    got = attempt(call, lambda: student.module("data").encode(text, dict(_VOCAB)))
    if isinstance(got, tuple):
        got = list(got)
    if not isinstance(got, list) or not all(type(item) is int for item in got):
        fail(f"{call} returned {show(got)}; expected a list of ints")
    (tokens,) = own_tokens(student, [text])
    want = [_VOCAB.get(token, reference.UNK_ID) for token in tokens]
    if got == want:
        return
    hint = ""
    if got == [_VOCAB[token] for token in tokens if token in _VOCAB]:
        hint = ": it leaves out the unknown tokens; each becomes <unk> (1)"
    elif got == [_VOCAB.get(token, 0) for token in tokens]:
        hint = ": unknown tokens become <unk> (1), not <pad> (0)"
    fail(f"{call} returned {got}; expected {want} (the tokens {tokens}){hint}")
