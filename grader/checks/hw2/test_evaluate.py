"""Step 4 (Evaluation): ``predict`` and ``evaluate`` on a model whose logits are known.

The worker's reference model reads each sample's logits from a table chosen here (sample ``k``'s first id is
``k + 2``) and takes exactly ``forward(input_ids, attention_mask)``. It starts in training mode, as it would
right after training. Expected predictions, accuracy and macro-F1 are computed here, by their definitions, and
every verdict rests on what the student's function returns: the mode checks' reference model reorders its
classes in the wrong mode, so the mode shows in the predictions and the scores that come back. The probe that
builds the model and the loader runs in the worker and can be replaced; what the verdicts compare is what the
student's function returns, against values computed here.
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
from grader.sandbox.client import RemoteObject

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


def run_student(student: Any, device: str, case: Case, function: str, **model: Any) -> tuple[Any, Any]:
    """Call the student's ``evaluate.<function>(model, loader, device=device)``; its value and the model handle.

    ``model``: how the reference model differs from the plain lookup (``weight``, ``train_order``,
    ``grad_order``, see grader.probes.hw2.train.LookupModel). When the call used a batch it had not moved to
    the device, it runs again on the CPU without the device guard, so that this check still grades its own
    clause: moving batches is another check's.
    """
    try:
        return run_guarded(student, device, True, case, function, **model)
    except StudentError as exc:
        if DEVICE_MISMATCH not in exc.message:
            raise
    return run_guarded(student, "cpu", False, case, function, **model)


def run_guarded(student: Any, device: str, guard: bool, case: Case, function: str, **model: Any) -> tuple[Any, Any]:
    """:func:`run_student` with the device guard as ``guard`` says, and no second run.

    A device mismatch is raised as it came (the caller words it); any other error is explained first.
    """
    call = getattr(student.module("evaluate"), function)
    handle, loader = student.probe(_SETUP, case.logits, case.rows, case.labels, case.batch_size, device, guard, **model)
    try:
        return call(handle, loader, device=device), handle
    except StudentError as exc:
        if DEVICE_MISMATCH in exc.message and guard:
            raise
        explain_batch(exc, function)
        raise


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


def _modes_case() -> Case:
    """12 samples of 4 classes whose labels make each class order of the model give its own accuracy.

    A model that rolls the classes by k (``output[:, (j + k) % 4]``) predicts ``(argmax - k) % 4``; the
    labels are that for k = 0 at 6 samples, k = 1 at 3, k = 2 at 2 and k = 3 at 1, so the accuracy is 6, 3,
    2 or 1 in 12 and the predictions differ at every sample: what a wrong mode (k = 2 or 3) does shows in
    both.
    """
    logits = torch.randn(12, 4, generator=torch.Generator().manual_seed(11)) * 3
    shifts = torch.tensor([0, 1, 0, 2, 0, 1, 3, 0, 2, 0, 1, 0])
    labels = ((logits.argmax(dim=1) - shifts) % 4).tolist()
    return Case(logits, labels, batch_size=5, rows=[[k + 2] + [1] * (k % 3) for k in range(12)])


MODES = _modes_case()
#: Another model's weight (a mix of the classes: whatever a function makes of the model's output changes).
OTHER = torch.randn(4, 4, generator=torch.Generator().manual_seed(12))
#: The class orders of the reference models in the wrong mode.
IN_TRAIN_MODE, WITH_GRADIENTS = [2, 3, 0, 1], [3, 0, 1, 2]


def _result(value: Any, function: str) -> Any:
    """What ``function`` returned as plain, comparable data (a tensor as a list, floats to 9 decimals)."""
    if isinstance(value, RemoteObject):
        fail(f"{function} returned {value.type_name}, which stays in the worker: return plain values")
    if isinstance(value, torch.Tensor):
        return _result(value.tolist(), function)
    if isinstance(value, dict):
        return {key: _result(item, function) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_result(item, function) for item in value]
    if isinstance(value, float):
        return round(value, 9)
    return value


def _uses_model(student: Any, device: str, function: str, guard: bool | None = None) -> Any:
    """``function``'s result on MODES; a failure unless another model gives another result (it uses the model).

    ``guard``: None runs as :func:`run_student` does; True keeps the device guard without a second run.
    """

    def run(**model: Any) -> Any:
        if guard is None:
            return _result(run_student(student, device, MODES, function, **model)[0], function)
        return _result(run_guarded(student, device, guard, MODES, function, **model)[0], function)

    plain, other = run(), run(weight=OTHER)
    expect(
        plain != other,
        f"{function}(model, loader) returned {show(plain)} for two models whose outputs differ ({MODES.describe()}, "
        f"labels {MODES.labels}, then the same through another Linear layer): it does not use the model's output, "
        "output = model(**batch), so how it runs the model cannot be seen",
    )
    return plain


@check(points=2, step="evaluate", slide=slides.EVALUATION)
def test_predict_and_evaluate_use_eval_mode(student: Any, device: str) -> None:
    """predict and evaluate put the model in evaluation mode"""
    # Verdict: what predict and evaluate return (pulled across) for a reference model that reorders its
    # classes while in training mode, compared with what they return for the same model without that: equal
    # only when the model ran in eval mode. The result must depend on the model's output (another model,
    # another result), or nothing was seen.
    for function in FUNCTIONS:
        plain = _uses_model(student, device, function)
        modal = _result(run_student(student, device, MODES, function, train_order=IN_TRAIN_MODE)[0], function)
        expect(
            modal == plain,
            f"in {function}(model, loader), the model was in training mode: a model that behaves differently in "
            f"training mode gave {show(modal)} instead of {show(plain)}. Call model.eval() before the loop "
            "(dropout behaves differently in training mode)",
        )


@check(points=2, step="evaluate", slide=slides.EVALUATION)
def test_predict_and_evaluate_without_gradients(student: Any, device: str) -> None:
    """predict and evaluate run the model under torch.no_grad()"""
    # Verdict: as for the eval mode, with a reference model that reorders its classes while gradients are
    # tracked: the results pulled across must equal those of the model without that.
    for function in FUNCTIONS:
        plain = _uses_model(student, device, function)
        modal = _result(run_student(student, device, MODES, function, grad_order=WITH_GRADIENTS)[0], function)
        expect(
            modal == plain,
            f"in {function}(model, loader), gradients were being tracked: a model that behaves differently then "
            f"gave {show(modal)} instead of {show(plain)}. Run the loop inside `with torch.no_grad():`",
        )


@check(points=1, step="evaluate", slide=slides.EVALUATION)
def test_predict_and_evaluate_move_batches_to_device(student: Any, device: str) -> None:
    """predict and evaluate move each batch to `device` before the model sees it"""
    # Verdict: with the model refusing batches that are not on `device` (a real GPU, or the CPU runner's
    # guard), predict and evaluate return results that depend on the model's output (pulled across for two
    # models): the batches reached it. Nothing raising is not enough.
    for function in FUNCTIONS:
        try:
            _uses_model(student, device, function, guard=True)
        except StudentError as exc:
            explain_device(exc, function, _MOVE)
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
