"""Worker-side helpers for the hw2 model checks: a student's model read back as plain data."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


def is_module(obj: Any) -> bool:
    """Whether ``obj`` is an ``nn.Module`` (worded into messages only)."""
    return isinstance(obj, nn.Module)


def named_parameters(model: nn.Module) -> dict[str, torch.Tensor]:
    """``{name: value}`` for every parameter ``model`` has registered, detached copies on the CPU."""
    return {name: param.detach().cpu().clone() for name, param in model.named_parameters()}


def shift_parameters(model: nn.Module, delta: float) -> None:
    """Lower every tensor ``model.parameters()`` yields (the optimizer's view of the model) by ``delta``."""
    with torch.no_grad():
        for param in model.parameters():
            param.sub_(delta)
