"""Step 2 (Model): build_optimizer, judged by the updates it makes, replayed here."""

from __future__ import annotations

import torch
from torch import nn

from grader.checks import check, expect, fail, optimizers
from grader.checks.hw1 import slides
from grader.checks.hw1.model_support import (
    PROBE,
    expect_weights,
    kind,
    seeded,
)
from grader.sandbox.client import RemoteObject, Session

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


@check(points=2, step="model", slide=slides.OPTIMIZER)
def test_build_optimizer(student: Session) -> None:
    """build_optimizer builds SGD, RMSprop, Adam or AdamW over all the parameters, with lr (default 1e-3)"""
    # Verdict: the weights after 3 steps of the returned optimizer on a reference network (the
    # optimizer_steps probe runs them and only carries the weights back), against the same steps replayed
    # here with grader.checks.optimizers. A replaced probe would have to return exactly those updates.
    state = {name: seeded(10 + i, *shape, scale=1.5) for i, (name, shape) in enumerate(_NET_SHAPES.items())}
    x, y, steps = seeded(14, 5, 3), seeded(15, 5, 2), 3
    build_optimizer = student.module("model").build_optimizer
    for name, cls in _OPTIMIZERS.items():
        for lr in (0.05, None):
            net = student.probe(f"{PROBE}:reference_net", state)
            call = f"build_optimizer(model, {name!r}{'' if lr is None else f', lr={lr}'})"
            optimizer = build_optimizer(net, name) if lr is None else build_optimizer(net, name, lr=lr)
            expect(isinstance(optimizer, RemoteObject), f"{call} returned {kind(optimizer)}, not an optimizer")
            observed = student.probe(f"{PROBE}:optimizer_steps", net, optimizer, x, y, steps)
            expect_weights(observed, f"the weights after {steps} steps of {call}")
            expected = _reference_steps(state, cls, 1e-3 if lr is None else lr, x, y, steps)
            if _same(observed, expected):
                continue
            frozen = [k for k in expected if k in observed and torch.equal(observed[k], state[k])]
            if frozen:
                fail(
                    f"{call} returned {kind(optimizer)}; after {steps} steps the parameters {frozen} of a small "
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
                f"{call} returned {kind(optimizer)}; after {steps} identical training steps on a small network "
                f"its weights differ from those of torch.optim.{cls.__name__}(model.parameters(), "
                f"lr={1e-3 if lr is None else lr:g}) with every other setting at its default{hint}"
            )
