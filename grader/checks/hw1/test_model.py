"""Step 2 (Model): MyModel, its registered parameters and its forward pass.

The student's model is read back as plain tensors (:func:`model_support.read`): its parameters,
checked to be the ones ``model.parameters()`` gives an optimizer, and its outputs; the forward pass is
recomputed here, in the trusted process, from those parameters. The probes used (named_parameters,
shift_parameters, hidden_layers) run in the worker and can be replaced by student code; they only carry
values, which are checked here: a reported tensor that did not move with model.parameters() is not
counted, so a probe told to report layers kept in a plain list earns nothing (hidden_layers only words
messages).
"""

from __future__ import annotations

import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st

from grader.checks import check, expect, expect_tensor, fail
from grader.checks.hw1 import slides
from grader.checks.hw1.model_support import (
    CORRECT,
    PHASES,
    UNREGISTERED,
    candidates,
    forward,
    identify,
    read,
    registered,
    seeded,
    shapes,
    values,
)
from grader.sandbox.client import Session


@check(points=4, step="model", slide=slides.SUPER_INIT)
def test_model_registers_layers(student: Session) -> None:
    """MyModel calls super().__init__() and registers its layers as parameters (none in a plain list)"""
    # Verdict: the parameters read before and after the worker lowered every tensor of model.parameters()
    # (each must move by exactly SHIFT), their shapes (two Linear layers), and the forward pass on x before
    # and after that shift (it must change: forward uses the registered layers). All compared here.
    x = seeded(0, 5, 4)
    reading = read(student, 4, 6, 3, x)
    params = registered(student, reading)
    expect(
        bool(candidates(params, 4, 3)),
        f"{reading.call} registers the parameters {shapes(params)}; expected the weights and biases of two Linear "
        f"layers, Linear(4, h) and Linear(h, 3), so some layer is missing from the registry: {UNREGISTERED}",
    )
    after = forward(reading.model, x, reading.call)
    expect(
        reading.output is None or after.shape != reading.output.shape or not torch.equal(after, reading.output),
        f"{reading.call}(x) gave the same output {values(after[:2])} before and after every registered parameter "
        f"was lowered by 0.125, so forward does not use the registered layers: {UNREGISTERED}",
    )


@check(points=2, step="model", slide=slides.MODEL)
@settings(max_examples=6, phases=PHASES)
@given(in_features=st.integers(1, 12), hidden=st.integers(1, 12), classes=st.integers(1, 12))
def test_model_parameter_count(student: Session, in_features: int, hidden: int, classes: int) -> None:
    """MyModel has in*h + h + h*C + C parameters (two Linear layers with biases)"""
    # Verdict: the number of values in the registered parameters (read and checked by model_support.read).
    reading = read(student, in_features, hidden, classes)
    params = registered(student, reading)
    expected = in_features * hidden + hidden + hidden * classes + classes
    observed = sum(value.numel() for value in params.values())
    expect(
        observed == expected,
        f"{reading.call} has {observed} parameters, expected {in_features}*{hidden} + {hidden} + {hidden}*{classes} + "
        f"{classes} = {expected} (Linear({in_features}, {hidden}) -> ReLU -> Linear({hidden}, {classes}), "
        f"biases included); your registered parameters: {shapes(params)}",
    )


# --- MyModel.forward -------------------------------------------------------------------------------------


@check(points=2, step="model", slide=slides.MODEL)
@settings(max_examples=10, phases=PHASES)
@given(n=st.integers(1, 6), in_features=st.integers(1, 8), hidden=st.integers(1, 8), classes=st.integers(1, 8))
@example(n=1, in_features=5, hidden=7, classes=3)
def test_forward_shapes(student: Session, n: int, in_features: int, hidden: int, classes: int) -> None:
    """forward maps (N, in_features) to (N, num_classes), batch size 1 included"""
    # Verdict: the output's shape, and its values: a tensor of the right shape counts only when this process
    # recomputes it from the model's registered layers (in any of model_support.FORMS: which activation is
    # test_forward_recomputed's business), so zeros of the right shape are not a forward pass.
    reading = read(student, in_features, hidden, classes)
    x = seeded(n, n, in_features)
    out = forward(reading.model, x, reading.call)
    expect(
        tuple(out.shape) == (n, classes) and out.is_floating_point(),
        f"{reading.call}(x) for x of shape ({n}, {in_features}): expected a float tensor of shape ({n}, {classes}), "
        f"got {out.dtype} of shape {tuple(out.shape)}"
        + (" (keep the batch dimension when N = 1: no squeeze())" if tuple(out.shape) == (classes,) else ""),
    )
    params = registered(student, reading)
    expect(
        identify(out, x, candidates(params, in_features, classes)) is not None,
        f"{reading.call}(x) for x of shape ({n}, {in_features}) has the right shape, but its values "
        f"{values(out[:2])} are not computed by the model's own registered layers ({shapes(params)}): forward must "
        "return Linear -> ReLU -> Linear of x",
    )


_SQUASHED = {
    "softmax": "probabilities (softmax)",
    "log_softmax": "log-probabilities (log_softmax)",
    "sigmoid": "squashed scores (sigmoid)",
    "ReLU": "scores clipped at 0 (ReLU)",
}


@check(points=1, step="model", slide=slides.MODEL)
def test_forward_logits(student: Session) -> None:
    """forward returns logits, not probabilities (no softmax at the end)"""
    # Verdict: which forward pass, recomputed here from the registered layers, the output equals: one that
    # returns the last layer's scores passes (the activation in between is test_forward_recomputed's).
    x = seeded(1, 16, 5, scale=3.0)
    reading = read(student, 5, 8, 4)
    out = expect_tensor(forward(reading.model, x, reading.call), f"{reading.call}(x)", shape=(16, 4))
    match = identify(out, x, candidates(registered(student, reading), 5, 4))
    if match is None:
        fail(
            f"{reading.call}(x) for 16 random rows x gave {values(out[:2])} (first rows), which is not computed by "
            "the model's own registered layers, so whether it returns logits cannot be seen: forward must return "
            "the raw scores of the last Linear layer (Linear -> ReLU -> Linear)"
        )
    form = match[1]
    squash = _SQUASHED.get(form.output, "")
    expect(
        form.raw,
        f"{reading.call}(x) for 16 random rows x returns {squash}: your output equals {form.mistake}; return the "
        f"raw scores of the last Linear layer. First rows: {values(out[:2])}",
    )


@check(points=3, step="model", slide=slides.MODEL)
@settings(max_examples=6, phases=PHASES)
@given(n=st.integers(2, 6), sizes=st.permutations([2, 3, 5]), seed=st.integers(0, 1000))
@example(n=2, sizes=[3, 5, 2], seed=0)
def test_forward_recomputed(student: Session, n: int, sizes: list[int], seed: int) -> None:
    """forward computes Linear -> ReLU -> Linear (recomputed from your model's own weights)"""
    # Verdict: the output equals Linear -> ReLU -> Linear recomputed here from the registered parameters.
    # N >= 2 here: batch size 1 has its own check, so a squeeze() bug costs points once.
    in_f, hidden, classes = sizes
    reading = read(student, in_f, hidden, classes)
    params = registered(student, reading)
    layers = candidates(params, in_f, classes)
    if not layers:
        fail(
            f"{reading.call}: expected the registered parameters of Linear({in_f}, {hidden}) and "
            f"Linear({hidden}, {classes}) (weights ({hidden}, {in_f}) and ({classes}, {hidden}), biases "
            f"({hidden},) and ({classes},)), found: {shapes(params)}"
        )
    x = seeded(seed, n, in_f, scale=2.0)
    observed = forward(reading.model, x, reading.call)
    match = identify(observed, x, layers)
    if match is not None and match[1] == CORRECT:
        return
    hint = f"; your output equals {match[1].mistake}" if match is not None else ""
    fail(
        f"{reading.call}(x) for x = {values(x)}: with your model's own weights, Linear -> ReLU -> Linear gives "
        f"{values(layers[0].forward(x))}, but forward returned {values(observed)} of shape "
        f"{tuple(observed.shape)}{hint}"
    )
