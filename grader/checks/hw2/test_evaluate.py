"""Step 4 (Evaluation): ``predict`` and ``evaluate`` on a model whose logits are known.

The worker's reference model reads each sample's logits from a table chosen here (sample ``k``'s first id is
``k + 2``), takes exactly ``forward(input_ids, attention_mask)`` and records the mode and the grad mode of every
forward. It starts in training mode, as it would right after training. Expected predictions, accuracy and
macro-F1 are computed here, by their definitions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from grader.checks import DEVICE_MISMATCH, check, expect, explain_device, fail, show
from grader.checks.hw2 import slides
from grader.checks.hw2.support import explain_batch
from grader.errors import StudentError

_SETUP = "grader.probes.hw2.train:evaluation_setup"
_MOVE = "batch = {key: value.to(device) for key, value in batch.items()} before output = model(**batch)"


@dataclass(frozen=True)
class Case:
    """Logits, labels (every class among them) and a batch size whose last batch is partial."""

    logits: torch.Tensor
    labels: list[int]
    batch_size: int
    rows: list[list[int]]

    @classmethod
    def generate(cls, seed: int, samples: int, batch_size: int, classes: int) -> Case:
        """Logits from ``seed``; labels that agree with the argmax at some, but not all, samples."""
        gen = torch.Generator().manual_seed(seed)
        logits = torch.randn(samples, classes, generator=gen) * 3
        predicted = logits.argmax(dim=1)
        wrong = torch.rand(samples, generator=gen) < 0.4
        wrong[0], wrong[-1] = True, False
        shift = torch.randint(1, classes, (samples,), generator=gen)
        labels = torch.where(wrong, (predicted + shift) % classes, predicted).tolist()
        labels[1 : 1 + classes] = range(classes)  # every class among the labels: macro-F1 has one meaning
        lengths = torch.randint(0, 4, (samples,), generator=gen).tolist()
        rows = [[k + 2] + [1] * length for k, length in enumerate(lengths)]
        return cls(logits, labels, batch_size, rows)

    @property
    def predictions(self) -> list[int]:
        """The argmax over classes of every sample."""
        return self.logits.argmax(dim=1).tolist()

    def batches(self) -> list[tuple[torch.Tensor, list[int]]]:
        """Each batch's logits and labels."""
        size = self.batch_size
        return [
            (self.logits[start : start + size], self.labels[start : start + size])
            for start in range(0, len(self.labels), size)
        ]

    def describe(self) -> str:
        """The input in words, for messages."""
        sizes = ", ".join(str(len(labels)) for _, labels in self.batches())
        logits = str(torch.round(self.logits.double(), decimals=2).tolist())
        return f"logits {logits[:300]} in unshuffled dict batches of {sizes}, labels {self.labels}"


def accuracy(labels: list[int], predictions: list[int]) -> float:
    """The fraction of samples predicted right."""
    return sum(p == y for p, y in zip(predictions, labels, strict=True)) / len(labels)


def f1_scores(labels: list[int], predictions: list[int]) -> dict[int, tuple[float, int]]:
    """Each class's (F1, support) over the classes of the labels and the predictions, as sklearn counts them."""
    scores = {}
    for label in sorted(set(labels) | set(predictions)):
        tp = sum(p == y == label for p, y in zip(predictions, labels, strict=True))
        fp = sum(p == label != y for p, y in zip(predictions, labels, strict=True))
        fn = sum(y == label != p for p, y in zip(predictions, labels, strict=True))
        scores[label] = (2 * tp / (2 * tp + fp + fn), labels.count(label))
    return scores


def macro_f1(labels: list[int], predictions: list[int]) -> float:
    """The mean of the classes' F1, each class counting the same."""
    scores = f1_scores(labels, predictions)
    return sum(f1 for f1, _ in scores.values()) / len(scores)


def run_student(student: Any, device: str, case: Case, function: str) -> tuple[Any, Any]:
    """Call the student's ``evaluate.<function>(model, loader, device=device)``; its value and the model handle.

    When the call used a batch it had not moved to the device, it runs again on the CPU without the device
    guard, so that this check still grades its own clause: moving batches is another check's.
    """
    call = getattr(student.module("evaluate"), function)
    for where, guard in ((device, True), ("cpu", False)):
        model, loader = student.probe(_SETUP, case.logits, case.rows, case.labels, case.batch_size, where, guard)
        try:
            return call(model, loader, device=where), model
        except StudentError as exc:
            if DEVICE_MISMATCH in exc.message and guard:
                continue
            explain_batch(exc, function)
            raise
    raise AssertionError("unreachable")  # pragma: no cover


def as_indices(value: Any) -> list[int]:
    """``predict``'s value as a list of ints, or a failure that says what is wrong with its type."""
    if isinstance(value, torch.Tensor) and value.dim() == 1 and not value.is_floating_point():
        return value.tolist()
    if isinstance(value, list | tuple) and all(type(item) is int for item in value):
        return list(value)
    if isinstance(value, list | tuple) and any(isinstance(item, torch.Tensor) for item in value):
        fail(f"predict returned a list of tensors {show(value)}; extend a flat list with pred.tolist() per batch")
    fail(f"predict returned {show(value)}; expected a list of ints, one class index per sample")


samples_counts = st.integers(6, 16)
batch_sizes = st.integers(2, 5)
class_counts = st.integers(2, 4)
seeds = st.integers(0, 2**16)


@check(points=4, step="evaluate", slide=slides.EVALUATION)
@settings(max_examples=8)
@given(samples=samples_counts, batch_size=batch_sizes, classes=class_counts, seed=seeds)
@example(samples=7, batch_size=3, classes=3, seed=0)
def test_predict_argmax_in_order(
    student: Any, device: str, samples: int, batch_size: int, classes: int, seed: int
) -> None:
    """predict returns the argmax over classes of every sample, in loader order"""
    # Verdict: the predictions pulled across against the argmax of logits chosen here (Case.predictions).
    assume(samples % batch_size)
    case = Case.generate(seed, samples, batch_size, classes)
    value, _ = run_student(student, device, case, "predict")
    observed, expected = as_indices(value), case.predictions
    if observed == expected:
        return
    over_batch = [i for logits, _ in case.batches() for i in logits.argmax(dim=0).tolist()]
    if observed == over_batch:
        fail(f"predict took the argmax over dim=0 (the samples); take it over the classes, dim=1 ({case.describe()})")
    if len(observed) != len(expected):
        fail(f"predict returned {len(observed)} predictions for {len(expected)} samples ({case.describe()})")
    fail(f"predict returned {observed}; expected each sample's argmax in loader order, {expected} ({case.describe()})")


FIXED = Case.generate(seed=3, samples=11, batch_size=4, classes=3)
FUNCTIONS = ("predict", "evaluate")


def _forward_calls(student: Any, device: str, function: str) -> list[tuple[bool, bool, int]]:
    _, model = run_student(student, device, FIXED, function)
    calls = model.calls
    expect(len(calls) > 0, f"{function}(model, loader, device={device!r}) never called the model")
    return calls


@check(points=2, step="evaluate", slide=slides.EVALUATION)
def test_predict_and_evaluate_use_eval_mode(student: Any, device: str) -> None:
    """predict and evaluate put the model in evaluation mode"""
    # Verdict: the training flags in model.calls, a list the worker's reference model keeps and
    # student code can rewrite: a worker-side record, not a value computed here (issue 14).
    for function in FUNCTIONS:
        calls = _forward_calls(student, device, function)
        in_train = sum(1 for training, _, _ in calls if training)
        expect(
            in_train == 0,
            f"in {function}(model, loader), the model was in training mode during {in_train} of its {len(calls)} "
            "forward passes: call model.eval() before the loop",
        )


@check(points=2, step="evaluate", slide=slides.EVALUATION)
def test_predict_and_evaluate_without_gradients(student: Any, device: str) -> None:
    """predict and evaluate run the model under torch.no_grad()"""
    # Verdict: the grad-mode flags in model.calls, a list the worker's reference model keeps
    # and student code can rewrite: a worker-side record, not a value computed here (issue 14).
    for function in FUNCTIONS:
        calls = _forward_calls(student, device, function)
        tracked = sum(1 for _, grad_enabled, _ in calls if grad_enabled)
        expect(
            tracked == 0,
            f"in {function}(model, loader), gradients were tracked during {tracked} of the model's {len(calls)} "
            "forward passes: run the loop inside `with torch.no_grad():`",
        )


@check(points=1, step="evaluate", slide=slides.EVALUATION)
def test_predict_and_evaluate_move_batches_to_device(student: Any, device: str) -> None:
    """predict and evaluate move each batch to `device` before the model sees it"""
    # Verdict: only that no error came back with the worker-side device guard on
    # (grader.probes.device); no returned value is compared (issue 14).
    for function in FUNCTIONS:
        model, loader = student.probe(_SETUP, FIXED.logits, FIXED.rows, FIXED.labels, FIXED.batch_size, device, True)
        try:
            getattr(student.module("evaluate"), function)(model, loader, device=device)
        except StudentError as exc:
            explain_device(exc, function, _MOVE)
            explain_batch(exc, function)
            raise


def _number(value: Any, what: str) -> float:
    if isinstance(value, torch.Tensor) and value.numel() == 1 and value.is_floating_point():
        return value.item()
    if isinstance(value, bool) or not isinstance(value, int | float):
        fail(f"{what} is {show(value)}; expected a number, a fraction in [0, 1]")
    return float(value)


@check(points=6, step="evaluate", slide=slides.EVALUATION)
@settings(max_examples=8)
@given(samples=samples_counts, batch_size=batch_sizes, classes=class_counts, seed=seeds)
@example(samples=11, batch_size=4, classes=3, seed=3)
def test_evaluate_accuracy_and_macro_f1(
    student: Any, device: str, samples: int, batch_size: int, classes: int, seed: int
) -> None:
    """evaluate returns {"accuracy": ..., "macro_f1": ...}, both fractions in [0, 1]"""
    # Verdict: the two numbers pulled across against accuracy and macro-F1 computed here from
    # logits and labels chosen here.
    assume(samples % batch_size)
    case = Case.generate(seed, samples, batch_size, classes)
    value, _ = run_student(student, device, case, "evaluate")
    if not isinstance(value, dict) or not {"accuracy", "macro_f1"} <= set(value):
        fail(f"evaluate returned {show(value)}; expected a dict with the keys 'accuracy' and 'macro_f1'")
    labels, predictions = case.labels, case.predictions
    expected = {"accuracy": accuracy(labels, predictions), "macro_f1": macro_f1(labels, predictions)}
    for key, want in expected.items():
        got = _number(value[key], f"evaluate(...)[{key!r}]")
        if abs(got - want) <= 1e-6:
            continue
        scores = f1_scores(labels, predictions)
        slips = {
            "a percentage: return a fraction in [0, 1]": 100 * want,
            "the micro-averaged F1 (which equals the accuracy): use average='macro'": accuracy(labels, predictions),
            "the F1 weighted by each class's support: use average='macro', each class counting the same": sum(
                f1 * support for f1, support in scores.values()
            )
            / len(labels),
            "the plain mean over the batches: compute it over all samples at once": sum(
                accuracy(y, logits.argmax(dim=1).tolist()) for logits, y in case.batches()
            )
            / len(case.batches()),
            "the last batch's only: collect every batch's predictions and labels first": accuracy(
                case.batches()[-1][1], case.batches()[-1][0].argmax(dim=1).tolist()
            ),
        }
        hint = next((slip for slip, candidate in slips.items() if abs(got - candidate) <= 1e-6), "")
        fail(
            f"evaluate(...)[{key!r}] is {got:.6g}; expected {want:.6g} for predictions {predictions} and labels "
            f"{labels} ({case.describe()})" + (f": it is {hint}" if hint else "")
        )
