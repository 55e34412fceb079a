"""Step 2 (Model): masked mean pooling and TextClassifier, recomputed from the model's own parameters.

The student's parameters are read back as plain tensors; this process computes what the logits must be
(grader.checks.hw2.reference.logits) and compares them with what the model in the worker returned. The probe
that reads the parameters runs in the worker and can be replaced: what it reports counts only once every
reported tensor is seen to move with ``model.parameters()`` when the worker shifts those (:func:`parameters`).
"""

from __future__ import annotations

from typing import Any

import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st

from grader.checks import attempt, check, expect, expect_tensor, fail, show
from grader.checks.hw2 import reference, slides
from grader.errors import StudentError
from grader.sandbox import RemoteObject, Session

PROBE = "grader.probes.hw2.model"
seeds = st.integers(0, 2**16)
_TOLERANCE = {"atol": 1e-5, "rtol": 1e-4}


def values(tensor: torch.Tensor) -> str:
    """A tensor's values rounded to 4 decimals (the first 48), for messages."""
    flat = tensor.detach().double().flatten()
    text = str(torch.round(flat[:48], decimals=4).tolist())
    return text if flat.numel() <= 48 else text[:-1] + ", ...]"


def padded(lengths: list[int], vocab: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(input_ids, attention_mask)`` of sequences of ``lengths``: ids in 1..vocab-1, 0 at padding."""
    gen = torch.Generator().manual_seed(seed)
    longest = max(lengths)
    ids = torch.randint(1, vocab, (len(lengths), longest), generator=gen)
    mask = (torch.arange(longest) < torch.tensor(lengths).unsqueeze(1)).to(torch.int64)
    return ids * mask, mask


# --------------------------------------------------------------------------------------------------------------------
# masked_mean
# --------------------------------------------------------------------------------------------------------------------

_POOLING_SLIPS = {
    "averages over every position, padding included: divide by the number of real tokens": lambda e, m: e.mean(1),
    "sums without dividing: divide by the number of real tokens": lambda e, m: (e * m.unsqueeze(-1)).sum(1),
    "divides the masked sum by T, the padded length: divide by the number of real tokens": lambda e, m: (
        (e * m.unsqueeze(-1)).sum(1) / e.shape[1]
    ),
}


@check(points=5, step="model", slide=slides.MODEL)
@settings(max_examples=12)
@given(lengths=st.lists(st.integers(0, 6), min_size=1, max_size=5), dim=st.integers(1, 4), seed=st.integers(0, 2**16))
@example(lengths=[3, 1], dim=2, seed=0)
@example(lengths=[0, 2], dim=3, seed=1)
@example(lengths=[0], dim=2, seed=2)
def test_masked_mean_ignores_padding(student: Session, lengths: list[int], dim: int, seed: int) -> None:
    """masked_mean averages over the real tokens only, whatever sits at padding; an empty text gives zeros"""
    # Verdict: the tensor masked_mean returned against reference.masked_mean of the same inputs,
    # computed here.
    gen = torch.Generator().manual_seed(seed)
    longest = max(lengths)
    embeddings = torch.randn(len(lengths), longest, dim, generator=gen)
    mask = (torch.arange(longest) < torch.tensor(lengths).unsqueeze(1)).to(torch.int64)
    # Large values at padding: a mean that takes them in is far off.
    embeddings = torch.where(mask.unsqueeze(-1).bool(), embeddings, torch.full_like(embeddings, 1000.0))
    call = f"masked_mean(embeddings of shape {tuple(embeddings.shape)}, attention_mask={mask.tolist()})"
    got = expect_tensor(
        attempt(call, lambda: student.module("model").masked_mean(embeddings, mask)), call, (len(lengths), dim)
    )
    want = reference.masked_mean(embeddings, mask)
    if not torch.isfinite(got).all():
        fail(f"{call} returned {values(got)}: an empty text (no real token) must average to zeros, not nan")
    if torch.allclose(got.double(), want, **_TOLERANCE):
        return
    hint = next(
        (
            slip
            for slip, pooled in _POOLING_SLIPS.items()
            if torch.allclose(got.double(), pooled(embeddings, mask).double(), **_TOLERANCE)
        ),
        "",
    )
    fail(
        f"{call} (1000.0 at every padding position) returned {values(got)}; expected {values(want)}"
        + (f": it {hint}" if hint else "")
    )


# --------------------------------------------------------------------------------------------------------------------
# TextClassifier
# --------------------------------------------------------------------------------------------------------------------


def build(student: Session, vocab: int, dim: int, classes: int) -> RemoteObject:
    """The student's ``TextClassifier(vocab, dim, classes)``, checked to be an nn.Module."""
    call = f"TextClassifier({vocab}, {dim}, {classes})"
    try:
        model = student.module("model").TextClassifier(vocab, dim, classes)
    except StudentError as exc:
        if exc.is_a("AttributeError") and "before Module.__init__() call" in exc.message:
            fail(
                f"{call} raised AttributeError: {exc.message}: call super().__init__() first in "
                "TextClassifier.__init__, before assigning any layer"
            )
        fail(f"{call} failed: {exc}")
    expect(
        isinstance(model, RemoteObject) and student.probe(f"{PROBE}:is_module", model),
        f"{call} returned {show(model)}, which is not an nn.Module: TextClassifier must subclass torch.nn.Module",
    )
    return model


#: What the worker lowers every tensor of ``model.parameters()`` by, to see that the reported ones move with it.
SHIFT = 0.125
#: Why unregistered layers matter, for messages.
UNREGISTERED = (
    "nn.Module registers only layers assigned as attributes (self.embedding = nn.Embedding(...)) or held in "
    "nn.ModuleList / nn.Sequential; layers in a plain Python list are invisible to it, so model.parameters() "
    "misses them and the optimizer would not train them"
)


def _named(student: Session, model: RemoteObject, call: str) -> dict[str, torch.Tensor]:
    params = attempt(f"{call}.named_parameters()", lambda: student.probe(f"{PROBE}:named_parameters", model))
    expect(
        isinstance(params, dict) and all(isinstance(v, torch.Tensor) for v in params.values()),
        f"{call}.named_parameters() could not be read: got {show(params)}",
    )
    return params


def parameters(
    student: Session, model: RemoteObject, vocab: int, dim: int, classes: int, probe: torch.Tensor | None = None
) -> tuple[torch.Tensor, ...]:
    """The model's (embedding, weight, bias), found by their shapes among its registered parameters.

    Verdict: the parameters reported before and after the worker lowered every tensor of
    ``model.parameters()`` (what an optimizer is given) by :data:`SHIFT` must all have moved by exactly that,
    and none other be reported: the report is the model's registered parameters, not a replaced probe's
    story. The shift is undone before returning. ``probe``: input ids (mask all ones) the forward pass must
    answer differently before and after the shift (forward uses the registered layers).
    """
    call = f"TextClassifier({vocab}, {dim}, {classes})"
    before = _named(student, model, call)
    mask = None if probe is None else torch.ones_like(probe)
    output = None if probe is None else _forward(model, probe, mask, f"{call}({probe.tolist()})", keywords=False)
    attempt(f"{call}.parameters()", lambda: student.probe(f"{PROBE}:shift_parameters", model, SHIFT))
    try:
        after = _named(student, model, call)
        moved = None if probe is None else _forward(model, probe, mask, f"{call}({probe.tolist()})", keywords=False)
    finally:
        attempt(f"{call}.parameters()", lambda: student.probe(f"{PROBE}:shift_parameters", model, -SHIFT))
    unmoved = [
        name
        for name, value in after.items()
        if name not in before
        or value.shape != before[name].shape
        or not torch.allclose(value.double(), before[name].double() - SHIFT, atol=1e-6, rtol=0)
    ]
    if not after or unmoved or set(before) != set(after):
        fail(
            f"{call}: lowering every tensor of model.parameters() by {SHIFT} (what an optimizer's step reaches) "
            f"left {', '.join(unmoved) or 'some parameters'} as they were, so they are not registered with the "
            f"model: {UNREGISTERED}"
        )
    if probe is not None:
        expect(
            not (
                isinstance(output, torch.Tensor)
                and isinstance(moved, torch.Tensor)
                and output.shape == moved.shape
                and torch.equal(output, moved)
            ),
            f"{call}({probe.tolist()}) gave the same output before and after every registered parameter was "
            f"lowered by {SHIFT}, so forward does not use the registered layers: {UNREGISTERED}",
        )
    params = before
    shapes = {tuple(value.shape): value for value in params.values()}
    wanted = [(vocab, dim), (classes, dim), (classes,)]
    listed = ", ".join(f"{name} {tuple(value.shape)}" for name, value in params.items()) or "none"
    expect(
        len(params) == 3 and all(shape in shapes for shape in wanted),
        f"{call} has the parameters {listed}; expected exactly those of nn.Embedding({vocab}, {dim}) (weight "
        f"{wanted[0]}) and nn.Linear({dim}, {classes}) (weight {wanted[1]}, bias {wanted[2]}): no other layer",
    )
    return tuple(shapes[shape].float() for shape in wanted)


@check(points=4, step="model", slide=slides.SUPER_INIT)
def test_classifier_layers(student: Session) -> None:
    """TextClassifier registers exactly an nn.Embedding and an nn.Linear (after super().__init__())"""
    # Verdict: the shapes of the parameters reported (exactly Embedding(V, D) and Linear(D, C)), once shown
    # to be the registered ones (each moved by exactly SHIFT when the worker lowered model.parameters()), and
    # the forward pass before and after that shift (it must change: forward uses the registered layers).
    for sizes in ((30, 4, 3), (12, 6, 2)):
        parameters(student, build(student, *sizes), *sizes, probe=torch.tensor([[3, 5, 7], [2, 4, 6]]))


@check(points=3, step="model", slide=slides.MODEL)
def test_embedding_padding_idx(student: Session) -> None:
    """the embedding's row 0 (<pad>) is zero: nn.Embedding(..., padding_idx=0)"""
    # Verdict: row 0 of the embedding weight reported must be all zeros, the report shown to be the model's
    # registered parameters as in test_classifier_layers (every tensor moved by exactly SHIFT with them).
    for sizes in ((30, 4, 3), (12, 6, 2)):
        embedding, _, _ = parameters(student, build(student, *sizes), *sizes)
        expect(
            torch.count_nonzero(embedding[0]) == 0,
            f"row 0 of TextClassifier{sizes}'s embedding is {values(embedding[0])}; expected zeros: build it with "
            "nn.Embedding(vocab_size, embed_dim, padding_idx=0), so that <pad> starts at zero and is never trained",
        )


def _forward(model: RemoteObject, ids: torch.Tensor, mask: torch.Tensor, call: str, keywords: bool) -> Any:
    try:
        if keywords:
            return model(input_ids=ids, attention_mask=mask)
        return model(ids, mask)
    except StudentError as exc:
        if keywords and exc.is_a("TypeError") and "keyword argument" in exc.message:
            fail(
                f"model(**inputs) with inputs = {{'input_ids': ..., 'attention_mask': ...}} raised TypeError: "
                f"{exc.message}. forward's arguments must be named input_ids and attention_mask, so that "
                "model(**batch) passes each key of the dict to the argument of the same name"
            )
        fail(f"{call} failed: {exc}")


def _own_pooling(student: Session, embedding: torch.Tensor, ids: torch.Tensor, mask: torch.Tensor) -> Any:
    """The student's own masked_mean of the embedded ids (None when it fails): what their forward may build on."""
    try:
        pooled = student.module("model").masked_mean(embedding[ids], mask)
    except StudentError:
        return None
    return pooled.double() if isinstance(pooled, torch.Tensor) else None


@check(points=6, step="model", slide=slides.MODEL)
@settings(max_examples=8)
@given(lengths=st.lists(st.integers(0, 7), min_size=1, max_size=4).filter(lambda lengths: max(lengths) > 0), seed=seeds)
@example(lengths=[1], seed=0)
@example(lengths=[0, 3], seed=1)
def test_forward_recomputed(student: Session, lengths: list[int], seed: int) -> None:
    """forward(input_ids, attention_mask): embedding, masked mean, linear (recomputed from your model's weights)"""
    # Verdict: the logits forward returned against reference.logits recomputed here from the parameters
    # read back, or against the linear layer applied here to the student's own masked_mean of the embedded ids.
    sizes = (25, 4, 3)
    model = build(student, *sizes)
    embedding, weight, bias = parameters(student, model, *sizes)
    ids, mask = padded(lengths, sizes[0], seed)
    call = f"TextClassifier{sizes}({ids.tolist()}, {mask.tolist()})"
    got = expect_tensor(_forward(model, ids, mask, call, keywords=False), call, (len(lengths), sizes[2]))
    want = reference.logits(embedding, weight, bias, ids, mask)
    if torch.allclose(got.double(), want, **_TOLERANCE):
        return
    # forward on top of the student's own masked_mean: a pooling bug costs masked_mean's points, not these.
    pooled = _own_pooling(student, embedding, ids, mask)
    own = (
        pooled @ weight.double().T + bias.double() if pooled is not None and pooled.shape[-1:] == (sizes[1],) else None
    )
    if own is not None and own.shape == got.shape and torch.allclose(got.double(), own, **_TOLERANCE):
        return
    hint = ""
    mean_all = embedding.double()[ids].mean(1) @ weight.double().T + bias.double()
    if torch.allclose(got.double(), mean_all, **_TOLERANCE):
        hint = ": it averages over the padding too; average over the real tokens only (masked_mean)"
    elif torch.allclose(got.double(), torch.softmax(want, dim=1), **_TOLERANCE):
        hint = ": it returns probabilities; return the logits, without softmax"
    fail(
        f"{call} returned {values(got)}; with your model's own parameters, embedding -> masked mean -> linear "
        f"gives {values(want)}{hint}"
    )


@check(points=4, step="model", slide=slides.UNPACKING)
def test_forward_takes_the_batch_by_keyword(student: Session) -> None:
    """model(**inputs) works: forward's arguments are named input_ids and attention_mask"""
    # Verdict: model(**inputs)'s output against model(ids, mask)'s: both from the worker, compared
    # here with each other only (nothing recomputed: a forward that ignores its inputs passes).
    model = build(student, 20, 3, 2)
    ids, mask = padded([4, 2, 3], 20, seed=5)
    inputs = f"{{'input_ids': {ids.tolist()}, 'attention_mask': {mask.tolist()}}}"
    by_keyword = expect_tensor(_forward(model, ids, mask, f"model(**{inputs})", keywords=True), f"model(**{inputs})")
    # Only the names are this check's: the values are compared with the same model called positionally.
    by_position = _forward(model, ids, mask, f"model({ids.tolist()}, {mask.tolist()})", keywords=False)
    expect(
        isinstance(by_position, torch.Tensor) and torch.allclose(by_keyword, by_position, **_TOLERANCE),
        f"model(**{inputs}) returned {values(by_keyword)}, but model(input_ids, attention_mask) returned "
        f"{show(by_position)}: forward(input_ids, attention_mask) must use each argument as its name says",
    )


@check(points=3, step="model", slide=slides.MODEL)
@settings(max_examples=6)
@given(lengths=st.lists(st.integers(1, 6), min_size=2, max_size=4), extra=st.integers(1, 5), seed=st.integers(0, 99))
def test_padding_does_not_change_the_logits(student: Session, lengths: list[int], extra: int, seed: int) -> None:
    """a text's logits are the same alone and in a batch, with any amount of padding"""
    # Verdict: the logits with and without extra padding, and of each text alone: all from the
    # worker, compared here with each other only (nothing recomputed: a constant forward passes).
    model = build(student, 25, 4, 3)
    ids, mask = padded(lengths, 25, seed)
    wide_ids = torch.cat([ids, torch.zeros(len(lengths), extra, dtype=torch.int64)], dim=1)
    wide_mask = torch.cat([mask, torch.zeros(len(lengths), extra, dtype=torch.int64)], dim=1)
    call = f"TextClassifier(25, 4, 3)({ids.tolist()}, {mask.tolist()})"
    batch = expect_tensor(_forward(model, ids, mask, call, False), call, (len(lengths), 3))
    wide = expect_tensor(_forward(model, wide_ids, wide_mask, call, False), call, (len(lengths), 3))
    expect(
        torch.allclose(batch, wide, **_TOLERANCE),
        f"{call} returned {values(batch)}, but {values(wide)} once each row had {extra} more padding positions: "
        "padding must not change the logits (average over the real tokens only)",
    )
    for row, length in enumerate(lengths):
        alone = _forward(model, ids[row : row + 1, :length], mask[row : row + 1, :length], call, False)
        expect(
            isinstance(alone, torch.Tensor) and torch.allclose(alone, batch[row : row + 1], **_TOLERANCE),
            f"text {row} of {call} alone (no padding) gives {show(alone)}, in the batch {values(batch[row])}: "
            "padding must not change the logits",
        )
