"""The by-hand rule's allow-list (grader/checks/hw1/rules.py): what softmax and cross_entropy may use."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.checks.hw1 import rules

_HEADER = "import torch\nimport torch.nn.functional as F\nfrom torch import nn\n\n"
_CROSS_ENTROPY = (
    "\n\ndef cross_entropy(logits, targets):\n"
    "    shifted = logits - logits.amax(dim=1, keepdim=True)\n"
    "    log_probs = shifted - shifted.exp_().sum(dim=1, keepdim=True).log()\n"
    "    return -log_probs.gather(1, targets.long().unsqueeze(1)).mean()\n"
)


def _violations(tmp_path: Path, softmax: str, prelude: str = "", **files: str) -> list[str]:
    """What the rule finds in a model.py whose softmax is ``softmax`` (and a by-hand cross_entropy)."""
    (tmp_path / "model.py").write_text(_HEADER + prelude + softmax + _CROSS_ENTROPY)
    for name, text in files.items():
        (tmp_path / f"{name}.py").write_text(text)
    return [violation.what for violation in rules.find_violations(tmp_path)]


_BY_HAND = (
    "def softmax(logits, dim=-1):\n    return torch.exp(logits - torch.logsumexp(logits, dim=dim, keepdim=True))\n"
)

ALLOWED = {
    "logsumexp": ("", _BY_HAND),
    "max-values": (
        "",
        "def softmax(logits, dim=-1):\n"
        "    e = (logits - logits.max(dim=dim, keepdim=True).values).exp()\n"
        "    return e / e.sum(dim=dim, keepdim=True)\n",
    ),
    "one-hot-and-shapes": (
        "",
        "def softmax(logits, dim=-1):\n"
        "    n = logits.shape[dim]\n"
        "    mask = F.one_hot(torch.arange(n), n).to(logits.dtype)\n"
        "    e = torch.exp(logits - logits.amax(dim=dim, keepdim=True))\n"
        "    return e / (e.sum(dim=dim, keepdim=True) * mask.sum() / n)\n",
    ),
    "own-method": (
        "class Stable:\n"
        "    def normalise(self, values, dim):\n"
        "        e = torch.exp(values - values.amax(dim=dim, keepdim=True))\n"
        "        return e / e.sum(dim=dim, keepdim=True)\n\n\n"
        "_stable = Stable()\n\n\n",
        "def softmax(logits, dim=-1):\n    return _stable.normalise(logits, dim)\n",
    ),
    "builtins-and-errors": (
        "",
        "def softmax(logits, dim=-1):\n"
        "    if not isinstance(logits, torch.Tensor) or len(logits.shape) == 0:\n"
        "        raise ValueError('logits')\n"
        "    return torch.exp(logits - torch.logsumexp(logits, dim=dim, keepdim=True))\n",
    ),
}


@pytest.mark.parametrize("prelude, softmax", ALLOWED.values(), ids=ALLOWED)
def test_elementary_operations_are_allowed(tmp_path: Path, prelude: str, softmax: str) -> None:
    assert _violations(tmp_path, softmax, prelude) == []


CAUGHT = {
    "softmin": ("", "def softmax(logits, dim=-1):\n    return F.softmin(-logits, dim=dim)\n", "F.softmin"),
    "softmin-imported": (
        "from torch.nn.functional import softmin as flip\n\n\n",
        "def softmax(logits, dim=-1):\n    return flip(-logits, dim=dim)\n",
        "torch.nn.functional.softmin (imported as flip)",
    ),
    "module-alias": (
        "_normalise = F.softmin\n\n\n",
        "def softmax(logits, dim=-1):\n    return _normalise(-logits, dim=dim)\n",
        "F.softmin",
    ),
    "distributions-module": (
        "import torch.distributions as D\n\n\n",
        "def softmax(logits, dim=-1):\n    return D.Categorical(logits=logits).probs\n",
        "D.Categorical",
    ),
    "getattr-built-name": (
        "",
        "def softmax(logits, dim=-1):\n    return getattr(torch, 'soft' + 'max')(logits, dim)\n",
        "getattr",
    ),
    "eval": ("", "def softmax(logits, dim=-1):\n    return eval('torch.softmax')(logits, dim)\n", "eval"),
    "tensor-method": ("", "def softmax(logits, dim=-1):\n    return logits.softmax(dim)\n", "logits.softmax"),
    "method-read-as-value": (
        "",
        "def softmax(logits, dim=-1):\n    f = logits.softmax\n    return f(dim)\n",
        "logits.softmax",
    ),
    "star-import": (
        "from torch.nn.functional import *\n\n\n",
        "def softmax(logits, dim=-1):\n    return softmin(-logits, dim=dim)\n",
        "softmin (from a `from ... import *`)",
    ),
    "special-namespace": (
        "",
        "def softmax(logits, dim=-1):\n    return torch.special.softmax(logits, dim)\n",
        "torch.special.softmax",
    ),
    "an-operation-not-listed": (
        "",
        "def softmax(logits, dim=-1):\n    return torch.sigmoid(logits)\n",
        "torch.sigmoid",
    ),
    "helper-module": (
        "import helpers\n\n\n",
        "def softmax(logits, dim=-1):\n    return helpers.normalise(logits, dim)\n",
        "torch.nn.functional.softmin",
    ),
}


@pytest.mark.parametrize("prelude, softmax, what", CAUGHT.values(), ids=CAUGHT)
def test_anything_else_is_caught(tmp_path: Path, prelude: str, softmax: str, what: str) -> None:
    helpers = "import torch.nn.functional\n\n\ndef normalise(x, dim):\n"
    helpers += "    return torch.nn.functional.softmin(-x, dim)\n"
    assert what in _violations(tmp_path, softmax, prelude, helpers=helpers)


def test_a_stub_is_unwritten_and_a_written_function_is_not(tmp_path: Path) -> None:
    (tmp_path / "model.py").write_text(
        _HEADER + "def softmax(logits, dim=-1):\n    raise NotImplementedError\n" + _CROSS_ENTROPY
    )
    assert [entry.split(" ")[0] for entry in rules.unwritten(tmp_path)] == ["softmax"]


@pytest.mark.parametrize(
    "helper, caught",
    [
        ("import sys\nimport torch.nn.functional as F\nsys.modules['model'].softmax = F.softmax\n", True),
        ("import model as m\nimport torch.nn.functional as F\nm.softmax = F.softmax\n", True),
        ("import model\nsetattr(model, 'cross_' + 'entropy', print)\n", True),
        ("import importlib\nimportlib.import_module('model').softmax = print\n", True),
        (
            "import re\nPATTERN = re.compile(',')\n\nclass Net:\n    def __init__(self):\n        self.softmax = 1\n",
            False,
        ),
    ],
)
def test_replacing_the_functions_at_run_time_from_another_file_is_caught(
    tmp_path: Path, helper: str, caught: bool
) -> None:
    """The behaviour checks would run the replacement (F.softmax) while model.py shows a body written by hand."""
    found = _violations(tmp_path, _BY_HAND, prelude="import helper\n", helper=helper)
    assert bool(found) is caught, found
