"""Helpers shared by the Step 2 (Model) and end-to-end checks: MyModel built in the worker, read back here.

A model is read as plain tensors: the parameters ``named_parameters`` reports, checked against what
``model.parameters()`` hands an optimizer (see :func:`read`), and its forward pass is recomputed here from
them (:class:`Layers`). The worker-side probes only carry values; every verdict compares those values with
what this process computes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import torch
from hypothesis import Phase
from torch import nn

from grader.checks import expect, expect_tensor, fail, show
from grader.errors import StudentError, SubmissionError
from grader.sandbox.client import RemoteObject, Session

PROBE = "grader.probes.hw1.model"
# The attributes nn.Module.__init__ creates: an AttributeError naming one means super().__init__() never ran.
_MODULE_STATE = frozenset(vars(nn.Module()))
SLIDE_ATOL = 1.5e-3  # the slides cut their numbers to three decimals
# No "explain" phase: it reruns a failing check hundreds of times and only adds comments to the failing input.
PHASES = (Phase.explicit, Phase.generate, Phase.shrink)


def seeded(seed: int, *shape: int, scale: float = 1.0) -> torch.Tensor:
    """A standard normal tensor drawn from ``seed`` alone, times ``scale``."""
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed)) * scale


def values(tensor: torch.Tensor) -> str:
    """A tensor's values rounded to 4 decimals, as nested lists (for inputs and outputs in messages)."""
    if tensor.numel() > 64:
        tensor = tensor.flatten()[:64]
    return show(torch.round(tensor.detach().double(), decimals=4).tolist())


def kind(value: Any) -> str:
    """What a student's function returned, for messages (the worker's claim for a handle)."""
    return f"a {value.type_name}" if isinstance(value, RemoteObject) else f"{show(value)} ({type(value).__name__})"


@contextlib.contextmanager
def module_state(call: str) -> Iterator[None]:
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


def build(student: Session, in_features: int, hidden: int, classes: int) -> RemoteObject:
    """The student's ``MyModel(in_features, hidden, classes)``, checked to be an nn.Module."""
    call = f"MyModel({in_features}, {hidden}, {classes})"
    with module_state(call):
        model = student.module("model").MyModel(in_features, hidden, classes)
    expect(
        isinstance(model, RemoteObject) and student.probe(f"{PROBE}:is_module", model),
        f"{call} returned {kind(model)}, which is not an nn.Module: MyModel must subclass torch.nn.Module",
    )
    return model


#: What :func:`read` subtracts from every tensor ``model.parameters()`` yields (exact in float32).
SHIFT = 0.125


@dataclass(frozen=True)
class Reading:
    """One MyModel built in the worker, and its parameters before and after :func:`read` shifted them."""

    model: RemoteObject
    call: str
    before: dict[str, torch.Tensor]
    after: dict[str, torch.Tensor]
    #: The forward pass on the input given to :func:`read`, before the shift (None when none was given).
    output: torch.Tensor | None = None


def read(student: Session, in_features: int, hidden: int, classes: int, x: torch.Tensor | None = None) -> Reading:
    """Build ``MyModel(in_features, hidden, classes)`` and read its parameters, shifting them on the way.

    ``named_parameters`` is read, then every tensor ``model.parameters()`` yields (what an optimizer is
    given) is lowered by :data:`SHIFT` in the worker, then ``named_parameters`` is read again: the
    parameters are the model's registered ones only if each moved by exactly :data:`SHIFT`
    (:func:`registered`). ``x``: run the forward pass on it before the shift too.
    """
    model = build(student, in_features, hidden, classes)
    call = f"MyModel({in_features}, {hidden}, {classes})"
    before = _named_parameters(student, model, call)
    output = None if x is None else forward(model, x, call)
    with module_state(f"{call}.parameters()"):
        student.probe(f"{PROBE}:shift_parameters", model, SHIFT)
    return Reading(model, call, before, _named_parameters(student, model, call), output)


def registered(student: Session, reading: Reading) -> dict[str, torch.Tensor]:
    """The model's parameters after the shift, once shown to be the ones it registers; else a failure saying why.

    Verdict: every tensor ``named_parameters`` reported moved by exactly -:data:`SHIFT` when the tensors of
    ``model.parameters()`` were shifted in the worker, and no other did. Reported tensors that did not move
    are not what an optimizer would train (layers in a plain list, a replaced probe).
    """
    call, before, after = reading.call, reading.before, reading.after
    if not after:
        fail(f"{call}.parameters() is empty{_unregistered(student, reading)}: {UNREGISTERED}")
    unmoved = [
        name
        for name, value in after.items()
        if name not in before
        or value.shape != before[name].shape
        or not torch.allclose(value.double(), before[name].double() - SHIFT, atol=1e-6, rtol=0)
    ]
    if unmoved or set(before) != set(after):
        fail(
            f"{call}: lowering every tensor of model.parameters() by {SHIFT} (what an optimizer's step reaches) "
            f"left {', '.join(unmoved) or 'some parameters'} as they were, so they are not registered with "
            f"the model{_unregistered(student, reading)}: {UNREGISTERED}"
        )
    return after


#: Why unregistered layers matter, for messages.
UNREGISTERED = (
    "nn.Module registers only layers assigned as attributes (self.fc1 = nn.Linear(...)) or held in "
    "nn.ModuleList / nn.Sequential; layers in a plain Python list are invisible to it, so model.parameters() "
    "misses them and the optimizer would not train them"
)


def _unregistered(student: Session, reading: Reading) -> str:
    """Where the worker says unregistered layers are kept (for the message only: the worker could say anything)."""
    try:
        found = student.probe(f"{PROBE}:hidden_layers", reading.model)
    except SubmissionError:
        return ""
    if not isinstance(found, list) or not found or not all(isinstance(item, str) for item in found):
        return ""
    return f" ({'; '.join(found)[:300]})"


def _named_parameters(student: Session, model: RemoteObject, call: str) -> dict[str, torch.Tensor]:
    """The model's named parameters as the worker reports them, checked to be ``{name: tensor}``."""
    with module_state(f"{call}.named_parameters()"):
        params = student.probe(f"{PROBE}:named_parameters", model)
    expect_weights(params, f"{call}.named_parameters()")
    return params


def expect_weights(params: Any, what: str) -> None:
    """Probe answers come from the student's process: make sure they are {name: tensor} before using them."""
    expect(
        isinstance(params, dict) and all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in params.items()),
        f"{what} could not be read as {{name: tensor}}: got {show(params)}",
    )


def forward(model: RemoteObject, x: torch.Tensor, call: str) -> torch.Tensor:
    """``model(x)``, checked to be a tensor."""
    with module_state(f"{call}(x)"):
        return expect_tensor(model(x), f"{call}(x) for x of shape {tuple(x.shape)}")


def shapes(params: dict[str, torch.Tensor]) -> str:
    """Each parameter's name and shape, for messages."""
    return ", ".join(f"{name} {tuple(value.shape)}" for name, value in params.items()) or "none"


# --- MyModel: construction and registration -------------------------------------------------------------


# --- The contract's network, recomputed here ---------------------------------------------------------------


@dataclass(frozen=True)
class Form:
    """What a forward pass does around its two Linear layers: the activation between, and a squash after."""

    hidden: str
    output: str = ""
    #: How a message names a forward of this form that is not the contract's (empty for the contract's).
    mistake: str = ""

    @property
    def raw(self) -> bool:
        """Whether the forward returns the last layer's scores themselves (logits), unsquashed."""
        return not self.output


_ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "ReLU": torch.relu,
    "": lambda values: values,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "softmax": lambda values: torch.softmax(values, dim=1),
    "log_softmax": lambda values: torch.log_softmax(values, dim=1),
}
#: The contract's forward (Linear -> ReLU -> Linear, logits) first, then the usual mistakes.
CORRECT = Form("ReLU")
FORMS = (
    CORRECT,
    Form("", mistake="Linear -> Linear (the ReLU is missing)"),
    Form("sigmoid", mistake="Linear -> sigmoid -> Linear (use ReLU)"),
    Form("tanh", mistake="Linear -> tanh -> Linear (use ReLU)"),
    Form("ReLU", "softmax", "Linear -> ReLU -> Linear -> softmax (return the logits, without softmax)"),
    Form("ReLU", "log_softmax", "Linear -> ReLU -> Linear -> log_softmax (return the logits)"),
    Form("ReLU", "ReLU", "Linear -> ReLU -> Linear -> ReLU (no ReLU after the last layer)"),
    Form("ReLU", "sigmoid", "Linear -> ReLU -> Linear -> sigmoid (return the logits)"),
)


@dataclass(frozen=True)
class Layers:
    """Two Linear layers, W as (out, in) as nn.Linear keeps it: ``x @ w1.T + b1`` then ``h @ w2.T + b2``."""

    w1: torch.Tensor
    b1: torch.Tensor
    w2: torch.Tensor
    b2: torch.Tensor

    def forward(self, x: torch.Tensor, form: Form = CORRECT) -> torch.Tensor:
        """The network's output for ``x`` (float32), computed here."""
        hidden = _ACTIVATIONS[form.hidden](x.float() @ self.w1.T + self.b1)
        return _ACTIVATIONS[form.output](hidden @ self.w2.T + self.b2)


def candidates(params: dict[str, torch.Tensor], in_features: int, classes: int) -> list[Layers]:
    """Every way ``params`` can be two Linear layers from ``in_features`` to ``classes`` (any hidden width).

    Two matrices (either may be stored transposed) and up to two biases (a missing one counts as zero);
    anything else is no such network. Several readings are possible when shapes coincide (a square matrix,
    hidden width equal to the classes): :func:`identify` picks the one the forward pass agrees with.
    """
    values = [value.detach().float() for value in params.values()]
    matrices = [value for value in values if value.dim() == 2]
    vectors = [value for value in values if value.dim() == 1]
    if len(matrices) != 2 or len(vectors) > 2 or len(matrices) + len(vectors) != len(values):
        return []
    found = []
    for first, second in (matrices, matrices[::-1]):
        for w1 in (first, first.T):
            for w2 in (second, second.T):
                if w1.shape[1] != in_features or w2.shape != (classes, w1.shape[0]):
                    continue
                for b1, b2 in _biases(vectors, w1.shape[0], classes):
                    found.append(Layers(w1, b1, w2, b2))
    return found


def _biases(vectors: list[torch.Tensor], hidden: int, classes: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    zeros = (torch.zeros(hidden), torch.zeros(classes))
    if not vectors:
        return [zeros]
    if len(vectors) == 1:
        (only,) = vectors
        return [
            pair
            for pair in ((only, zeros[1]), (zeros[0], only))
            if pair[0].shape == (hidden,) and pair[1].shape == (classes,)
        ]
    return [(b1, b2) for b1, b2 in (vectors, vectors[::-1]) if b1.shape == (hidden,) and b2.shape == (classes,)]


def identify(
    observed: torch.Tensor,
    x: torch.Tensor,
    layers: list[Layers],
    forms: tuple[Form, ...] = FORMS,
    atol: float = 1e-5,
    rtol: float = 1e-4,
) -> tuple[Layers, Form] | None:
    """The reading of the parameters and the form whose recomputation here equals ``observed`` (first match).

    Forms are tried in order, so the contract's own forward wins wherever another form gives the same numbers.
    """
    observed = observed.detach().float()
    for form in forms:
        for candidate in layers:
            expected = candidate.forward(x, form)
            if observed.shape == expected.shape and torch.allclose(observed, expected, atol=atol, rtol=rtol):
                return candidate, form
    return None
