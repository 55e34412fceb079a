"""Helpers of the Step 3 (Training) checks: the reference setup in the worker and the epochs replayed here.

The student's functions train a reference ``Linear`` model built in the worker (never the student's own
MyModel, loss or optimizer), over an unshuffled loader, with ``nn.CrossEntropyLoss`` and ``SGD``. This
process replays the same epochs with its own copy of the model (:func:`replay`), correctly and with the
usual mistakes, and compares the weights and losses pulled across after the student's call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from grader.checks import DEVICE_MISMATCH, fail, optimizers, show
from grader.errors import StudentError

SETUP = "grader.probes.hw1.train:training_setup"
STATE = "grader.probes.hw1.train:state"
_TOLERANCE = {"atol": 1e-5, "rtol": 1e-4}
MOVE = "x, y = x.to(device), y.to(device)"
#: What the mode check's reference model multiplies its output by in eval mode.
EVAL_SCALE = 0.5

# What the weights look like after one epoch with each common mistake, and what to tell the student.
WEIGHT_MISTAKES = {
    "frozen": "the weights did not change during the epoch: optimizer.step() or loss.backward() is missing "
    "(or optimizer.step() runs before loss.backward(), when there is no gradient yet)",
    "accumulate": "gradients accumulate across batches: optimizer.zero_grad() is missing from the loop "
    "(call it once per batch, before loss.backward(), not once before the loop)",
    "lagged": "each update used the previous batch's gradients: optimizer.step() runs before loss.backward() "
    "in the loop",
    "step_once": "the weights were updated once per epoch with the gradients of all batches summed: "
    "optimizer.step() and optimizer.zero_grad() belong inside the loop, once per batch",
    "step_once_last": "the weights were updated once per epoch with the last batch's gradients only: "
    "optimizer.step() belongs inside the loop, once per batch",
}


@dataclass(frozen=True)
class Case:
    """A reference model's starting weights and the data of one training run."""

    weight: torch.Tensor
    bias: torch.Tensor
    x: torch.Tensor
    y: torch.Tensor
    batch_size: int
    lr: float = 0.1

    @classmethod
    def generate(cls, seed: int, samples: int, batch_size: int, features: int = 4, classes: int = 3) -> Case:
        """A case drawn from ``seed`` alone."""
        gen = torch.Generator().manual_seed(seed)
        return cls(
            weight=torch.randn(classes, features, generator=gen) * 0.5,
            bias=torch.randn(classes, generator=gen) * 0.5,
            x=torch.randn(samples, features, generator=gen),
            y=torch.randint(0, classes, (samples,), generator=gen),
            batch_size=batch_size,
        )

    def batches(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """The batches an unshuffled DataLoader yields."""
        return list(zip(self.x.split(self.batch_size), self.y.split(self.batch_size), strict=True))

    def describe(self) -> str:
        """The setup in words, for messages."""
        sizes = ", ".join(str(len(y)) for _, y in self.batches())
        classes, features = self.weight.shape
        return (
            f"a Linear({features}, {classes}) with CrossEntropyLoss and SGD(lr={self.lr}), {len(self.y)} sample(s) "
            f"in unshuffled batches of {sizes}"
        )


@dataclass(frozen=True)
class Batch:
    """One batch of a replayed epoch: its loss before and after the update, and its size."""

    before: float
    after: float
    size: int


@dataclass(frozen=True)
class Run:
    """A replayed training run: final weights and, per epoch, its batches."""

    state: dict[str, torch.Tensor]
    epochs: list[list[Batch]]

    def epoch_loss(self, epoch: int) -> float:
        """The contract's epoch loss: batch losses weighted by batch size."""
        batches = self.epochs[epoch]
        return sum(b.before * b.size for b in batches) / sum(b.size for b in batches)


def replay(case: Case, epochs: int = 1, mistake: str | None = None, scale: float = 1.0) -> Run:
    """Train a trusted copy of the reference model, correctly or with one of ``WEIGHT_MISTAKES``.

    ``scale`` multiplies the model's output, as the mode check's reference model does in eval mode.
    """
    classes, features = case.weight.shape
    model = nn.Linear(features, classes)
    with torch.no_grad():
        model.weight.copy_(case.weight)
        model.bias.copy_(case.bias)
    optimizer = optimizers.SGD(model.parameters(), lr=case.lr)
    loss_fn = nn.CrossEntropyLoss()
    history = []
    for _ in range(epochs):
        batches = []
        for x, y in case.batches():
            if mistake == "lagged":
                optimizer.step()
            if mistake not in ("accumulate", "step_once"):
                optimizer.zero_grad()
            loss = loss_fn(model(x) * scale, y)
            if mistake != "frozen":
                loss.backward()
            if mistake in (None, "accumulate"):
                optimizer.step()
            with torch.no_grad():
                after = loss_fn(model(x) * scale, y).item()
            batches.append(Batch(loss.item(), after, len(y)))
        if mistake in ("step_once", "step_once_last"):
            optimizer.step()
        history.append(batches)
    state = {f"linear.{name}": value.detach().clone() for name, value in model.state_dict().items()}
    return Run(state, history)


def same_weights(observed: dict[str, Any], expected: dict[str, torch.Tensor]) -> bool:
    """Whether the weights read from the worker equal ``expected`` within float32 tolerance."""
    return set(observed) == set(expected) and all(
        isinstance(observed[name], torch.Tensor)
        and observed[name].shape == value.shape
        and torch.allclose(observed[name].double(), value.double(), **_TOLERANCE)
        for name, value in expected.items()
    )


def close(observed: float, expected: float) -> bool:
    """Float32-tolerant equality of two losses."""
    return abs(observed - expected) <= _TOLERANCE["atol"] + _TOLERANCE["rtol"] * abs(expected)


def rounded(value: Any) -> str:
    """A tensor or a list of floats rounded to 4 decimals (in float64: no float32 digits of noise)."""
    if isinstance(value, torch.Tensor) and value.is_floating_point():
        return str(torch.round(value.double(), decimals=4).tolist())
    if isinstance(value, list) and all(isinstance(item, float) for item in value):
        return str([round(item, 4) for item in value])
    return show(value)


def weights_after(observed: dict[str, Any], case: Case) -> str:
    """What a call did to the weights, in words: left them as they were, or changed them to what."""
    if same_weights(observed, replay(case, epochs=0).state):
        return "left the weights as they were"
    return "changed the weights to " + "; ".join(f"{name} {rounded(value)}" for name, value in observed.items())[:400]


def weight_difference(observed: dict[str, Any], expected: dict[str, torch.Tensor]) -> str:
    """Expected vs observed for the first parameter that differs."""
    for name, value in expected.items():
        got = observed.get(name)
        if not (
            isinstance(got, torch.Tensor)
            and got.shape == value.shape
            and torch.allclose(got.double(), value.double(), **_TOLERANCE)
        ):
            return f"{name} should be {rounded(value)} but is {rounded(got)}"
    return f"the parameters should be {sorted(expected)} but are {sorted(observed)}"


def run_student(
    student: Any, device: str, case: Case, call: Callable[..., Any], eval_scale: float = 1.0, **kwargs: Any
) -> tuple[Any, dict[str, Any], Any]:
    """Call ``call(model, loader, loss_fn, optimizer, ..., device=device)`` on a fresh reference setup.

    The setup lives in the worker, its model and loss on ``device`` (the model's output times
    ``eval_scale`` in eval mode). Returns what the call returned, the model's weights afterwards and the
    model handle. When the call used a batch it had not moved to the device, it runs again on the CPU
    without the device guard, so that this check still grades its own clause: moving batches is
    :func:`test_one_epoch_moves_batches_to_device`'s.
    """
    try:
        return run_guarded(student, device, True, case, call, eval_scale, **kwargs)
    except StudentError as exc:
        if DEVICE_MISMATCH not in exc.message:
            raise
    return run_guarded(student, "cpu", False, case, call, eval_scale, **kwargs)


def run_guarded(
    student: Any,
    device: str,
    guard: bool,
    case: Case,
    call: Callable[..., Any],
    eval_scale: float = 1.0,
    **kwargs: Any,
) -> tuple[Any, dict[str, Any], Any]:
    model, loader, loss_fn, optimizer = student.probe(
        SETUP, case.weight, case.bias, case.x, case.y, case.batch_size, case.lr, device, guard, eval_scale
    )
    try:
        value = call(model, loader, loss_fn, optimizer, **kwargs, device=device)
    except StudentError:
        explain_loss_order(loss_fn)
        raise
    return value, student.probe(STATE, model), model


def explain_loss_order(loss_fn: Any) -> None:
    """Fail with the slide's slip named if ``loss_fn`` received the labels first.

    Only after the student's call raised: the record lives in the worker, so it words the failure, it
    never makes a check pass.
    """
    calls = loss_fn.calls
    if not isinstance(calls, list):
        return
    for call in calls:
        if not (isinstance(call, tuple) and len(call) == 2 and isinstance(call[1], tuple)):
            return
        is_float, shape = call
        if not is_float or len(shape) != 2:
            fail(
                f"loss_fn was called with the labels first (its first argument had shape {tuple(shape)}"
                f"{'' if is_float else ' and an integer dtype'}); write loss_fn(output, y): the prediction first, "
                "the gold labels second (the slide's loss_function(gold, output) has them swapped)"
            )


def epoch_loss_value(value: Any, what: str) -> float:
    """``value`` as the float an epoch must return, or a failure that says what is wrong with its type."""
    if isinstance(value, torch.Tensor):
        fail(
            f"{what} is a tensor, tensor({rounded(value)}), not a Python float: add up loss.item() * batch size "
            "and return a float"
        )
    if not isinstance(value, int | float) or isinstance(value, bool):
        fail(f"{what} must be the epoch's mean loss as a Python float, got {show(value)}")
    return float(value)


def diagnose_weights(observed: dict[str, Any], case: Case) -> None:
    """Fail unless the student's weights after one epoch equal the reference; name the mistake that matches."""
    correct = replay(case)
    if same_weights(observed, correct.state):
        return
    for mistake, message in WEIGHT_MISTAKES.items():
        if same_weights(observed, replay(case, mistake=mistake).state):
            fail(
                f"after one epoch of train_one_epoch ({case.describe()}) {message}. "
                f"{weight_difference(observed, correct.state)}"
            )
    fail(
        f"after one epoch of train_one_epoch ({case.describe()}) the weights differ from one SGD update per "
        f"batch (zero_grad, output = model(x), loss_fn(output, y), backward, step): "
        f"{weight_difference(observed, correct.state)}"
    )


def loss_slips(run: Run, case: Case) -> list[tuple[float, str]]:
    """The value an epoch's loss takes with each usual slip in adding it up, and what to tell the student."""
    batches = run.epochs[0]
    samples, count = sum(b.size for b in batches), len(batches)
    return [
        (
            sum(b.before for b in batches) / count,
            "the plain mean of the batch losses: weight each batch's loss "
            "by its batch size (a short last batch counts less)",
        ),
        (
            sum(b.before for b in batches),
            "the sum of the batch losses: weight each by its batch size and divide by the number of samples",
        ),
        (sum(b.before * b.size for b in batches), "the sum of loss x batch size: divide it by the number of samples"),
        (
            sum(b.before * b.size for b in batches) / (count * case.batch_size),
            "divided by number of batches x batch size: divide by the number of samples (the last batch is shorter)",
        ),
        (
            sum(b.before for b in batches) / samples,
            "the sum of batch mean losses divided by the number of samples: "
            "multiply each batch's loss by its batch size first",
        ),
        (batches[-1].before, "the last batch's loss only: add up loss.item() * batch size over all batches"),
        (
            sum(b.after * b.size for b in batches) / samples,
            "losses computed after optimizer.step(): report the loss computed before the update",
        ),
    ]


def diagnose_loss(value: float, run: Run, case: Case) -> None:
    """Fail unless ``value`` is the weighted mean loss of ``run``'s epoch; name the likely slip."""
    batches = run.epochs[0]
    expected = run.epoch_loss(0)
    if close(value, expected):
        return
    for candidate, slip in loss_slips(run, case):
        if close(value, candidate):
            fail(
                f"train_one_epoch returned {value:.6g}, which is {slip}; expected the weighted mean "
                f"{expected:.6g} (sum of loss.item() * batch size / number of samples) for {case.describe()}"
            )
    losses = ", ".join(f"{b.before:.4f} (batch of {b.size})" for b in batches)
    fail(
        f"train_one_epoch returned {value:.6g}; expected {expected:.6g}, the weighted mean of the batch losses "
        f"{losses} (sum of loss.item() * batch size / number of samples) for {case.describe()}"
    )


def trained(
    value: Any, observed: dict[str, Any], case: Case, scales: tuple[float, ...] = (1.0,), epochs: range = range(1, 2)
) -> tuple[int, str | None, float] | None:
    """``(epochs, mistake, scale)`` of a replayed run that ends with the weights ``observed`` and returns ``value``.

    The usual mistakes count (they are other checks' business); where the weights never move (``frozen``),
    the returned losses must be that run's, as only passing the batches through the model gives them. None
    when no replay fits: the call did not train on the batches.
    """
    values = list(value) if isinstance(value, list | tuple) else [value]
    losses = [float(item) for item in values if isinstance(item, int | float) and not isinstance(item, bool)]
    for scale in scales:
        for mistake in (None, *WEIGHT_MISTAKES):
            for count in epochs:
                run = replay(case, count, mistake, scale)
                if not same_weights(observed, run.state):
                    continue
                if mistake != "frozen":
                    return count, mistake, scale
                candidates = [run.epoch_loss(0), *(candidate for candidate, _ in loss_slips(run, case))]
                if losses and len(losses) == len(values) and all(any(close(x, c) for c in candidates) for x in losses):
                    return count, mistake, scale
    return None
