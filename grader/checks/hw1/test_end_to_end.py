"""End to end: the student's whole pipeline learns scikit-learn's handwritten digits.

The digits are written here as 8x8 grayscale PNG files. A fifth of them is held out: which fifth, and a
little pixel noise on each held-out digit, are drawn from the grading key (grader.grading_key), so no
submission can reproduce them; they never reach the worker. The student's HandWrite, split, loaders,
MyModel, loss, optimizer and train run in the worker; then the trained parameters are pulled across and
the held-out logits are computed here, with the contract's Linear -> ReLU -> Linear (or the form the
model's own forward pass computes, see model_support.identify). The verdict rests on that accuracy, on the
parameters having moved from those MyModel started with (which must not already pass), and on finite
losses: a model's own forward pass, records or lookups in the worker count for nothing. The probes that
read the parameters (named_parameters) and one forward pass (outputs) can be replaced in the worker; they
only carry values, and parameters that classify digits the worker never saw come from training alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from grader.checks import DEVICE_MISMATCH, check, expect, explain_loss_arguments, fail, loss_number, show
from grader.checks.hw1 import slides
from grader.checks.hw1.digits_support import HeldOut, held_out, write_digits
from grader.checks.hw1.model_support import PROBE, Form, Layers, candidates, expect_weights, identify, shapes
from grader.errors import StudentError, SubmissionError

_BAR = 0.9
# Each epoch decodes every training PNG again, which is most of this check's time. With each pixel
# standardized (see features), 3 epochs are enough: see tests/benchmarks/e2e_margin.py for the margin over
# seeds and keys.
_EPOCHS = 3
_TRAIN_BATCH = 32
_EVAL_BATCH = 256
_LR = 5e-3
_WORD_TO_ID = {str(digit): digit for digit in range(10)}


@dataclass(frozen=True)
class Trained:
    """What the student's pipeline left: the model (in the worker) and, pulled across, what the verdict needs."""

    model: Any
    test_loader: Any
    losses: Any
    start: dict[str, torch.Tensor]
    end: dict[str, torch.Tensor]
    #: The model's own forward pass on :data:`_PROBE_X` after training (it says which network it computes).
    output: Any


#: An input the trained model's own forward pass is run on (not a digit): which network does it compute?
_PROBE_X = torch.randn(16, 64, generator=torch.Generator().manual_seed(5))


@check(points=10, step="end-to-end", slide=slides.PIPELINE)
def test_digits_pipeline_reaches_accuracy(student: Any, scratch: Path, device: str) -> None:
    """your pipeline learns the handwritten digits (at least 0.9 held-out accuracy)"""
    # Verdict: the held-out accuracy of the trained parameters, pulled across and run here on digits the
    # worker never sees (drawn from the grading key); the parameters must have moved from MyModel's initial
    # ones, which must not already reach the bar, and the losses train returns must be finite numbers.
    held = held_out()
    files = write_digits(scratch, held)
    try:
        run = train_pipeline(student, files, held, device, guard=True)
    except StudentError as exc:
        if DEVICE_MISMATCH not in exc.message:
            raise
        # Batches not moved to the device cost points in Steps 3 and 4; here only the learning counts.
        device = "cpu"
        run = train_pipeline(student, files, held, device, guard=False)
    call = f"train(model, train_loader, loss_fn, optimizer, {_EPOCHS}, device)"
    losses = _losses(run.losses, call)
    layers, form = _network(run)
    expect(
        any(not torch.equal(run.start[name], value) for name, value in run.end.items() if name in run.start),
        f"after {call} the parameters of MyModel(64, 64, 10) are those it started with: nothing was trained (the "
        f"losses train returned: {show(losses)}). train must run train_one_epoch, whose optimizer.step() updates "
        "the weights",
    )
    start = _accuracy(_start_layers(run, layers), form, held)
    expect(
        start < _BAR,
        f"MyModel(64, 64, 10) already classifies {start:.3f} of the held-out digits before any training: the "
        "grader measures what your pipeline learns, from MyModel's own (random) initial weights",
    )
    accuracy = _accuracy(layers, form, held)
    if accuracy >= _BAR:
        return
    try:
        with student.budget(60):
            own = own_accuracy(student.module("evaluate"), run.model, run.test_loader, device)
    except SubmissionError as exc:
        own = f"not available ({exc})"
    fail(
        f"after train(..., epochs={_EPOCHS}) on {len(files)} digit PNGs (HandWrite, "
        f"split_dataset(..., (0.8, 0.1, 0.1), seed=0), make_loaders(..., {_TRAIN_BATCH}, {_EVAL_BATCH}), "
        f"MyModel(64, 64, 10), build_loss('classification'), build_optimizer(model, 'adam', lr={_LR})), "
        f"your model's accuracy on {len(held.labels)} held-out digits is {accuracy:.3f}; at least {_BAR} is needed "
        f"(a correct pipeline reaches about 0.96). Losses per epoch: {show([round(x, 3) for x in losses])}; your "
        f"evaluate() on your test loader: {own}. If the losses do not go down, look at the training loop, the "
        "loss and the optimizer; if they do, look at the labels HandWrite reads and at how the splits are made"
    )


def _losses(value: Any, call: str) -> list[float]:
    """What train returned as the finite numbers it must be (a list of epoch losses; one number is taken too).

    A loss returned as a one-element tensor counts as the number it holds: that type is charged in Step 3
    (test_train), and this check is about what the pipeline learns.
    """
    values = list(value) if isinstance(value, list | tuple) else [value]
    numbers = [number for number in map(loss_number, values) if number is not None]
    expect(
        bool(numbers) and len(numbers) == len(values) and all(map(math.isfinite, numbers)),
        f"{call} returned {show(value)}: expected the loss of each epoch, finite numbers",
    )
    return numbers


def _network(run: Trained) -> tuple[Layers, Form]:
    """The trained parameters read as MyModel's two Linear layers, and the form its own forward pass computes."""
    layers = candidates(run.end, 64, 10)
    if not layers:
        fail(
            f"after training, MyModel(64, 64, 10) registers the parameters {shapes(run.end)}: expected the weights "
            "and biases of Linear(64, 64) and Linear(64, 10), from which the grader computes the held-out logits"
        )
    output = run.output
    match = identify(output, _PROBE_X, layers, atol=1e-4, rtol=1e-3) if isinstance(output, torch.Tensor) else None
    if match is None:
        fail(
            f"after training, MyModel(64, 64, 10)(x) gives {show(output, 200)}, which is not Linear -> ReLU -> Linear "
            f"of its registered parameters ({shapes(run.end)}): the grader computes the held-out logits from those "
            "parameters, so forward must use them as the contract says"
        )
    return match


def _start_layers(run: Trained, trained: Layers) -> Layers:
    """The initial parameters in the places the trained ones were read into (same names, same orientation)."""
    found = []
    for value in (trained.w1, trained.b1, trained.w2, trained.b2):
        for name, end in run.end.items():
            start = run.start.get(name)
            if start is None or start.shape != end.shape:
                continue
            if end.float().shape == value.shape and torch.equal(end.float(), value):
                found.append(start.float())
                break
            if end.dim() == 2 and end.float().T.shape == value.shape and torch.equal(end.float().T, value):
                found.append(start.float().T)
                break
        else:  # a bias the model does not have reads as zeros, before training as after
            found.append(value)
    return Layers(*found)


def _accuracy(layers: Layers, form: Form, held: HeldOut) -> float:
    """The fraction of held-out digits whose logits, computed here, have the label as their argmax."""
    with torch.no_grad():
        logits = layers.forward(held.features, form)
    return (logits.argmax(dim=1) == held.labels).double().mean().item()


def _unpack(value: Any, count: int, what: str) -> tuple[Any, ...]:
    """``value`` as the ``count`` things a function must return, or a failure saying what it returned."""
    if not isinstance(value, tuple | list) or len(value) != count:
        fail(f"{what} returned {show(value)}: expected {count} values")
    return tuple(value)


def _parameters(student: Any, model: Any, what: str) -> dict[str, torch.Tensor]:
    """The model's named parameters, pulled across (only values: the verdict is computed from them here)."""
    params = student.probe(f"{PROBE}:named_parameters", model)
    expect_weights(params, what)
    return params


def train_pipeline(student: Any, files: list[str], held: HeldOut, device: str, guard: bool) -> Trained:
    """Build the student's data, loaders, model, loss and optimizer, and train; what :class:`Trained` holds.

    The model and loss go on ``device`` before the optimizer is built; see grader.probes.device for ``guard``.
    """
    data, model_py, train_py = student.module("data"), student.module("model"), student.module("train")
    transform = student.probe(
        "grader.probes.hw1.train:digits_transform", torch.from_numpy(held.mean), torch.from_numpy(held.scale)
    )
    dataset = data.HandWrite(files, _WORD_TO_ID, transform=transform)
    split = "split_dataset(dataset, (0.8, 0.1, 0.1), seed=0)"
    trainset, valset, testset = _unpack(data.split_dataset(dataset, (0.8, 0.1, 0.1), seed=0), 3, split)
    loaders = data.make_loaders(trainset, valset, testset, _TRAIN_BATCH, _EVAL_BATCH)
    train_loader, _, test_loader = _unpack(loaders, 3, f"make_loaders(..., {_TRAIN_BATCH}, {_EVAL_BATCH})")
    model = model_py.MyModel(64, 64, 10)
    loss_fn = model_py.build_loss("classification")
    student.probe("grader.probes.hw1.train:pipeline_setup", model, loss_fn, train_loader, device, guard)
    start = _parameters(student, model, "MyModel(64, 64, 10).named_parameters()")
    optimizer = model_py.build_optimizer(model, "adam", lr=_LR)
    with student.budget(120):
        try:
            losses = train_py.train(model, train_loader, loss_fn, optimizer, _EPOCHS, device=device)
        except StudentError as exc:
            explain_loss_arguments(exc, "output", "y")
            raise
    end = _parameters(student, model, "the trained MyModel(64, 64, 10).named_parameters()")
    output = student.probe("grader.probes.hw1.train:outputs", model, _PROBE_X, device)
    return Trained(model, test_loader, losses, start, end, output)


def own_accuracy(evaluate_py: Any, model: Any, loader: Any, device: str) -> str:
    """The student's own evaluate() on its test loader, for information in the message."""
    value = evaluate_py.evaluate(model, loader, device=device)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:.3f}"
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        return f"{value.item():.3f}"
    return f"{show(value)} (not a number)"
