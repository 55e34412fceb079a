"""Helpers shared by the Step 2 (Model) checks: building MyModel in the worker and reading it back."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import torch
from hypothesis import Phase
from torch import nn

from grader.checks import expect, expect_tensor, fail, show
from grader.errors import StudentError
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


def parameters(student: Session, model: RemoteObject, call: str) -> dict[str, torch.Tensor]:
    """The model's named parameters, read back as plain tensors."""
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
