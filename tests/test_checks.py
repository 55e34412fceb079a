"""The helpers checks build their messages with (grader/checks/__init__.py), and hw2's messages for realistic
bugs (hw1's are asserted on its audit, in test_mutation)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import ROOT, corpus, materialize

from grader.checks import CheckFailure, explain_loss_arguments, loss_number
from grader.errors import StudentError


def _error(type_names: list[str], message: str) -> StudentError:
    return StudentError(type_names, message, "train.py line 45, in train_one_epoch", "")


@pytest.mark.parametrize(
    "message",
    [
        "\"log_softmax_lastdim_kernel_impl\" not implemented for 'Long'",  # PyTorch on a CPU
        "\"host_softmax\" not implemented for 'Long'",  # on a GPU
        "\"log_softmax_lastdim_kernel_impl\" not implemented for 'Int'",
    ],
)
def test_pytorchs_not_implemented_error_for_integer_logits_is_named_swapped_arguments(message: str) -> None:
    error = _error(["NotImplementedError", "RuntimeError", "Exception"], message)
    with pytest.raises(CheckFailure) as failed:
        explain_loss_arguments(error, "output", "y")
    text = str(failed.value)
    assert message in text and "PyTorch's, not a stub's" in text and "arguments are swapped" in text
    assert "loss_fn(output, y)" in text and "logits" in text


@pytest.mark.parametrize(
    "types, message",
    [
        (["NotImplementedError", "RuntimeError", "Exception"], ""),  # the stub's own
        (["NotImplementedError", "RuntimeError", "Exception"], "write train_one_epoch (Step 3)"),
        (["RuntimeError", "Exception"], "\"log_softmax_lastdim_kernel_impl\" not implemented for 'Long'"),
        (["NotImplementedError", "RuntimeError", "Exception"], "\"addmm_impl_cpu_\" not implemented for 'Long'"),
    ],
)
def test_other_errors_are_left_to_the_check(types: list[str], message: str) -> None:
    explain_loss_arguments(_error(types, message), "output", "y")


@pytest.mark.parametrize(
    "value, number",
    [
        (0.5, 0.5),
        (2, 2.0),
        (torch.tensor(1.25), 1.25),
        (torch.tensor([1.25]), 1.25),
        (torch.tensor(1.5, requires_grad=True) * 2, 3.0),
        (True, None),
        (torch.tensor(1), None),
        (torch.tensor([0.5, 0.5]), None),
        ("0.5", None),
        ([0.5], None),
    ],
)
def test_loss_number_takes_python_numbers_and_one_element_float_tensors(value: object, number: float | None) -> None:
    assert loss_number(value) == number


_GRADE = """
import json, sys
from pathlib import Path
from grader import assignments, reporters
from grader.runner import Grader
grader = Grader(assignments.get("hw2"))
reports = {name: json.loads(reporters.get("json").render(grader.grade(Path(name)))) for name in sys.argv[1:]}
grader.close()
print(json.dumps(reports))
"""

#: hw2 bugs and, for each, a check and what its message must say (or None: the check passes).
_HW2 = {
    "read-rows-split-on-commas": [
        ("test_read_rows", "csv.DictReader"),
        ("test_read_rows", "may hold commas, quotes and line breaks"),
        ("test_dataset_items", "csv.DictReader"),
    ],
    "train-loss-arguments-swapped": [
        ("test_text_pipeline_reaches_accuracy", "arguments are swapped"),
        ("test_text_pipeline_reaches_accuracy", "PyTorch's, not a stub's"),
        ("test_one_epoch_moves_batches_to_device", "loss_fn was called with the labels first"),
    ],
    "train-epoch-loss-tensor": [
        ("test_one_epoch_returns_weighted_mean_loss", "is a tensor"),
        ("test_train_runs_epochs_with_clipping", None),
        ("test_text_pipeline_reaches_accuracy", None),
    ],
}


def test_hw2_bugs_get_messages_that_name_their_cause(tmp_path: Path) -> None:
    """Issue 17: quoted CSV cells, swapped loss arguments and a tensor loss, each said as such, in its own check."""
    bugs = {variant.name: variant for variant in corpus("hw2").buggy}
    folders = [str(materialize(bugs[name].edits, tmp_path / name, ROOT / "solutions" / "hw2")) for name in _HW2]
    done = subprocess.run(
        [sys.executable, "-c", _GRADE, *folders], cwd=ROOT, capture_output=True, text=True, timeout=900, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    reports = json.loads(done.stdout.splitlines()[-1])
    for name, expectations in _HW2.items():
        tests = {test["check"]: test for test in reports[str(tmp_path / name)]["tests"]}
        for check, phrase in expectations:
            test = tests[check]
            if phrase is None:
                assert test["status"] == "passed", (name, check, test["output"])
            else:
                assert test["status"] == "failed" and phrase in test["output"], (name, check, test["output"])
