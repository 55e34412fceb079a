"""End to end: the student's whole text pipeline learns a topic classification task made here.

The task (grader.checks.hw2.textdata) is drawn from a seed derived from the grading key (grader.grading_key).
Only its training part is written to a CSV file for the student's code; the held-out texts never reach it.
The student's read_rows, build_vocab, TextDataset, make_loaders, TextClassifier and train run in the worker;
then the trained parameters and the vocabulary are read back as plain data, and this process computes the
held-out accuracy itself: the handout's tokenizer and encoding, then embedding, masked mean and linear layer
with the student's own weights.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import torch

from grader import grading_key
from grader.checks import DEVICE_MISMATCH, check, expect, explain_loss_arguments, fail, new_file, show
from grader.checks.hw2 import reference, slides, textdata
from grader.errors import StudentError, SubmissionError

_BAR = 0.9
# Over 200 tasks (python tests/benchmarks/e2e_margin_hw2.py) a correct pipeline reaches 0.963 at worst, 0.985 median.
_TRAIN, _HELD_OUT = 1200, 600
_EPOCHS, _LR, _DIM, _MIN_FREQ, _CLIP = 4, 0.03, 16, 2, 1.0
_TRAIN_BATCH, _EVAL_BATCH = 32, 256
_CLASSES = len(textdata.TOPICS)


@functools.cache
def task() -> textdata.Task:
    """This grading machine's task (the same for every submission graded with the same key)."""
    return textdata.generate(grading_key.seed("hw2/end-to-end"), _TRAIN, _HELD_OUT)


def train_pipeline(student: Any, path: Path, device: str, guard: bool) -> tuple[Any, Any, Any, Any]:
    """The student's pipeline on the training file: ``(model, vocab, losses per epoch, eval loader)``."""
    data, model_py, train_py = student.module("data"), student.module("model"), student.module("train")
    rows = data.read_rows(str(path))
    expect(
        isinstance(rows, list | tuple) and all(isinstance(row, list | tuple) and len(row) == 2 for row in rows),
        f"read_rows returned {show(rows)}; expected the (text, label) rows",
    )
    vocab = data.build_vocab([row[0] for row in rows], min_freq=_MIN_FREQ)
    expect(
        isinstance(vocab, dict) and all(isinstance(k, str) and type(v) is int for k, v in vocab.items()),
        f"build_vocab returned {show(vocab)}; expected a dict mapping each token to its id",
    )
    dataset = data.TextDataset(str(path), vocab)
    train_loader, eval_loader = data.make_loaders(dataset, dataset, _TRAIN_BATCH, _EVAL_BATCH)
    model = model_py.TextClassifier(len(vocab), _DIM, _CLASSES)
    loss_fn, optimizer = student.probe(
        "grader.probes.hw2.train:pipeline_setup", model, train_loader, _LR, device, guard
    )
    with student.budget(120):
        try:
            losses = train_py.train(
                model, train_loader, loss_fn, optimizer, _EPOCHS, device=device, max_grad_norm=_CLIP
            )
        except StudentError as exc:
            explain_loss_arguments(exc, "output", "labels")
            raise
    return model, vocab, losses, eval_loader


def held_out_accuracy(params: Any, vocab: dict[str, int], rows: list[tuple[str, int]]) -> float:
    """The accuracy on the ``rows`` of the classifier with parameters ``params`` (read back) and ``vocab``."""
    expect(
        isinstance(params, dict) and all(isinstance(value, torch.Tensor) for value in params.values()),
        f"the trained model's parameters could not be read: {show(params)}",
    )
    shapes = {tuple(value.shape): value.double() for value in params.values()}
    wanted = [(len(vocab), _DIM), (_CLASSES, _DIM), (_CLASSES,)]
    if len(params) != 3 or any(shape not in shapes for shape in wanted):
        listed = ", ".join(f"{name} {tuple(value.shape)}" for name, value in params.items())
        fail(f"TextClassifier({len(vocab)}, {_DIM}, {_CLASSES}) has the parameters {listed}; expected {wanted}")
    embedding, weight, bias = (shapes[shape] for shape in wanted)
    if vocab and (min(vocab.values()) < 0 or max(vocab.values()) >= len(vocab)):
        fail(f"build_vocab's ids must be 0 to {len(vocab) - 1}, one per token; they run from {min(vocab.values())}")
    right = 0
    for text, label in rows:
        ids = torch.tensor(reference.encode(text, vocab), dtype=torch.int64)
        pooled = embedding[ids].mean(dim=0) if len(ids) else torch.zeros(_DIM, dtype=torch.float64)
        right += int((weight @ pooled + bias).argmax()) == label
    return right / len(rows)


@check(points=10, step="end-to-end", slide=slides.PIPELINE)
def test_text_pipeline_reaches_accuracy(student: Any, scratch: Path, device: str) -> None:
    """your pipeline learns to classify texts by topic (at least 0.9 held-out accuracy)"""
    # Verdict: accuracy computed here on held-out texts never sent, with reference.encode and the
    # vocabulary and the trained weights (state probe) pulled across.
    path = new_file(scratch, "train_", ".csv", textdata.to_csv(task().train).encode("utf-8"))
    try:
        model, vocab, losses, eval_loader = train_pipeline(student, path, device, guard=True)
    except StudentError as exc:
        if DEVICE_MISMATCH not in exc.message:
            raise
        # Batches not moved to the device cost points in Steps 3 and 4; here only the learning counts.
        device = "cpu"
        model, vocab, losses, eval_loader = train_pipeline(student, path, device, guard=False)
    params = student.probe("grader.probes.hw2.train:state", model)
    accuracy = held_out_accuracy(params, vocab, task().held_out)
    if accuracy >= _BAR:
        return
    if isinstance(losses, list) and all(isinstance(loss, float) for loss in losses):
        losses = [round(loss, 3) for loss in losses]
    try:
        with student.budget(60):
            own = show(student.module("evaluate").evaluate(model, eval_loader, device=device))
    except SubmissionError as exc:
        own = f"not available ({exc})"
    fail(
        f"after read_rows, build_vocab(texts, min_freq={_MIN_FREQ}) ({len(vocab)} tokens), TextDataset, "
        f"make_loaders(..., {_TRAIN_BATCH}, {_EVAL_BATCH}), TextClassifier({len(vocab)}, {_DIM}, {_CLASSES}) and "
        f"train(..., epochs={_EPOCHS}, max_grad_norm={_CLIP}) with Adam(lr={_LR}) on {_TRAIN} texts, your model's "
        f"accuracy on {_HELD_OUT} held-out texts is {accuracy:.3f}; at least {_BAR} is needed (a correct pipeline "
        f"reaches about 0.98). Losses per epoch: {show(losses)}; your evaluate() on the training texts: {own}. "
        "If the losses do not go down, look at the training loop; if they do, at the tokenizer and the vocabulary "
        "(the held-out texts are tokenized and encoded by the handout's rules with your vocabulary)"
    )
