"""Worker-side helpers for the hw1 model checks.

They read a student's model back as plain data (its registered parameters),
shift its parameters as an optimizer's step would reach them, build a small
reference network with weights the check sends, and run a few fixed optimizer
steps on it. Student code runs in this process and may replace any of them:
the checks never take their word for a verdict. Each value they return is
compared with what the trusted process computes itself, so a replaced helper
earns nothing unless it returns what the real one would for working code.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


def is_module(obj: Any) -> bool:
    """Whether ``obj`` is an ``nn.Module`` (worded into messages only)."""
    return isinstance(obj, nn.Module)


def named_parameters(model: nn.Module) -> dict[str, torch.Tensor]:
    """``{name: value}`` for every parameter ``model`` has registered, detached copies."""
    return {name: param.detach().clone() for name, param in model.named_parameters()}


def shift_parameters(model: nn.Module, delta: float) -> None:
    """Lower every tensor ``model.parameters()`` yields (the optimizer's view of the model) by ``delta``."""
    with torch.no_grad():
        for param in model.parameters():
            param.sub_(delta)


def hidden_layers(model: nn.Module) -> list[str]:
    """Attributes holding layers in a plain list, tuple or dict whose parameters ``model`` has not registered.

    Only worded into a message, after a check already failed on values.
    """
    registered = {id(param) for param in model.parameters()}
    bookkeeping = vars(nn.Module())  # nn.Module's own registries are dicts of modules too
    found = []
    for attr, value in vars(model).items():
        if attr in bookkeeping:
            continue
        items = value.values() if isinstance(value, dict) else value if isinstance(value, list | tuple) else ()
        kinds = [
            type(item).__name__
            for item in items
            if isinstance(item, nn.Module | nn.Parameter)
            and any(
                id(param) not in registered
                for param in ([item] if isinstance(item, nn.Parameter) else item.parameters())
            )
        ]
        if kinds:
            found.append(f"self.{attr} = {type(value).__name__} of {', '.join(kinds)}")
    return found


def reference_net(state: dict[str, torch.Tensor]) -> nn.Module:
    """``Linear(3, 4) -> Tanh -> Linear(4, 2)`` with the weights in ``state`` (names as in ``nn.Sequential``)."""
    net = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    net.load_state_dict(state)
    return net


def optimizer_steps(
    net: nn.Module, optimizer: Any, x: torch.Tensor, y: torch.Tensor, steps: int
) -> dict[str, torch.Tensor]:
    """Run ``steps`` updates of mean squared error on ``(x, y)``; return the weights afterwards."""
    for _ in range(steps):
        optimizer.zero_grad()
        loss = ((net(x) - y) ** 2).mean()
        loss.backward()
        optimizer.step()
    return named_parameters(net)
