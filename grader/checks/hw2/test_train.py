"""Step 3 (Training): an epoch over dict batches with ``output = model(**batch)``, verified by recomputation.

The student's ``train_one_epoch`` and ``train`` train a reference bag-of-embeddings model built in the worker
(never the student's own TextClassifier), over an unshuffled loader of dict batches padded by the grader,
with ``nn.CrossEntropyLoss`` and ``SGD``. The model's ``forward(input_ids, attention_mask)`` takes exactly the
batch's inputs, as the contract's does. This process replays the epochs with its own copy of the model
(gradient clipping included) and compares the weights and the reported losses; when they differ, it replays
the usual mistakes too and names the one that matches. Every verdict rests on those two values, pulled across
after the call: the mode check's reference model halves its output in eval mode, so the mode shows in them;
the device checks' model refuses batches until they reach the device, so a right result shows they did. The
probes that build the setup and read the weights run in the worker and can be replaced; a replaced one would
have to hand back the weights of the replayed epochs, which only training on the batches gives.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from grader.checks import DEVICE_MISMATCH, check, expect, explain_device, fail, loss_number, optimizers, show
from grader.checks.hw2 import reference, slides
from grader.checks.hw2.support import explain_batch
from grader.errors import StudentError

_SETUP = "grader.probes.hw2.train:training_setup"
_STATE = "grader.probes.hw2.train:state"
_TOLERANCE = {"atol": 1e-5, "rtol": 1e-4}
_MOVE = "batch = {key: value.to(device) for key, value in batch.items()}"
#: What the mode check's reference model multiplies its output by in eval mode.
_EVAL_SCALE = 0.5

_WEIGHT_MISTAKES = {
    "frozen": "the weights did not change during the epoch: optimizer.step() or loss.backward() is missing",
    "accumulate": "gradients accumulate across batches: optimizer.zero_grad() is missing from the loop "
    "(call it once per batch, before loss.backward())",
    "lagged": "each update used the previous batch's gradients: optimizer.step() runs before loss.backward()",
    "step_once": "the weights were updated once per epoch with the gradients of all batches summed: "
    "optimizer.step() and optimizer.zero_grad() belong inside the loop",
}
_CLIP_MISTAKES = {
    "none": "the gradients were not clipped: call torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm) "
    "after loss.backward() and before optimizer.step() (clipping before backward or after step changes nothing)",
    "value": "each gradient entry was clipped to [-max_grad_norm, max_grad_norm] (clip_grad_value_): clip the norm "
    "of all the gradients together with clip_grad_norm_",
}


@dataclass(frozen=True)
class Case:
    """A reference model's starting weights and the data of one training run."""

    embedding: torch.Tensor
    weight: torch.Tensor
    bias: torch.Tensor
    rows: list[list[int]]
    labels: list[int]
    batch_size: int
    lr: float = 0.5

    @classmethod
    def generate(
        cls, seed: int, samples: int, batch_size: int, vocab: int = 12, dim: int = 3, classes: int = 3
    ) -> Case:
        """A case drawn from ``seed`` alone: texts of 0 to 6 tokens (ids 1 and up; 0 is padding)."""
        gen = torch.Generator().manual_seed(seed)
        embedding = torch.randn(vocab, dim, generator=gen)
        embedding[0] = 0
        lengths = torch.randint(0, 7, (samples,), generator=gen).tolist()
        lengths[0] = max(lengths[0], 1)
        return cls(
            embedding=embedding,
            weight=torch.randn(classes, dim, generator=gen) * 0.5,
            bias=torch.randn(classes, generator=gen) * 0.5,
            rows=[torch.randint(1, vocab, (length,), generator=gen).tolist() for length in lengths],
            labels=torch.randint(0, classes, (samples,), generator=gen).tolist(),
            batch_size=batch_size,
        )

    def batches(self) -> list[dict[str, torch.Tensor]]:
        """The dict batches the unshuffled loader yields."""
        items = list(zip(self.rows, self.labels, strict=True))
        return [
            reference.collate(items[start : start + self.batch_size]) for start in range(0, len(items), self.batch_size)
        ]

    def describe(self) -> str:
        """The setup in words, for messages."""
        sizes = ", ".join(str(len(batch["labels"])) for batch in self.batches())
        vocab, dim = self.embedding.shape
        return (
            f"an Embedding({vocab}, {dim}) -> masked mean -> Linear({dim}, {self.weight.shape[0]}) model with "
            f"CrossEntropyLoss and SGD(lr={self.lr}), {len(self.rows)} texts in unshuffled dict batches of {sizes}"
        )

    def setup(self, student: Any, device: str, guard: bool, eval_scale: float = 1.0) -> Any:
        """The worker's ``(model, loader, loss_fn, optimizer)`` for this case (``eval_scale``: see BagModel)."""
        return student.probe(
            _SETUP,
            self.embedding,
            self.weight,
            self.bias,
            self.rows,
            self.labels,
            self.batch_size,
            self.lr,
            device,
            guard,
            eval_scale,
        )


@dataclass(frozen=True)
class Run:
    """A replayed training run: final weights and, per epoch, each batch's (loss, size)."""

    state: dict[str, torch.Tensor]
    epochs: list[list[tuple[float, int]]]

    def epoch_loss(self, epoch: int) -> float:
        """The contract's epoch loss: batch losses weighted by batch size."""
        batches = self.epochs[epoch]
        return sum(loss * size for loss, size in batches) / sum(size for _, size in batches)


class _Bag(nn.Module):
    def __init__(self, case: Case) -> None:
        super().__init__()
        vocab, dim = case.embedding.shape
        self.embedding = nn.Embedding(vocab, dim, padding_idx=0)
        self.classifier = nn.Linear(dim, case.weight.shape[0])
        with torch.no_grad():
            self.embedding.weight.copy_(case.embedding)
            self.classifier.weight.copy_(case.weight)
            self.classifier.bias.copy_(case.bias)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        mask = attention_mask.unsqueeze(-1).to(torch.float32)
        pooled = (self.embedding(input_ids) * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1)
        return self.classifier(pooled)


def replay(
    case: Case,
    epochs: int = 1,
    mistake: str | None = None,
    clip: float | None = None,
    how: str = "norm",
    scale: float = 1.0,
) -> Run:
    """Train a trusted copy of the reference model: correctly, with one of ``_WEIGHT_MISTAKES``, clipped ``how``.

    ``scale`` multiplies the model's output, as the mode check's reference model does in eval mode.
    """
    model = _Bag(case)
    optimizer = optimizers.SGD(model.parameters(), lr=case.lr)
    loss_fn = nn.CrossEntropyLoss()
    history = []
    for _ in range(epochs):
        batches = []
        for batch in case.batches():
            labels = batch.pop("labels")
            if mistake == "lagged":
                optimizer.step()
            if mistake not in ("accumulate", "step_once"):
                optimizer.zero_grad()
            loss = loss_fn(model(**batch) * scale, labels)
            if mistake != "frozen":
                loss.backward()
            if clip is not None and how == "norm":
                nn.utils.clip_grad_norm_(model.parameters(), clip)
            elif clip is not None:
                nn.utils.clip_grad_value_(model.parameters(), clip)
            if mistake in (None, "accumulate"):
                optimizer.step()
            batches.append((loss.item(), len(labels)))
        if mistake == "step_once":
            optimizer.step()
        history.append(batches)
    return Run({name: value.detach().clone() for name, value in model.named_parameters()}, history)


def same_weights(observed: Any, expected: dict[str, torch.Tensor]) -> bool:
    """Whether the weights read from the worker equal ``expected`` within float32 tolerance."""
    return (
        isinstance(observed, dict)
        and set(observed) == set(expected)
        and all(
            isinstance(observed[name], torch.Tensor)
            and observed[name].shape == value.shape
            and torch.allclose(observed[name].double(), value.double(), **_TOLERANCE)
            for name, value in expected.items()
        )
    )


def weight_difference(observed: dict[str, Any], expected: dict[str, torch.Tensor]) -> str:
    """Expected vs observed for the first parameter that differs."""
    for name, value in expected.items():
        got = observed.get(name)
        if not (
            isinstance(got, torch.Tensor) and got.shape == value.shape and torch.allclose(got, value, **_TOLERANCE)
        ):
            return f"{name} should be {_rounded(value)} but is {_rounded(got)}"
    return f"the parameters should be {sorted(expected)} but are {sorted(observed)}"


def _rounded(value: Any) -> str:
    if isinstance(value, torch.Tensor) and value.is_floating_point():
        return str(torch.round(value.double(), decimals=4).tolist())
    return show(value)


def run_student(
    student: Any, device: str, case: Case, call: Callable[..., Any], eval_scale: float = 1.0, **kwargs: Any
) -> tuple[Any, Any, Any]:
    """Call ``call(model, loader, loss_fn, optimizer, ..., device=device)`` on a fresh reference setup.

    Returns what it returned, the model's weights afterwards and the model handle. When the call used a
    batch it had not moved to the device, it runs again on the CPU without the device guard, so that this
    check still grades its own clause: moving batches is test_one_epoch_moves_batches_to_device's.
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
) -> tuple[Any, Any, Any]:
    """:func:`run_student` with the device guard as ``guard`` says, and no second run.

    A device mismatch is raised as it came (the caller words it); any other error is explained first.
    """
    model, loader, loss_fn, optimizer = case.setup(student, device, guard, eval_scale)
    try:
        value = call(model, loader, loss_fn, optimizer, **kwargs, device=device)
    except StudentError as exc:
        if DEVICE_MISMATCH in exc.message and guard:
            raise
        explain_batch(exc, call_name(call))
        explain_loss_order(loss_fn)
        raise
    return value, student.probe(_STATE, model), model


def call_name(call: Any) -> str:
    """``train_one_epoch`` or ``train``, from a handle's label."""
    return str(getattr(call, "label", "the function")).rpartition(".")[2].removesuffix("()")


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
                f"loss_fn was called with the labels first (its first argument had shape {tuple(shape)}); write "
                "loss_fn(output, labels): the prediction first (the slide's loss_function(gold, output) swaps them)"
            )


def epoch_loss_value(value: Any, what: str) -> float:
    """``value`` as the float an epoch must return, or a failure that says what is wrong with its type."""
    if isinstance(value, torch.Tensor):
        fail(f"{what} is a tensor, {show(value)}, not a Python float: add up loss.item() * batch size")
    if not isinstance(value, int | float) or isinstance(value, bool):
        fail(f"{what} must be the epoch's mean loss as a Python float, got {show(value)}")
    return float(value)


def close(observed: float, expected: float) -> bool:
    """Float32-tolerant equality of two losses."""
    return abs(observed - expected) <= _TOLERANCE["atol"] + _TOLERANCE["rtol"] * abs(expected)


def matching_mistake(observed: dict[str, Any], case: Case, clip: float | None = None) -> str | None:
    """The mistake (None: none) whose replay gives ``observed``, or "" when none does."""
    for mistake in (None, *_WEIGHT_MISTAKES):
        if same_weights(observed, replay(case, mistake=mistake, clip=clip).state):
            return mistake
    return ""


def loss_slips(run: Run) -> list[float]:
    """The value an epoch's loss takes with each usual slip in adding it up (see the loss check)."""
    batches = run.epochs[0]
    return [
        sum(b for b, _ in batches) / len(batches),
        sum(b * n for b, n in batches),
        batches[-1][0],
    ]


def trained(
    value: Any,
    observed: Any,
    case: Case,
    scales: tuple[float, ...] = (1.0,),
    epochs: range = range(1, 2),
    clips: tuple[float | None, ...] = (None,),
) -> tuple[int, str | None, float] | None:
    """``(epochs, mistake, scale)`` of a replayed run that ends with the weights ``observed`` and returns ``value``.

    The usual mistakes count (they are other checks' business), and so do the clips in ``clips``; where the
    weights never move (``frozen``), the returned losses must be that run's, as only passing the batches
    through the model gives them. None when no replay fits: the call did not train on the batches.
    """
    values = list(value) if isinstance(value, list | tuple) else [value]
    losses = [loss_number(item) for item in values]
    for scale in scales:
        for mistake in (None, *_WEIGHT_MISTAKES):
            for count in epochs:
                for clip in clips:
                    run = replay(case, count, mistake, clip=clip, scale=scale)
                    if not same_weights(observed, run.state):
                        continue
                    if mistake != "frozen":
                        return count, mistake, scale
                    candidates = [run.epoch_loss(0), *loss_slips(run)]
                    if values and all(x is not None and any(close(x, c) for c in candidates) for x in losses):
                        return count, mistake, scale
    return None


def weights_after(observed: Any, case: Case) -> str:
    """What a call did to the weights, in words: left them as they were, or changed them to what."""
    if same_weights(observed, replay(case, epochs=0).state):
        return "left the weights as they were"
    if not isinstance(observed, dict):
        return f"left the weights as {show(observed)}"
    return "changed the weights to " + "; ".join(f"{name} {_rounded(value)}" for name, value in observed.items())[:400]


FIXED = Case.generate(seed=11, samples=10, batch_size=4)
CLIP = 0.1
#: The clips a run over the batches may have used: the other checks say whether the right one.
_ANY_CLIP = (None, CLIP, 1.0)


@check(points=5, step="train", slide=slides.TRAINING)
def test_one_epoch_updates_weights(student: Any, device: str) -> None:
    """train_one_epoch: zero_grad, output = model(**batch), loss_fn(output, labels), backward, step per batch"""
    # Verdict: the weights pulled across (state probe) against one epoch replayed here (replay).
    _, observed, _ = run_student(student, device, FIXED, student.module("train").train_one_epoch)
    correct = replay(FIXED).state
    if same_weights(observed, correct):
        return
    mistake = matching_mistake(observed, FIXED)
    if mistake:
        fail(f"after one epoch of train_one_epoch ({FIXED.describe()}) {_WEIGHT_MISTAKES[mistake]}")
    if same_weights(observed, replay(FIXED, clip=CLIP).state) or same_weights(observed, replay(FIXED, clip=1.0).state):
        fail(f"train_one_epoch clipped the gradients although max_grad_norm is None ({FIXED.describe()})")
    fail(
        f"after one epoch of train_one_epoch ({FIXED.describe()}) the weights differ from one SGD update per batch: "
        f"{weight_difference(observed, correct)}"
    )


@check(points=3, step="train", slide=slides.TRAINING)
def test_one_epoch_returns_weighted_mean_loss(student: Any, device: str) -> None:
    """train_one_epoch returns the mean loss per sample as a float"""
    # Verdict: the float returned against the weighted mean loss of the epoch replayed here: the correct
    # replay, or the known mistake's whose weights equal the weights pulled across.
    value, observed, _ = run_student(student, device, FIXED, student.module("train").train_one_epoch)
    loss = epoch_loss_value(value, "the value train_one_epoch returned")
    # Along the student's own weight trajectory: a wrong update is the other check's.
    run = replay(FIXED, mistake=matching_mistake(observed, FIXED) or None)
    expected = run.epoch_loss(0)
    if close(loss, expected):
        return
    batches = run.epochs[0]
    slips = {
        "the plain mean of the batch losses: weight each batch's loss by its size": sum(b for b, _ in batches)
        / len(batches),
        "the sum of loss x batch size: divide it by the number of samples": sum(b * n for b, n in batches),
        "the last batch's loss only": batches[-1][0],
    }
    hint = next((slip for slip, candidate in slips.items() if close(loss, candidate)), "")
    fail(
        f"train_one_epoch returned {loss:.6g}; expected {expected:.6g}, the sum of loss.item() * batch size over the "
        f"number of samples ({FIXED.describe()})" + (f": it returned {hint}" if hint else "")
    )


@check(points=3, step="train", slide=slides.UNPACKING)
def test_one_epoch_takes_the_labels_out(student: Any, device: str) -> None:
    """train_one_epoch iterates over dict batches, takes the labels out and calls model(**batch)"""
    # Verdict: the weights and the loss pulled across are those of an epoch over the batches, replayed here
    # (the usual mistakes and clips count: they are other checks'); a forward given labels= raises in the worker.
    value, observed, _ = run_student(student, device, FIXED, student.module("train").train_one_epoch)
    expect(
        trained(value, observed, FIXED, clips=_ANY_CLIP) is not None,
        f"train_one_epoch returned {_rounded(value)} and {weights_after(observed, FIXED)} for {FIXED.describe()}: "
        "no epoch of output = model(**batch) over those batches gives these, so whether it takes the labels out "
        "of each batch cannot be seen",
    )


@check(points=2, step="train", slide=slides.TRAINING)
def test_one_epoch_uses_train_mode(student: Any, device: str) -> None:
    """train_one_epoch puts the model in training mode"""
    # Verdict: the weights and the loss, pulled across, against the epoch replayed here in train mode and in
    # eval mode, where this check's reference model halves its output (it starts in eval mode). Passes only
    # when they are those of a train-mode epoch (with any of the usual mistakes: those are other checks').
    train_one_epoch = student.module("train").train_one_epoch
    value, observed, _ = run_student(student, device, FIXED, train_one_epoch, eval_scale=_EVAL_SCALE)
    found = trained(value, observed, FIXED, scales=(1.0, _EVAL_SCALE), clips=_ANY_CLIP)
    if found is None:
        fail(
            f"train_one_epoch returned {_rounded(value)} and {weights_after(observed, FIXED)} for "
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
    """train_one_epoch moves every tensor of the batch to `device` before the model and the loss see it"""
    # Verdict: with the model and loss refusing batches that are not on `device` (a real GPU, or the CPU
    # runner's guard), the weights and loss pulled across are those of an epoch over the batches, replayed
    # here: the batches reached the model. Nothing raising is not enough.
    train_one_epoch = student.module("train").train_one_epoch
    try:
        value, observed, _ = run_guarded(student, device, True, FIXED, train_one_epoch)
    except StudentError as exc:
        explain_device(exc, "train_one_epoch", _MOVE)
        raise
    expect(
        trained(value, observed, FIXED, clips=_ANY_CLIP) is not None,
        f"train_one_epoch(model, loader, loss_fn, optimizer, device={device!r}) returned {_rounded(value)} and "
        f"{weights_after(observed, FIXED)} for {FIXED.describe()}: no epoch over those batches gives these, so "
        "whether the batches reached the model on `device` cannot be seen",
    )


def _clipped(student: Any, device: str, call: Callable[..., Any], case: Case, epochs: int | None = None) -> Any:
    kwargs: dict[str, Any] = {"max_grad_norm": CLIP}
    if epochs is not None:
        kwargs["epochs"] = epochs
    return run_student(student, device, case, call, **kwargs)


@check(points=3, step="train", slide=slides.TRAINING)
def test_one_epoch_clips_gradients(student: Any, device: str) -> None:
    """train_one_epoch(..., max_grad_norm=m) clips the gradients' norm to m between backward and step"""
    # Verdict: the weights pulled across against a clipped epoch replayed here, with the mistake (if
    # any) that the weights of an unclipped run, also pulled across, show.
    train_one_epoch = student.module("train").train_one_epoch
    _, unclipped, _ = run_student(student, device, FIXED, train_one_epoch)
    # The student's own update (right or wrong: that is the other check's), with clipping added.
    mistake = matching_mistake(unclipped, FIXED) or None
    if mistake == "frozen":
        # Weights that never move look the same clipped or not: clipping cannot be seen.
        fail(
            f"train_one_epoch left the weights as they were ({FIXED.describe()}), so whether it clips the "
            "gradients cannot be seen: the weights must change (test_one_epoch_updates_weights says why not)"
        )
    _, observed, _ = _clipped(student, device, train_one_epoch, FIXED)
    expected = replay(FIXED, mistake=mistake, clip=CLIP).state
    if same_weights(observed, expected):
        return
    what = f"after train_one_epoch(..., max_grad_norm={CLIP}) ({FIXED.describe()})"
    if same_weights(observed, replay(FIXED, mistake=mistake).state):
        fail(f"{what} {_CLIP_MISTAKES['none']}")
    if same_weights(observed, replay(FIXED, mistake=mistake, clip=CLIP, how="value").state):
        fail(f"{what} {_CLIP_MISTAKES['value']}")
    fail(f"{what} the weights differ from the clipped SGD updates: {weight_difference(observed, expected)}")


@check(points=2, step="train", slide=slides.TRAINING)
def test_train_runs_epochs_with_clipping(student: Any, device: str) -> None:
    """train runs `epochs` epochs, passes max_grad_norm on and returns each epoch's loss in order"""
    # Verdict: the weights and losses pulled across against 2 clipped epochs replayed here, or against the
    # student's own train_one_epoch called twice from here (its returned losses, its weights pulled across),
    # once that one is seen to change the weights.
    epochs = 2
    module = student.module("train")
    what = f"train(model, loader, loss_fn, optimizer, epochs={epochs}, max_grad_norm={CLIP})"
    value, observed, _ = _clipped(student, device, module.train, FIXED, epochs)
    if not isinstance(value, list | tuple):
        fail(f"{what} must return a list of {epochs} floats (one loss per epoch), got {show(value)}")
    items = list(value)
    if any(isinstance(item, torch.Tensor) for item in items) and _epoch_returns_tensor(student, device, module):
        # train returns what train_one_epoch gives it: a tensor there is train_one_epoch's bug, charged by its
        # own check (test_one_epoch_returns_weighted_mean_loss); here each counts as the number it holds.
        items = [item if loss_number(item) is None else loss_number(item) for item in items]
    losses = [epoch_loss_value(item, f"an item of the list {what} returned") for item in items]
    reference_run = replay(FIXED, epochs=epochs, clip=CLIP)
    expected_losses = [reference_run.epoch_loss(epoch) for epoch in range(epochs)]
    expected_state = reference_run.state
    if not same_weights(observed, expected_state):
        # A train right on top of a wrong train_one_epoch loses no points here: the student's own
        # train_one_epoch, called `epochs` times with max_grad_norm, is the other accepted answer.
        # Only once the student's train_one_epoch is seen to do something to the model: one that does nothing
        # would make a do-nothing train right.
        own = _own_epochs(student, device, module.train_one_epoch, epochs)
        if own is not None and (
            not same_weights(own[1], replay(FIXED, epochs=0).state)
            or trained(own[0], own[1], FIXED, epochs=range(epochs, epochs + 1), clips=(CLIP,)) is not None
        ):
            expected_losses, expected_state = own
    if not same_weights(observed, expected_state):
        if same_weights(observed, replay(FIXED, epochs=epochs).state):
            fail(f"after {what} the gradients were not clipped: pass max_grad_norm on to train_one_epoch")
        for count in range(2 * epochs + 1):
            if count != epochs and same_weights(observed, replay(FIXED, epochs=count, clip=CLIP).state):
                fail(f"after {what} the weights are those after {count} epoch(s): run train_one_epoch `epochs` times")
        fail(f"after {what} on {FIXED.describe()}, {weight_difference(observed, expected_state)}")
    expect(
        len(losses) == epochs and all(map(close, losses, expected_losses)),
        f"{what} returned {_rounded(torch.tensor(losses))}; expected each epoch's loss in order: "
        f"{[round(loss, 4) for loss in expected_losses]}",
    )


def _epoch_returns_tensor(student: Any, device: str, module: Any) -> bool:
    """Whether the student's train_one_epoch returns a tensor (the epoch's loss as ``loss``, not a float)."""
    try:
        value, _, _ = _clipped(student, device, module.train_one_epoch, FIXED)
    except StudentError:
        return False
    return isinstance(value, torch.Tensor)


def _own_epochs(student: Any, device: str, train_one_epoch: Any, epochs: int) -> tuple[list[float], Any] | None:
    """The losses and final weights of the student's own train_one_epoch called ``epochs`` times, if it works."""
    for where, guard in ((device, True), ("cpu", False)):
        model, loader, loss_fn, optimizer = FIXED.setup(student, where, guard)
        values = []
        try:
            for _ in range(epochs):
                value = loss_number(
                    train_one_epoch(model, loader, loss_fn, optimizer, device=where, max_grad_norm=CLIP)
                )
                if value is None:
                    return None
                values.append(value)
        except StudentError as exc:
            if DEVICE_MISMATCH in exc.message:
                continue
            return None
        return values, student.probe(_STATE, model)
    return None
