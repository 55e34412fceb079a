"""Step 2 (Model): MyModel, softmax and cross_entropy by hand, build_loss and build_optimizer.

Every expected value is computed here, in the trusted process, with PyTorch's
own functions: the student's model is read back as plain tensors and its
forward pass recomputed; losses and optimizers are judged by what they do on
fixed inputs, not by the class name the worker claims.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from hypothesis import Phase, example, given, settings
from hypothesis import strategies as st
from torch import nn

from grader.checks import Step, check, expect, expect_close, expect_tensor, fail, optimizers, show
from grader.checks.hw1 import rules, slides
from grader.errors import StudentError
from grader.sandbox.client import RemoteObject, Session

PROBE = "grader.probes.hw1.model"
# The attributes nn.Module.__init__ creates: an AttributeError naming one means super().__init__() never ran.
_MODULE_STATE = frozenset(vars(nn.Module()))
_SLIDE_ATOL = 1.5e-3  # the slides cut their numbers to three decimals
# No "explain" phase: it reruns a failing check hundreds of times and only adds comments to the failing input.
_PHASES = (Phase.explicit, Phase.generate, Phase.shrink)


def _tensor(seed: int, *shape: int, scale: float = 1.0) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed)) * scale


def _values(tensor: torch.Tensor) -> str:
    """A tensor's values rounded to 4 decimals, as nested lists (for inputs and outputs in messages)."""
    if tensor.numel() > 64:
        tensor = tensor.flatten()[:64]
    return show(torch.round(tensor.detach().double(), decimals=4).tolist())


def _kind(value: Any) -> str:
    """What a student's function returned, for messages (the worker's claim for a handle)."""
    return f"a {value.type_name}" if isinstance(value, RemoteObject) else f"{show(value)} ({type(value).__name__})"


@contextlib.contextmanager
def _module_state(call: str) -> Iterator[None]:
    """Turn nn.Module's errors about its missing internal state into the super().__init__() advice."""
    try:
        yield
    except StudentError as exc:
        missing_state = any(f"attribute '{name}'" in exc.message for name in _MODULE_STATE)
        if exc.is_a("AttributeError") and ("before Module.__init__() call" in exc.message or missing_state):
            fail(
                f"{call} raised AttributeError: {exc.message}. nn.Module keeps a model's layers in tables that "
                "only super().__init__() creates: call super().__init__() first in MyModel.__init__, before "
                "assigning any layer"
            )
        raise


def _build(student: Session, in_features: int, hidden: int, classes: int) -> RemoteObject:
    call = f"MyModel({in_features}, {hidden}, {classes})"
    with _module_state(call):
        model = student.module("model").MyModel(in_features, hidden, classes)
    expect(
        isinstance(model, RemoteObject) and student.probe(f"{PROBE}:is_module", model),
        f"{call} returned {_kind(model)}, which is not an nn.Module: MyModel must subclass torch.nn.Module",
    )
    return model


def _parameters(student: Session, model: RemoteObject, call: str) -> dict[str, torch.Tensor]:
    with _module_state(f"{call}.named_parameters()"):
        params = student.probe(f"{PROBE}:named_parameters", model)
    _expect_weights(params, f"{call}.named_parameters()")
    return params


def _expect_weights(params: Any, what: str) -> None:
    """Probe answers come from the student's process: make sure they are {name: tensor} before using them."""
    expect(
        isinstance(params, dict) and all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in params.items()),
        f"{what} could not be read as {{name: tensor}}: got {show(params)}",
    )


def _forward(model: RemoteObject, x: torch.Tensor, call: str) -> torch.Tensor:
    with _module_state(f"{call}(x)"):
        return expect_tensor(model(x), f"{call}(x) for x of shape {tuple(x.shape)}")


def _shapes(params: dict[str, torch.Tensor]) -> str:
    return ", ".join(f"{name} {tuple(value.shape)}" for name, value in params.items()) or "none"


# --- MyModel: construction and registration -------------------------------------------------------------


@check(points=4, step=Step.MODEL, slide=slides.SUPER_INIT)
def test_model_registers_layers(student: Session) -> None:
    """MyModel calls super().__init__() and registers its layers as parameters (none in a plain list)"""
    model = _build(student, 4, 6, 3)
    params = _parameters(student, model, "MyModel(4, 6, 3)")
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


@check(points=2, step=Step.MODEL, slide=slides.MODEL)
@settings(max_examples=6, phases=_PHASES)
@given(in_features=st.integers(1, 12), hidden=st.integers(1, 12), classes=st.integers(1, 12))
def test_model_parameter_count(student: Session, in_features: int, hidden: int, classes: int) -> None:
    """MyModel has in*h + h + h*C + C parameters (two Linear layers with biases)"""
    call = f"MyModel({in_features}, {hidden}, {classes})"
    params = _parameters(student, _build(student, in_features, hidden, classes), call)
    expected = in_features * hidden + hidden + hidden * classes + classes
    observed = sum(value.numel() for value in params.values())
    expect(
        observed == expected,
        f"{call} has {observed} parameters, expected {in_features}*{hidden} + {hidden} + {hidden}*{classes} + "
        f"{classes} = {expected} (Linear({in_features}, {hidden}) -> ReLU -> Linear({hidden}, {classes}), "
        f"biases included); your registered parameters: {_shapes(params)}",
    )


# --- MyModel.forward -------------------------------------------------------------------------------------


@check(points=2, step=Step.MODEL, slide=slides.MODEL)
@settings(max_examples=10, phases=_PHASES)
@given(n=st.integers(1, 6), in_features=st.integers(1, 8), hidden=st.integers(1, 8), classes=st.integers(1, 8))
@example(n=1, in_features=5, hidden=7, classes=3)
def test_forward_shapes(student: Session, n: int, in_features: int, hidden: int, classes: int) -> None:
    """forward maps (N, in_features) to (N, num_classes), batch size 1 included"""
    call = f"MyModel({in_features}, {hidden}, {classes})"
    out = _forward(_build(student, in_features, hidden, classes), _tensor(n, n, in_features), call)
    expect(
        tuple(out.shape) == (n, classes) and out.is_floating_point(),
        f"{call}(x) for x of shape ({n}, {in_features}): expected a float tensor of shape ({n}, {classes}), "
        f"got {out.dtype} of shape {tuple(out.shape)}"
        + (" (keep the batch dimension when N = 1: no squeeze())" if tuple(out.shape) == (classes,) else ""),
    )


@check(points=1, step=Step.MODEL, slide=slides.MODEL)
def test_forward_logits(student: Session) -> None:
    """forward returns logits, not probabilities (no softmax at the end)"""
    x = _tensor(1, 16, 5, scale=3.0)
    out = _forward(_build(student, 5, 8, 4), x, "MyModel(5, 8, 4)")
    expect_tensor(out, "MyModel(5, 8, 4)(x)", shape=(16, 4))
    if bool(((out >= 0) & (out <= 1)).all()):
        softmax = torch.allclose(out.sum(dim=1), torch.ones(16), atol=1e-3)
        fail(
            "MyModel(5, 8, 4)(x) for 16 random rows x: every output lies in [0, 1]"
            + (
                " and every row sums to 1, so forward returns probabilities (softmax)"
                if softmax
                else ", so forward squashes the scores (sigmoid?)"
            )
            + f"; return the raw scores of the last Linear layer. First rows: {_values(out[:2])}"
        )


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


@check(points=3, step=Step.MODEL, slide=slides.MODEL)
@settings(max_examples=6, phases=_PHASES)
@given(n=st.integers(2, 6), sizes=st.permutations([2, 3, 5]), seed=st.integers(0, 1000))
@example(n=2, sizes=[3, 5, 2], seed=0)
def test_forward_recomputed(student: Session, n: int, sizes: list[int], seed: int) -> None:
    """forward computes Linear -> ReLU -> Linear (recomputed from your model's own weights)"""
    # N >= 2 here: batch size 1 has its own check, so a squeeze() bug costs points once.
    in_f, hidden, classes = sizes
    call = f"MyModel({in_f}, {hidden}, {classes})"
    model = _build(student, in_f, hidden, classes)
    params = _parameters(student, model, call)
    weights = _split_weights(params, in_f, hidden, classes)
    if weights is None:
        fail(
            f"{call}: expected the registered parameters of Linear({in_f}, {hidden}) and "
            f"Linear({hidden}, {classes}) (weights ({hidden}, {in_f}) and ({classes}, {hidden}), biases "
            f"({hidden},) and ({classes},)), found: {_shapes(params)}"
        )
    x = _tensor(seed, n, in_f, scale=2.0)
    observed = _forward(model, x, call)
    w1, b1, w2, b2 = weights
    expected = torch.relu(x @ w1.T + b1) @ w2.T + b2
    if observed.shape != expected.shape or not torch.allclose(observed.float(), expected, atol=1e-5, rtol=1e-4):
        hint = _forward_diagnosis(observed.float(), x, weights) if observed.shape == expected.shape else ""
        fail(
            f"{call}(x) for x = {_values(x)}: with your model's own weights, Linear -> ReLU -> Linear gives "
            f"{_values(expected)}, but forward returned {_values(observed)} of shape {tuple(observed.shape)}{hint}"
        )


# --- softmax ---------------------------------------------------------------------------------------------


def _softmax(student: Session, x: torch.Tensor, dim: int | None) -> Any:
    fn = student.module("model").softmax
    return fn(x) if dim is None else fn(x, dim=dim)


def _expect_softmax(student: Session, x: torch.Tensor, dim: int | None, atol: float, rtol: float) -> None:
    """softmax(x, dim) (dim left out when None) keeps the shape, is finite, sums to 1 and equals torch.softmax."""
    what = f"softmax(x{'' if dim is None else f', dim={dim}'}) for x = {_values(x)}"
    observed, along = expect_tensor(_softmax(student, x, dim), what), -1 if dim is None else dim
    expect(observed.shape == x.shape, f"{what}: expected the shape {tuple(x.shape)}, got {tuple(observed.shape)}")
    expected, sums = torch.softmax(x, dim=along), observed.double().sum(dim=along)
    expect(
        bool(torch.isfinite(observed).all()),
        f"{what}: expected finite values {_values(expected)}, got {_values(observed)} (exp of a large logit "
        "overflows: subtract the maximum along dim first)",
    )
    expect(
        torch.allclose(sums, torch.ones_like(sums), atol=1e-3),
        f"{what}: the entries along dim {along} must sum to 1, but they sum to {_values(sums)} (normalise along "
        "dim, with keepdim=True)",
    )
    expect_close(observed, expected, what, atol=atol, rtol=rtol)


@check(points=2, step=Step.MODEL, slide=slides.SOFTMAX)
def test_softmax_slide_numbers(student: Session) -> None:
    """softmax reproduces the slides' numbers"""
    cases = [([0.5, 0.7, 1.3], [0.225, 0.275, 0.500]), ([2.0, 1.0, 0.0], [0.665, 0.244, 0.090])]
    for logits, probs in cases:
        expect_close(_softmax(student, torch.tensor(logits), None), probs, f"softmax({logits})", atol=_SLIDE_ATOL)


@check(points=2, step=Step.MODEL, slide=slides.SOFTMAX)
@settings(max_examples=12, phases=_PHASES)
@given(
    shape=st.lists(st.integers(1, 4), min_size=1, max_size=3),
    dim_pick=st.integers(-4, 3),
    scale=st.sampled_from([1.0, 0.01, 10.0]),
    seed=st.integers(0, 1000),
)
@example(shape=[2, 3], dim_pick=0, scale=1.0, seed=0)
@example(shape=[2, 3], dim_pick=-4, scale=1.0, seed=0)
def test_softmax_matches_torch(student: Session, shape: list[int], dim_pick: int, scale: float, seed: int) -> None:
    """softmax matches torch.softmax on random inputs (any shape, any dim, the default dim=-1)"""
    x = _tensor(seed, *shape, scale=scale)
    dim = None if dim_pick == -4 else dim_pick % len(shape) - (len(shape) if dim_pick < 0 else 0)
    _expect_softmax(student, x, dim, atol=1e-6, rtol=1e-4)


@check(points=2, step=Step.MODEL, slide=slides.SOFTMAX)
def test_softmax_extreme_logits(student: Session) -> None:
    """softmax stays finite and correct for logits up to +-1e4"""
    cases = [
        (torch.tensor([1e4, 0.0, -1e4]), None),
        (torch.tensor([-1e4, -1e4, -1e4]), None),
        (torch.tensor([[1e4, 1e4 - 1, -5e3], [-1e4, 2.0, 1e4]]), None),
        (torch.tensor([[1e4, 1e4 - 1, -5e3], [-1e4, 2.0, 1e4]]), 0),
        (_tensor(7, 3, 4, scale=1e4).clamp(-1e4, 1e4), 1),
    ]
    for x, dim in cases:
        # lse-based formulas lose ~5e-4 in float32 at 1e4 (the spacing of floats there), hence 1e-3.
        _expect_softmax(student, x, dim, atol=1e-3, rtol=1e-3)


# --- cross_entropy ---------------------------------------------------------------------------------------


def _cross_entropy(student: Session, logits: torch.Tensor, targets: torch.Tensor, what: str) -> torch.Tensor:
    """The student's value as a 0-dim tensor when it holds one number (only the slide-numbers check demands 0-dim)."""
    value = student.module("model").cross_entropy(logits, targets)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return torch.tensor(float(value))
    value = expect_tensor(value, what)
    expect(value.numel() == 1, f"{what}: expected one number (a 0-dim tensor), got shape {tuple(value.shape)}")
    return value.reshape(())


@check(points=2, step=Step.MODEL, slide=slides.SOFTMAX)
def test_cross_entropy_slide_numbers(student: Session) -> None:
    """cross_entropy reproduces the slides' numbers and averages them over a batch, as a 0-dim tensor"""
    rows = [[0.9, 0.05, 0.05], [0.1, 0.6, 0.3]]
    for probs, expected in zip(rows, (0.105, 2.302), strict=True):
        logits = torch.tensor([probs]).log()
        what = f"cross_entropy(logits, tensor([0])) for logits = log({[probs]}) (target probability {probs[0]})"
        expect_close(_cross_entropy(student, logits, torch.tensor([0]), what), expected, what, atol=_SLIDE_ATOL)
    what = f"cross_entropy(logits, targets) for logits = log({rows}), targets = [0, 0]"
    value = expect_tensor(student.module("model").cross_entropy(torch.tensor(rows).log(), torch.tensor([0, 0])), what)
    expect(
        value.dim() == 0,
        f"{what}: expected a 0-dim tensor like tensor(1.204), got shape {tuple(value.shape)} "
        "(.mean() over the whole batch gives 0-dim)",
    )
    mean = (-math.log(0.9) - math.log(0.1)) / 2
    expect(
        not math.isclose(value.item(), 2 * mean, rel_tol=1e-3),
        f"{what}: expected the mean {mean:.4f} of the two losses 0.1054 and 2.3026, got their sum "
        f"{value.item():.4f}: divide by the batch size (use .mean())",
    )
    expect_close(value, mean, what, atol=1e-4)


@check(points=2, step=Step.MODEL, slide=slides.SOFTMAX)
@settings(max_examples=12, phases=_PHASES)
@given(
    n=st.integers(1, 8), classes=st.integers(2, 6), scale=st.sampled_from([1.0, 0.01, 10.0]), seed=st.integers(0, 1000)
)
def test_cross_entropy_matches_torch(student: Session, n: int, classes: int, scale: float, seed: int) -> None:
    """cross_entropy matches F.cross_entropy on random inputs"""
    logits = _tensor(seed, n, classes, scale=scale)
    targets = torch.randint(0, classes, (n,), generator=torch.Generator().manual_seed(seed + 1))
    what = f"cross_entropy(logits, targets) for logits = {_values(logits)}, targets = {targets.tolist()}"
    expect_close(
        _cross_entropy(student, logits, targets, what), F.cross_entropy(logits, targets), what, atol=1e-4, rtol=1e-4
    )


@check(points=1, step=Step.MODEL, slide=slides.SOFTMAX)
def test_cross_entropy_extreme_logits(student: Session) -> None:
    """cross_entropy stays finite and correct for logits up to +-1e4"""
    # One row per call: this check is about overflow only; the mean has its own check.
    rows = [[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4 - 1], [0.0, 0.0, 1e4], [-1e4, -1e4, -1e4], [1e4, 1e4 - 1, -1e4]]
    for row, target in [(row, t) for row in rows for t in (0, 2)]:
        logits, targets = torch.tensor([row]), torch.tensor([target])
        expected = F.cross_entropy(logits, targets)
        what = f"cross_entropy(logits, targets) for logits = {[row]}, targets = [{target}]"
        value = _cross_entropy(student, logits, targets, what)
        expect(
            bool(torch.isfinite(value)),
            f"{what}: expected {expected.item():.4f}, got {value.item()} (use the log-sum-exp trick: shifted = "
            "logits - max, log_probs = shifted - log(sum(exp(shifted))), instead of the log of a probability that "
            "rounded to 0)",
        )
        expect_close(value, expected, what, atol=5e-3, rtol=1e-4)


# --- the by-hand rule ------------------------------------------------------------------------------------


@check(points=3, step=Step.MODEL, slide=slides.SOFTMAX)
def test_by_hand_rule(source: Path) -> None:
    """softmax and cross_entropy are written by hand (no ready-made softmax, log_softmax, cross_entropy, nll_loss)"""
    try:
        violations = rules.find_violations(source)
        unwritten = rules.unwritten(source)
    except rules.SourceError as exc:
        fail(f"the by-hand rule cannot be checked: {exc}")
    if violations:
        fail(
            "softmax and cross_entropy must be written by hand, without PyTorch's ready-made softmax, "
            "log_softmax, cross_entropy or nll_loss (functions, tensor methods or nn modules, under any name): "
            + "; ".join(v.describe() for v in violations[:3])
            + (f"; and {len(violations) - 3} more" if len(violations) > 3 else "")
        )
    # The rule's points go to functions that are written; whether they are right is for the other checks.
    expect(not unwritten, f"nothing written by hand to check yet: {', '.join(unwritten)}")


# --- build_loss and build_optimizer ----------------------------------------------------------------------

_LOSSES = {"classification": nn.CrossEntropyLoss, "regression": nn.MSELoss, "binary": nn.BCELoss}


def _loss_value(
    loss: RemoteObject, call: str, output: torch.Tensor, target: torch.Tensor, described: str, expected_cls: type
) -> torch.Tensor:
    """The value of ``loss(output, target)``, with a message that names what build_loss returned."""
    what = f"{call} returned {_kind(loss)}; calling it on {described}"
    advice = f"return an instance, nn.{expected_cls.__name__}()"
    if loss.type_name.endswith((".type", "Meta")):
        advice += ", not the class"
    try:
        value = loss(output, target)
    except StudentError as exc:
        fail(f"{what} raised {exc.type_names[0]}: {exc.message}; {advice}")
    if not isinstance(value, torch.Tensor | float) or isinstance(value, bool):
        fail(f"{what} gave {_kind(value)} instead of a loss value; {advice}")
    return torch.as_tensor(value, dtype=torch.float32)


@check(points=2, step=Step.MODEL, slide=slides.LOSS)
def test_build_loss(student: Session) -> None:
    """build_loss returns CrossEntropyLoss, MSELoss and BCELoss for classification, regression and binary"""
    probs, labels = torch.sigmoid(_tensor(3, 4, 3)), (_tensor(4, 4, 3) > 0).float()
    logits, classes = _tensor(5, 4, 3, scale=2.0), torch.tensor([2, 0, 1, 1])
    build_loss = student.module("model").build_loss
    for task, cls in _LOSSES.items():
        call = f"build_loss({task!r})"
        loss = build_loss(task)
        expect(isinstance(loss, RemoteObject), f"{call} returned {_kind(loss)}; expected nn.{cls.__name__}()")
        # Inputs every loss of the table accepts, so a swapped loss gives a number that names itself.
        inputs = [(probs, labels, "predictions in (0, 1) and 0/1 targets, both of shape (4, 3)")]
        if task == "classification":
            inputs.append((logits, classes, "logits of shape (4, 3) and class targets [2, 0, 1, 1]"))
        for output, target, described in inputs:
            value = _loss_value(loss, call, output, target, described, cls)
            expected = cls()(output, target)
            if value.shape != expected.shape or not torch.allclose(value, expected, atol=1e-5, rtol=1e-4):
                like = [o for o in _LOSSES.values() if output is probs and torch.allclose(value, o()(probs, labels))]
                fail(
                    f"{call} returned {_kind(loss)}; calling it on {described} gave {_values(value)}, but "
                    f"nn.{cls.__name__}() gives {_values(expected)}"
                    + (f" (nn.{like[0].__name__}() gives yours)" if like else "")
                    + f": {task} needs nn.{cls.__name__}() with its default settings (the slide's table)"
                )


# Written-out update rules of the torch.optim classes (see grader.checks.optimizers), named alike.
_OPTIMIZERS = {
    "sgd": optimizers.SGD,
    "rmsprop": optimizers.RMSprop,
    "adam": optimizers.Adam,
    "adamw": optimizers.AdamW,
}
# The probe's reference network, Linear(3, 4) -> Tanh -> Linear(4, 2), as nn.Sequential names its parameters.
_NET_SHAPES = {"0.weight": (4, 3), "0.bias": (4,), "2.weight": (2, 4), "2.bias": (2,)}


def _reference_steps(
    state: dict[str, torch.Tensor], cls: type, lr: float, x: torch.Tensor, y: torch.Tensor, steps: int
) -> dict[str, torch.Tensor]:
    """What ``steps`` updates of ``torch.optim.<cls>(net.parameters(), lr=lr)`` do (as the probe does them)."""
    net = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    net.load_state_dict(state)
    optimizer = cls(net.parameters(), lr=lr)
    for _ in range(steps):
        optimizer.zero_grad()
        ((net(x) - y) ** 2).mean().backward()
        optimizer.step()
    return {name: value.detach().clone() for name, value in net.named_parameters()}


def _same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(
        a[k].shape == b[k].shape and torch.allclose(a[k].double(), b[k].double(), atol=1e-6, rtol=1e-5) for k in a
    )


@check(points=2, step=Step.MODEL, slide=slides.OPTIMIZER)
def test_build_optimizer(student: Session) -> None:
    """build_optimizer builds SGD, RMSprop, Adam or AdamW over all the parameters, with lr (default 1e-3)"""
    state = {name: _tensor(10 + i, *shape, scale=1.5) for i, (name, shape) in enumerate(_NET_SHAPES.items())}
    x, y, steps = _tensor(14, 5, 3), _tensor(15, 5, 2), 3
    build_optimizer = student.module("model").build_optimizer
    for name, cls in _OPTIMIZERS.items():
        for lr in (0.05, None):
            net = student.probe(f"{PROBE}:reference_net", state)
            call = f"build_optimizer(model, {name!r}{'' if lr is None else f', lr={lr}'})"
            optimizer = build_optimizer(net, name) if lr is None else build_optimizer(net, name, lr=lr)
            expect(isinstance(optimizer, RemoteObject), f"{call} returned {_kind(optimizer)}, not an optimizer")
            observed = student.probe(f"{PROBE}:optimizer_steps", net, optimizer, x, y, steps)
            _expect_weights(observed, f"the weights after {steps} steps of {call}")
            expected = _reference_steps(state, cls, 1e-3 if lr is None else lr, x, y, steps)
            if _same(observed, expected):
                continue
            frozen = [k for k in expected if k in observed and torch.equal(observed[k], state[k])]
            if frozen:
                fail(
                    f"{call} returned {_kind(optimizer)}; after {steps} steps the parameters {frozen} of a small "
                    "network were never updated: build the optimizer over all of model.parameters()"
                )
            like = [
                f"torch.optim.{other.__name__}(model.parameters(), lr={other_lr:g})"
                for other in _OPTIMIZERS.values()
                for other_lr in (0.05, 1e-3, 1e-2)
                if _same(observed, _reference_steps(state, other, other_lr, x, y, steps))
            ]
            hint = f"; your optimizer updates like {like[0]}" if like else ""
            fail(
                f"{call} returned {_kind(optimizer)}; after {steps} identical training steps on a small network "
                f"its weights differ from those of torch.optim.{cls.__name__}(model.parameters(), "
                f"lr={1e-3 if lr is None else lr:g}) with every other setting at its default{hint}"
            )
