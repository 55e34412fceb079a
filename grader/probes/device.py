"""Worker-side device placement, and the guard that makes device mistakes visible on a CPU runner.

On a GPU runner the checks put the reference model on ``cuda`` and the loaders
yield CPU tensors, as a real DataLoader does: a training loop or ``predict``
that forgets ``x.to(device)`` fails with PyTorch's own "Expected all tensors to
be on the same device" error. On a CPU runner nothing would fail, so the same
submission would get more points there. The guard closes that gap: batches are
:class:`Unmoved` tensors until student code moves them with ``.to(device)``
(or anything else given ``device=``), and the models and losses the checks hand
over refuse an unmoved input with the same message. Grades then agree on both
kinds of runner. Known limits (lenient on the CPU only): a hard-coded
``.to("cpu")``, numpy round trips and ``torch.tensor(batch)`` lose the mark;
``.numpy()`` on a GPU tensor fails on a GPU alone.

A check may name the device with an index, ``cpu:0``: then only a move to that
device unmarks a batch, so a batch that reaches ``train_one_epoch``'s default
``device="cpu"`` (a ``train`` that does not pass its ``device`` on) is still
refused, as it is on a GPU.

The guard lives in the worker, where student code could disable it: a check
that uses it passes only on a result the trusted process verifies (weights,
predictions), never because nothing raised. What it cannot stop on a CPU is a
submission that switches it off; on a GPU runner the device is real.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import torch
import torch.utils.data
from torch import nn

#: The start of PyTorch's message for a tensor on the wrong device (what the checks look for).
MISMATCH = "Expected all tensors to be on the same device"
_MESSAGE = (
    f"{MISMATCH}, but found at least two devices: the model's and the DataLoader's (this batch was "
    "not moved with .to(device))"
)


class Unmoved(torch.Tensor):
    """A batch tensor where the DataLoader made it; moving it to :attr:`target` gives a plain tensor.

    Every other operation keeps the mark, as it keeps a real tensor's device.
    """

    #: The device the batch must reach: ``cpu``, or ``cpu:0`` when the check wants that very device.
    target = torch.device("cpu")

    @classmethod
    def __torch_function__(
        cls, func: Callable[..., Any], types: Any, args: tuple[Any, ...] = (), kwargs: dict[str, Any] | None = None
    ) -> Any:
        """Run ``func``; drop the mark from its result when it moved its input to the device."""
        kwargs = kwargs or {}
        result = super().__torch_function__(func, types, args, kwargs)
        return _plain(result) if _moves(func, args, kwargs, cls.target) else result


class _UnmovedToIndex(Unmoved):
    """A batch that only a move to ``cpu:0`` (the device given with its index) unmarks."""

    target = torch.device("cpu", 0)


def _marker(device: str) -> type[Unmoved]:
    return _UnmovedToIndex if torch.device(device).index is not None else Unmoved


def _moves(func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], target: torch.device) -> bool:
    """Whether ``func(*args, **kwargs)`` puts its tensor on ``target``."""
    if func is torch.Tensor.to:
        # _parse_to does not take .to()'s `copy` flag: drop it, as a keyword or as a trailing positional.
        rest, options = args[1:], {key: value for key, value in kwargs.items() if key != "copy"}
        while True:
            try:
                device = torch._C._nn._parse_to(*rest, **options)[0]
                break
            except (TypeError, RuntimeError):
                if not rest:
                    return False
                rest = rest[:-1]
        return device is not None and _reaches(device, target)
    return _on_cpu(kwargs.get("device"), target)  # zeros_like(x, device=), x.new_tensor(x, device=): made there


def _reaches(device: torch.device, target: torch.device) -> bool:
    """Whether ``device`` is ``target`` (with ``target``'s index when it has one)."""
    return device.type == target.type and (target.index is None or device.index == target.index)


def _on_cpu(device: Any, target: torch.device = Unmoved.target) -> bool:
    """Whether a ``device=`` argument names ``target`` (the guarded runner's CPU)."""
    try:
        return device is not None and _reaches(torch.device(device), target)
    except (TypeError, RuntimeError, ValueError):
        return False


def _plain(value: Any) -> Any:
    if isinstance(value, Unmoved):
        return value.as_subclass(torch.Tensor)
    if isinstance(value, tuple | list):
        return type(value)(_plain(item) for item in value)
    return value


def _constructor(original: Callable[..., Any]) -> Callable[..., Any]:
    """``torch.as_tensor``/``torch.asarray`` that count ``device=`` as a move (they bypass ``__torch_function__``)."""

    @functools.wraps(original)
    def wrapper(data: Any, *args: Any, **kwargs: Any) -> Any:
        result = original(data, *args, **kwargs)
        marker = type(data) if isinstance(data, Unmoved) else Unmoved
        if _on_cpu(kwargs.get("device"), marker.target):
            return result.as_subclass(torch.Tensor) if isinstance(result, Unmoved) else result
        if isinstance(data, Unmoved) and type(result) is torch.Tensor:  # as_tensor(batch, dtype=): same device
            return result.as_subclass(marker)
        return result

    wrapper.__dict__["_grader_guard"] = True
    return wrapper


def _install_constructors() -> None:
    """Let ``torch.as_tensor(batch, device=device)`` move a batch, as it does on a GPU (once per worker)."""
    for name in ("as_tensor", "asarray"):
        if not getattr(getattr(torch, name), "_grader_guard", False):
            setattr(torch, name, _constructor(getattr(torch, name)))


def mark(batch: Any, device: str = "cpu") -> Any:
    """``batch`` (a tensor, or a tuple, list or dict of them) with every tensor marked: not yet on ``device``."""
    _install_constructors()
    if type(batch) is torch.Tensor:
        return batch.as_subclass(_marker(device))
    if isinstance(batch, tuple) and hasattr(batch, "_fields"):  # a namedtuple, as default_collate keeps it
        return type(batch)(*(mark(item, device) for item in batch))
    if isinstance(batch, tuple | list):
        return type(batch)(mark(item, device) for item in batch)
    if isinstance(batch, dict):
        return {key: mark(value, device) for key, value in batch.items()}
    return batch


def refuse_unmoved(module: nn.Module) -> None:
    """Make ``module`` raise PyTorch's device-mismatch error when it is called with an unmoved batch."""

    def check(_module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        if any(isinstance(arg, Unmoved) for arg in (*args, *kwargs.values())):
            raise RuntimeError(_MESSAGE)

    module.register_forward_pre_hook(check, with_kwargs=True)


def guarded(device: str) -> bool:
    """Whether ``device`` is the CPU, where the guard stands in for a real device mismatch."""
    return torch.device(device).type == "cpu"


def place(device: str, *modules: nn.Module, guard: bool = True) -> None:
    """Put ``modules`` on ``device``; on the CPU, guard them against unmoved batches (unless not ``guard``)."""
    for module in modules:
        module.to(device)
        if guarded(device) and guard:
            refuse_unmoved(module)


def guard_loader(loader: Any, device: str, guard: bool = True) -> None:
    """On the CPU, make a DataLoader yield batches marked until they reach ``device`` (else: left alone)."""
    if not guarded(device) or not guard or not isinstance(loader, torch.utils.data.DataLoader):
        return
    loader.collate_fn = _MarkedCollate(loader.collate_fn, device)


class _MarkedCollate:
    """``collate`` whose batches are marked; a module-level class, so spawn/forkserver workers can pickle it."""

    def __init__(self, collate: Callable[[Any], Any], device: str = "cpu") -> None:
        self.collate = collate
        self.device = device

    def __call__(self, samples: Any) -> Any:
        return mark(self.collate(samples), self.device)


# Before any student module is imported (the worker imports the probe modules first), so that
# `from torch import as_tensor` in a submission gets the guarded version too.
_install_constructors()
