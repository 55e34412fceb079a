"""Step 4 (Evaluation): ``predict`` and ``evaluate`` on a model whose logits are known.

The worker's reference model maps each input to itself (an identity ``Linear``),
so the loader's ``x`` are logits chosen here. It starts in training mode, as it
would right after training. Expected predictions and accuracies are computed
here, and every verdict rests on what the student's function returns: the
mode checks' reference model reorders its classes in the wrong mode, so the
mode shows in the predictions and the accuracy that come back. The probe that builds the model and the
loader runs in the worker and can be replaced; what the verdicts compare is what the student's function
returns, against values computed here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from grader.checks import DEVICE_MISMATCH, check, expect, explain_device, fail, show
from grader.checks.hw1 import slides
from grader.errors import StudentError
from grader.sandbox.client import RemoteObject

_SETUP = "grader.probes.hw1.train:evaluation_setup"


@dataclass(frozen=True)
class Case:
    """Logits, labels and a batch size whose last batch is partial."""

    logits: torch.Tensor
    labels: torch.Tensor
    batch_size: int

    @classmethod
    def generate(cls, seed: int, samples: int, batch_size: int, classes: int) -> Case:
        """Logits from ``seed``; labels that agree with the argmax at some, but not all, samples."""
        gen = torch.Generator().manual_seed(seed)
        logits = torch.randn(samples, classes, generator=gen) * 3
        predicted = logits.argmax(dim=1)
        wrong = torch.rand(samples, generator=gen) < 0.5
        wrong[0], wrong[-1] = True, False
        shift = torch.randint(1, classes, (samples,), generator=gen)
        labels = torch.where(wrong, (predicted + shift) % classes, predicted)
        return cls(logits, labels, batch_size)

    @property
    def predictions(self) -> list[int]:
        """The argmax over classes of every sample."""
        return self.logits.argmax(dim=1).tolist()

    @property
    def accuracy(self) -> float:
        """The fraction of samples whose label is the argmax."""
        return (self.logits.argmax(dim=1) == self.labels).double().mean().item()

    def batches(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """The batches an unshuffled DataLoader yields."""
        return list(zip(self.logits.split(self.batch_size), self.labels.split(self.batch_size), strict=True))

    def describe(self) -> str:
        """The input in words, for messages."""
        sizes = ", ".join(str(len(y)) for _, y in self.batches())
        logits = str(torch.round(self.logits.double(), decimals=2).tolist())
        if len(logits) > 300:
            logits = logits[:297] + "..."
        return f"logits {logits} in unshuffled batches of {sizes}"


def run_student(student: Any, device: str, case: Case, function: str, **model: Any) -> Any:
    """The student's ``evaluate.<function>(model, loader, device=device)``, with the model on ``device``.

    ``model``: how the reference model differs from the identity (``weight``, ``train_order``,
    ``grad_order``, see grader.probes.hw1.train.ReferenceLinear). When the call used a batch it had not
    moved to the device, it runs again on the CPU without the device guard, so that this check still
    grades its own clause: moving batches is :func:`test_predict_and_evaluate_move_batches_to_device`'s.
    """
    try:
        return run_guarded(student, device, True, case, function, **model)
    except StudentError as exc:
        if DEVICE_MISMATCH not in exc.message:
            raise
    return run_guarded(student, "cpu", False, case, function, **model)


def run_guarded(student: Any, device: str, guard: bool, case: Case, function: str, **model: Any) -> Any:
    """:func:`run_student` with the device guard as ``guard`` says, and no second run."""
    call = getattr(student.module("evaluate"), function)
    model, loader = student.probe(_SETUP, case.logits, case.labels, case.batch_size, device, guard, **model)
    return call(model, loader, device=device)


def as_indices(value: Any) -> list[int]:
    """``predict``'s value as a list of ints, or a failure that says what is wrong with its type."""
    if isinstance(value, torch.Tensor):
        if value.dim() != 1 or value.is_floating_point() or value.dtype == torch.bool:
            fail(
                f"predict returned {show(value)}; expected a list of ints (or a 1-D integer tensor), one class "
                "index per sample"
            )
        return value.tolist()
    if isinstance(value, list | tuple) and all(type(item) is int for item in value):
        return list(value)
    if isinstance(value, list | tuple) and any(isinstance(item, torch.Tensor) for item in value):
        fail(
            f"predict returned a list of tensors {show(value)}; expected a flat list of ints: extend the list with "
            "pred.tolist() for each batch"
        )
    fail(f"predict returned {show(value)}; expected a list of ints, one class index per sample")


def diagnose_predictions(observed: list[int], case: Case) -> None:
    """Fail unless ``observed`` is the argmax over classes in loader order; name the likely slip."""
    expected = case.predictions
    if observed == expected:
        return
    over_batch = [i for x, _ in case.batches() for i in x.argmax(dim=0).tolist()]
    if observed == over_batch:
        fail(
            f"predict took the argmax over dim=0 (over the samples of a batch) for {case.describe()}: take it over "
            f"the classes, output.argmax(dim=1). Expected {expected}, got {observed}"
        )
    last = case.batches()[-1][0].argmax(dim=1).tolist()
    if observed == last:
        fail(
            f"predict returned only the last batch's predictions {observed} for {case.describe()}: collect every "
            f"batch's. Expected {expected}"
        )
    if len(observed) != len(expected):
        fail(
            f"predict returned {len(observed)} predictions for {len(expected)} samples ({case.describe()}): "
            f"expected {expected}, got {observed}"
        )
    first = next(i for i, (a, b) in enumerate(zip(observed, expected, strict=True)) if a != b)
    fail(
        f"predict returned {observed}; expected the argmax over classes of each sample in loader order, {expected} "
        f"(first difference at sample {first}) for {case.describe()}"
    )


FIXED = Case.generate(seed=3, samples=11, batch_size=4, classes=3)

# More than one batch, the last one partial: where the slips in batching show.
samples_counts = st.integers(3, 16)
batch_sizes = st.integers(2, 5)
class_counts = st.integers(2, 5)
seeds = st.integers(0, 2**16)


@check(points=3, step="evaluate", slide=slides.EVALUATION)
@settings(max_examples=15)
@given(samples=samples_counts, batch_size=batch_sizes, classes=class_counts, seed=seeds)
@example(samples=6, batch_size=4, classes=3, seed=0)
def test_predict_argmax_in_order(
    student: Any, device: str, samples: int, batch_size: int, classes: int, seed: int
) -> None:
    """predict returns the argmax over classes of every sample, in loader order"""
    # Verdict: the predictions pulled across against the argmax of the logits, computed here.
    assume(samples > batch_size and samples % batch_size)
    case = Case.generate(seed, samples, batch_size, classes)
    value = run_student(student, device, case, "predict")
    diagnose_predictions(as_indices(value), case)


#: Both run the model the same way (evaluate compares predict's predictions with the labels).
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
    return Case(logits, (logits.argmax(dim=1) - shifts) % 4, batch_size=5)


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
        return value.tolist()
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
            return _result(run_student(student, device, MODES, function, **model), function)
        return _result(run_guarded(student, device, guard, MODES, function, **model), function)

    plain, other = run(), run(weight=OTHER)
    expect(
        plain != other,
        f"{function}(model, loader) returned {show(plain)} for two models whose outputs differ ({MODES.describe()}, "
        f"labels {MODES.labels.tolist()}, then the same through another Linear layer): it does not use the model's "
        "output, output = model(x), so how it runs the model cannot be seen",
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
        modal = _result(run_student(student, device, MODES, function, train_order=IN_TRAIN_MODE), function)
        expect(
            modal == plain,
            f"in {function}(model, loader), the model was in training mode: a model that behaves differently in "
            f"training mode gave {show(modal)} instead of {show(plain)}. Call model.eval() before the loop "
            "(dropout and batch norm behave differently in training mode)",
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
            explain_device(exc, function, "x = x.to(device) before output = model(x)")
            raise


@check(points=1, step="evaluate", slide=slides.EVALUATION)
def test_predict_and_evaluate_without_gradients(student: Any, device: str) -> None:
    """predict and evaluate run the model under torch.no_grad()"""
    # Verdict: as for the eval mode, with a reference model that reorders its classes while gradients are
    # tracked: the results pulled across must equal those of the model without that.
    for function in FUNCTIONS:
        plain = _uses_model(student, device, function)
        modal = _result(run_student(student, device, MODES, function, grad_order=WITH_GRADIENTS), function)
        expect(
            modal == plain,
            f"in {function}(model, loader), gradients were being tracked: a model that behaves differently then "
            f"gave {show(modal)} instead of {show(plain)}. Run the loop inside `with torch.no_grad():`",
        )


@check(points=3, step="evaluate", slide=slides.EVALUATION)
@settings(max_examples=15)
@given(samples=samples_counts, batch_size=batch_sizes, classes=class_counts, seed=seeds)
@example(samples=11, batch_size=4, classes=3, seed=3)
def test_evaluate_returns_accuracy_fraction(
    student: Any, device: str, samples: int, batch_size: int, classes: int, seed: int
) -> None:
    """evaluate returns the accuracy as a fraction in [0, 1]"""
    # Verdict: the number pulled across against the accuracy of the logits and labels, computed here.
    assume(samples > batch_size and samples % batch_size)
    case = Case.generate(seed, samples, batch_size, classes)
    value = run_student(student, device, case, "evaluate")
    if isinstance(value, torch.Tensor) and value.dim() == 0 and value.is_floating_point():
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, int | float):
        fail(f"evaluate returned {show(value)}; expected the accuracy as a number (a fraction in [0, 1])")
    expected = case.accuracy
    if abs(value - expected) <= 1e-6:
        return
    if abs(value - 100 * expected) <= 1e-4:
        fail(
            f"evaluate returned {value:g}, a percentage; return the accuracy as a fraction in [0, 1], here "
            f"{expected:.6g}"
        )
    correct = round(expected * len(case.labels))
    if value == correct:
        fail(
            f"evaluate returned {value:g}, the number of correct predictions; divide by the number of samples "
            f"({len(case.labels)}) to get the accuracy {expected:.6g}"
        )
    hits = [(x.argmax(dim=1) == y).double() for x, y in case.batches()]
    if abs(value - hits[-1].mean().item()) <= 1e-6:
        fail(
            f"evaluate returned {value:.6g}, the accuracy of the last batch only; expected {expected:.6g} over all "
            f"{len(case.labels)} samples ({case.describe()}, labels {case.labels.tolist()})"
        )
    if abs(value - torch.stack([h.mean() for h in hits]).mean().item()) <= 1e-6:
        fail(
            f"evaluate returned {value:.6g}, the plain mean of the batch accuracies; expected {expected:.6g}, the "
            "fraction of all samples predicted right (the last batch is shorter)"
        )
    fail(
        f"evaluate returned {value:.6g}; expected the accuracy {expected:.6g} ({correct} of {len(case.labels)} "
        f"samples have the argmax as their label) for {case.describe()}, labels {case.labels.tolist()}"
    )
