"""Step 2 (Model): MyModel, its registered parameters and its forward pass.

The student's model is read back as plain tensors and its forward pass recomputed here,
in the trusted process.
"""

from __future__ import annotations

from typing import Any

import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st

from grader.checks import check, expect, expect_tensor, fail, show
from grader.checks.hw1 import slides
from grader.checks.hw1.model_support import (
    PHASES,
    PROBE,
    build,
    forward,
    parameters,
    seeded,
    shapes,
    values,
)
from grader.sandbox.client import Session


@check(points=4, step="model", slide=slides.SUPER_INIT)
def test_model_registers_layers(student: Session) -> None:
    """MyModel calls super().__init__() and registers its layers as parameters (none in a plain list)"""
    model = build(student, 4, 6, 3)
    params = parameters(student, model, "MyModel(4, 6, 3)")
    hidden = student.probe(f"{PROBE}:hidden_layers", model)
    hidden = hidden if isinstance(hidden, list) else [show(hidden)]
    where = f" ({'; '.join(map(str, hidden))})" if hidden else ""
    advice = (
        "nn.Module registers only layers assigned as attributes (self.fc1 = nn.Linear(...)) or held in "
        "nn.ModuleList / nn.Sequential; layers in a plain Python list are invisible to it, so "
        "model.parameters() misses them and the optimizer would not train them"
    )
    expect(bool(params), f"MyModel(4, 6, 3).parameters() is empty{where}: {advice}")
    expect(not hidden, f"MyModel(4, 6, 3) keeps layers the model does not register{where}: {advice}")


@check(points=2, step="model", slide=slides.MODEL)
@settings(max_examples=6, phases=PHASES)
@given(in_features=st.integers(1, 12), hidden=st.integers(1, 12), classes=st.integers(1, 12))
def test_model_parameter_count(student: Session, in_features: int, hidden: int, classes: int) -> None:
    """MyModel has in*h + h + h*C + C parameters (two Linear layers with biases)"""
    call = f"MyModel({in_features}, {hidden}, {classes})"
    params = parameters(student, build(student, in_features, hidden, classes), call)
    expected = in_features * hidden + hidden + hidden * classes + classes
    observed = sum(value.numel() for value in params.values())
    expect(
        observed == expected,
        f"{call} has {observed} parameters, expected {in_features}*{hidden} + {hidden} + {hidden}*{classes} + "
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
    call = f"MyModel({in_features}, {hidden}, {classes})"
    out = forward(build(student, in_features, hidden, classes), seeded(n, n, in_features), call)
    expect(
        tuple(out.shape) == (n, classes) and out.is_floating_point(),
        f"{call}(x) for x of shape ({n}, {in_features}): expected a float tensor of shape ({n}, {classes}), "
        f"got {out.dtype} of shape {tuple(out.shape)}"
        + (" (keep the batch dimension when N = 1: no squeeze())" if tuple(out.shape) == (classes,) else ""),
    )


@check(points=1, step="model", slide=slides.MODEL)
def test_forward_logits(student: Session) -> None:
    """forward returns logits, not probabilities (no softmax at the end)"""
    x = seeded(1, 16, 5, scale=3.0)
    model = build(student, 5, 8, 4)
    out = forward(model, x, "MyModel(5, 8, 4)")
    expect_tensor(out, "MyModel(5, 8, 4)(x)", shape=(16, 4))
    if bool(((out >= 0) & (out <= 1)).all()) and not _raw_scores(student, model, x, out):
        softmax = torch.allclose(out.sum(dim=1), torch.ones(16), atol=1e-3)
        fail(
            "MyModel(5, 8, 4)(x) for 16 random rows x: every output lies in [0, 1]"
            + (
                " and every row sums to 1, so forward returns probabilities (softmax)"
                if softmax
                else ", so forward squashes the scores (sigmoid?)"
            )
            + f"; return the raw scores of the last Linear layer. First rows: {values(out[:2])}"
        )


def _raw_scores(student: Session, model: Any, x: torch.Tensor, out: torch.Tensor) -> bool:
    """Whether ``out`` is the last Linear layer's output itself (scores that happen to lie in [0, 1])."""
    weights = _split_weights(parameters(student, model, "MyModel(5, 8, 4)"), 5, 8, 4)
    if weights is None:
        return False
    return torch.allclose(out.float(), _recompute(x, weights), atol=1e-5, rtol=1e-4)


def _recompute(x: torch.Tensor, weights: tuple[torch.Tensor, ...]) -> torch.Tensor:
    """Linear -> ReLU -> Linear with ``weights`` (W1, b1, W2, b2)."""
    w1, b1, w2, b2 = weights
    return torch.relu(x @ w1.T + b1) @ w2.T + b2


def _split_weights(params: dict[str, torch.Tensor], in_f: int, hidden: int, classes: int) -> tuple[Any, ...] | None:
    """(W1, b1, W2, b2) found by shape (W as (out, in); a transposed matrix is accepted; a missing bias is 0)."""
    found: dict[str, torch.Tensor] = {}
    wanted = {
        (hidden, in_f): ("w1", False),
        (in_f, hidden): ("w1", True),
        (classes, hidden): ("w2", False),
        (hidden, classes): ("w2", True),
        (hidden,): ("b1", False),
        (classes,): ("b2", False),
    }
    for value in params.values():
        key = wanted.get(tuple(value.shape))
        if key is None or key[0] in found:
            return None
        found[key[0]] = (value.T if key[1] else value).float()
    if "w1" not in found or "w2" not in found:
        return None
    return found["w1"], found.get("b1", torch.zeros(hidden)), found["w2"], found.get("b2", torch.zeros(classes))


def _forward_diagnosis(observed: torch.Tensor, x: torch.Tensor, weights: tuple[torch.Tensor, ...]) -> str:
    w1, b1, w2, b2 = weights
    pre = x @ w1.T + b1
    logits = torch.relu(pre) @ w2.T + b2
    variants = {
        "Linear -> Linear (the ReLU is missing)": pre @ w2.T + b2,
        "Linear -> sigmoid -> Linear (use ReLU)": torch.sigmoid(pre) @ w2.T + b2,
        "Linear -> tanh -> Linear (use ReLU)": torch.tanh(pre) @ w2.T + b2,
        "Linear -> ReLU -> Linear -> softmax (return the logits, without softmax)": torch.softmax(logits, dim=1),
        "Linear -> ReLU -> Linear -> log_softmax (return the logits)": torch.log_softmax(logits, dim=1),
        "Linear -> ReLU -> Linear -> ReLU (no ReLU after the last layer)": torch.relu(logits),
        "Linear -> ReLU -> Linear -> sigmoid (return the logits)": torch.sigmoid(logits),
    }
    for name, value in variants.items():
        if observed.shape == value.shape and torch.allclose(observed, value, atol=1e-4, rtol=1e-3):
            return f"; your output equals {name}"
    return ""


@check(points=3, step="model", slide=slides.MODEL)
@settings(max_examples=6, phases=PHASES)
@given(n=st.integers(2, 6), sizes=st.permutations([2, 3, 5]), seed=st.integers(0, 1000))
@example(n=2, sizes=[3, 5, 2], seed=0)
def test_forward_recomputed(student: Session, n: int, sizes: list[int], seed: int) -> None:
    """forward computes Linear -> ReLU -> Linear (recomputed from your model's own weights)"""
    # N >= 2 here: batch size 1 has its own check, so a squeeze() bug costs points once.
    in_f, hidden, classes = sizes
    call = f"MyModel({in_f}, {hidden}, {classes})"
    model = build(student, in_f, hidden, classes)
    params = parameters(student, model, call)
    weights = _split_weights(params, in_f, hidden, classes)
    if weights is None:
        fail(
            f"{call}: expected the registered parameters of Linear({in_f}, {hidden}) and "
            f"Linear({hidden}, {classes}) (weights ({hidden}, {in_f}) and ({classes}, {hidden}), biases "
            f"({hidden},) and ({classes},)), found: {shapes(params)}"
        )
    x = seeded(seed, n, in_f, scale=2.0)
    observed = forward(model, x, call)
    expected = _recompute(x, weights)
    if observed.shape != expected.shape or not torch.allclose(observed.float(), expected, atol=1e-5, rtol=1e-4):
        hint = _forward_diagnosis(observed.float(), x, weights) if observed.shape == expected.shape else ""
        fail(
            f"{call}(x) for x = {values(x)}: with your model's own weights, Linear -> ReLU -> Linear gives "
            f"{values(expected)}, but forward returned {values(observed)} of shape {tuple(observed.shape)}{hint}"
        )


# --- softmax ---------------------------------------------------------------------------------------------
