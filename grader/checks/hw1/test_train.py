"""Step 3 (Training): ``train_one_epoch`` and ``train``, verified by recomputation.

The student's functions train a reference model in the worker (see :mod:`train_support`); this process
replays the same epochs and compares the weights and the losses pulled across after the call; when they
differ, it replays the usual mistakes too and names the one that matches. Every verdict rests on those
two values: the mode check's reference model halves its output in eval mode, so the mode shows in them;
the device checks' model refuses batches until they reach the device, so a right result shows they did.
The probes that build the setup and read the weights run in the worker and can be replaced; a replaced
one would have to hand back the weights of the replayed epochs, which only training on the batches gives.
"""

from __future__ import annotations

from typing import Any

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from grader.checks import DEVICE_MISMATCH, check, expect, explain_device, fail, loss_number, show
from grader.checks.hw1 import slides
from grader.checks.hw1.train_support import (
    EVAL_SCALE,
    MOVE,
    SETUP,
    STATE,
    WEIGHT_MISTAKES,
    Case,
    close,
    diagnose_loss,
    diagnose_weights,
    epoch_loss_value,
    replay,
    rounded,
    run_guarded,
    run_student,
    same_weights,
    trained,
    weight_difference,
    weights_after,
)
from grader.errors import StudentError

FIXED = Case.generate(seed=7, samples=10, batch_size=4)


@check(points=5, step="train", slide=slides.TRAINING)
def test_one_epoch_updates_weights(student: Any, device: str) -> None:
    """train_one_epoch updates the weights with zero_grad, forward, loss, backward and step per batch"""
    # Verdict: the weights after the epoch, pulled across, against the epoch replayed here.
    train_one_epoch = student.module("train").train_one_epoch
    _, observed, _ = run_student(student, device, FIXED, train_one_epoch)
    diagnose_weights(observed, FIXED)


@check(points=4, step="train", slide=slides.TRAINING)
def test_one_epoch_returns_weighted_mean_loss(student: Any, device: str) -> None:
    """train_one_epoch returns the mean loss per sample as a float"""
    # Verdict: the value returned against the epoch's weighted mean loss replayed here, along the weight
    # trajectory the pulled weights show.
    train_one_epoch = student.module("train").train_one_epoch
    value, observed, _ = run_student(student, device, FIXED, train_one_epoch)
    loss = epoch_loss_value(value, "the value train_one_epoch returned")
    # The expected losses are those along the student's own weight trajectory, so that a wrong update
    # (charged by test_one_epoch_updates_weights) does not cost these points too.
    run = replay(FIXED)
    for mistake in (None, *WEIGHT_MISTAKES):
        candidate = replay(FIXED, mistake=mistake)
        if same_weights(observed, candidate.state):
            run = candidate
            break
    diagnose_loss(loss, run, FIXED)


@check(points=2, step="train", slide=slides.TRAINING)
def test_one_epoch_uses_train_mode(student: Any, device: str) -> None:
    """train_one_epoch puts the model in training mode"""
    # Verdict: the weights and the loss, pulled across, against the epoch replayed here in train mode and in
    # eval mode, where this check's reference model halves its output (it starts in eval mode). Passes only
    # when they are those of a train-mode epoch (with any of the usual mistakes: those are other checks').
    train_one_epoch = student.module("train").train_one_epoch
    value, observed, _ = run_student(student, device, FIXED, train_one_epoch, eval_scale=EVAL_SCALE)
    found = trained(value, observed, FIXED, scales=(1.0, EVAL_SCALE))
    if found is None:
        fail(
            f"train_one_epoch returned {rounded(value)} and {weights_after(observed, FIXED)} for "
            f"{FIXED.describe()}: no epoch over those batches gives these, so the mode the model ran in cannot "
            "be seen (the other checks of train_one_epoch say what is wrong)"
        )
    expect(
        found[2] == 1.0,
        "the model was in evaluation mode during the epoch (its weights and loss are those of a model that "
        "scales its output as it does in eval mode): call model.train() at the start of train_one_epoch (the "
        "model may arrive in eval mode, e.g. after evaluation)",
    )


@check(points=2, step="train", slide=slides.TRAINING)
def test_one_epoch_moves_batches_to_device(student: Any, device: str) -> None:
    """train_one_epoch moves each batch to `device` before the model and the loss see it"""
    # Verdict: with the model and loss refusing batches that are not on `device` (a real GPU, or the CPU
    # runner's guard), the weights and loss pulled across are those of an epoch over the batches, replayed
    # here: the batches reached the model. Nothing raising is not enough.
    train_one_epoch = student.module("train").train_one_epoch
    try:
        value, observed, _ = run_guarded(student, device, True, FIXED, train_one_epoch)
    except StudentError as exc:
        explain_device(exc, "train_one_epoch", MOVE)
        raise
    expect(
        trained(value, observed, FIXED) is not None,
        f"train_one_epoch(model, loader, loss_fn, optimizer, device={device!r}) returned {rounded(value)} and "
        f"{weights_after(observed, FIXED)} for {FIXED.describe()}: no epoch over those batches gives these, so "
        "whether the batches reached the model on `device` cannot be seen",
    )


@check(points=3, step="train", slide=slides.TRAINING)
@settings(max_examples=10)
@given(
    samples=st.integers(1, 12),
    batch_size=st.integers(1, 5),
    features=st.integers(1, 4),
    classes=st.integers(2, 4),
    seed=st.integers(0, 2**16),
)
def test_one_epoch_any_sizes(
    student: Any, device: str, samples: int, batch_size: int, features: int, classes: int, seed: int
) -> None:
    """train_one_epoch matches the reference for any data size and batch size"""
    # Verdict: the weights and the loss pulled across, against the epoch replayed here, for any sizes.
    case = Case.generate(seed, samples, batch_size, features, classes)
    train_one_epoch = student.module("train").train_one_epoch
    value, observed, _ = run_student(student, device, case, train_one_epoch)
    diagnose_weights(observed, case)
    diagnose_loss(epoch_loss_value(value, "the value train_one_epoch returned"), replay(case), case)


@check(points=3, step="train", slide=slides.TRAINING)
def test_train_returns_one_loss_per_epoch(student: Any, device: str) -> None:
    """train runs `epochs` epochs and returns each epoch's loss in order"""
    # Verdict: the weights and the list of losses, pulled across, against `epochs` epochs replayed here (or,
    # when train_one_epoch is wrong, against the student's own train_one_epoch called `epochs` times).
    epochs = 3
    module = student.module("train")
    value, observed, _ = run_student(student, device, FIXED, module.train, epochs=epochs)
    what = f"train(model, loader, loss_fn, optimizer, epochs={epochs})"
    if not isinstance(value, list | tuple):
        fail(f"{what} must return a list of {epochs} floats (one loss per epoch), got {show(value)}")
    items = list(value)
    if any(isinstance(item, torch.Tensor) for item in items) and epoch_returns_tensor(student, device, module):
        # train returns what train_one_epoch gives it: a tensor there is train_one_epoch's bug, charged by its
        # own checks (test_one_epoch_returns_weighted_mean_loss); here each counts as the number it holds.
        items = [item if loss_number(item) is None else loss_number(item) for item in items]
    losses = [epoch_loss_value(item, f"an item of the list {what} returned") for item in items]

    reference = replay(FIXED, epochs=epochs)
    expected_losses = [reference.epoch_loss(epoch) for epoch in range(epochs)]
    expected_state = reference.state
    if not (
        same_weights(observed, expected_state) and len(losses) == epochs and all(map(close, losses, expected_losses))
    ):
        # A train that is right on top of a wrong train_one_epoch loses no points here: the student's own
        # train_one_epoch, called `epochs` times, is the other accepted answer, once it is seen to do
        # something to the model (a train_one_epoch that does nothing would make a do-nothing train right).
        own = own_epochs(student, device, module.train_one_epoch, epochs)
        if own is not None and (
            not same_weights(own[1], replay(FIXED, epochs=0).state)
            or trained(own[0], own[1], FIXED, epochs=range(epochs, epochs + 1)) is not None
        ):
            expected_losses, expected_state = own

    if not same_weights(observed, expected_state):
        for count in range(2 * epochs + 1):
            if count != epochs and same_weights(observed, replay(FIXED, epochs=count).state):
                fail(
                    f"after {what} the weights are those after {count} epoch(s): run train_one_epoch exactly "
                    f"`epochs` times"
                )
        fail(f"after {what} on {FIXED.describe()}, {weight_difference(observed, expected_state)}")
    expect(
        len(losses) == epochs,
        f"{what} returned {len(losses)} values {rounded(losses)}; expected {epochs}, one loss per epoch "
        f"({rounded(expected_losses)})",
    )
    expect(
        all(map(close, losses, expected_losses)),
        f"{what} returned {rounded(losses)}; expected each epoch's loss in order: {rounded(expected_losses)}",
    )


def own_epochs(
    student: Any, device: str, train_one_epoch: Any, epochs: int
) -> tuple[list[float], dict[str, Any]] | None:
    """The losses and final weights of the student's own train_one_epoch called ``epochs`` times, if it works.

    Like :func:`run_student`, on the CPU without the device guard when a batch was not moved.
    """
    for where, guard in ((device, True), ("cpu", False)):
        model, loader, loss_fn, optimizer = student.probe(
            SETUP, FIXED.weight, FIXED.bias, FIXED.x, FIXED.y, FIXED.batch_size, FIXED.lr, where, guard
        )
        values = []
        try:
            for _ in range(epochs):
                value = loss_number(train_one_epoch(model, loader, loss_fn, optimizer, device=where))
                if value is None:
                    return None
                values.append(value)
        except StudentError as exc:
            if DEVICE_MISMATCH in exc.message:
                continue
            return None
        return values, student.probe(STATE, model)
    return None


def epoch_returns_tensor(student: Any, device: str, module: Any) -> bool:
    """Whether the student's train_one_epoch returns a tensor (the epoch's loss as ``loss``, not a float)."""
    try:
        value, _, _ = run_student(student, device, FIXED, module.train_one_epoch)
    except StudentError:
        return False
    return isinstance(value, torch.Tensor)


@check(points=1, step="train", slide=slides.TRAINING)
def test_train_passes_device_on(student: Any, device: str) -> None:
    """train passes its `device` on to train_one_epoch"""
    # Verdict: train(..., device=D) runs with the model refusing batches that are not on D, where D is a
    # device that train_one_epoch's default ("cpu") is not: the runner's GPU, or "cpu:0" on a CPU runner. The
    # weights and losses pulled across must be those of epochs over the batches, replayed here.
    target = device if torch.device(device).type != "cpu" else "cpu:0"
    module, epochs = student.module("train"), 2
    try:
        run_guarded(student, target, True, FIXED, module.train_one_epoch)
    except StudentError as exc:
        if DEVICE_MISMATCH not in exc.message:
            raise
        fail(
            f"train_one_epoch(..., device={target!r}) does not move each batch to the device it is given ({MOVE}), "
            "so whether train passes its device on cannot be seen"
        )
    call = f"train(model, loader, loss_fn, optimizer, epochs={epochs}, device={target!r})"
    try:
        value, observed, _ = run_guarded(student, target, True, FIXED, module.train, epochs=epochs)
    except StudentError as exc:
        if DEVICE_MISMATCH not in exc.message:
            raise
        fail(
            f"{call} trained on batches that never reached {target!r}, although train_one_epoch moves them when it "
            "is given the device: train must pass its device on, train_one_epoch(model, train_loader, loss_fn, "
            f"optimizer, device). Without it every epoch runs on train_one_epoch's default 'cpu' ({exc.message})"
        )
    expect(
        trained(value, observed, FIXED, epochs=range(1, 2 * epochs + 1)) is not None,
        f"{call} returned {rounded(value)} and {weights_after(observed, FIXED)} for {FIXED.describe()}: no run of "
        "epochs over those batches gives these, so whether train passes its device on cannot be seen",
    )
