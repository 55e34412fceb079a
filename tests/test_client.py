"""The trusted side of the boundary without a worker: what a hang costs later calls (grader.sandbox.client.Hangs)."""

from __future__ import annotations

from grader.sandbox import Hangs


def test_a_call_that_hung_fails_at_once_later_and_others_still_run() -> None:
    hangs = Hangs()
    hangs.record("data", "len data.TitanicDataset", "len(ds) did not finish within 3 s")
    reason = hangs.earlier("data", "len data.TitanicDataset") or ""
    assert "already ran out of time" in reason and "len(ds) did not finish within 3 s" in reason
    assert hangs.earlier("data", "getitem data.TitanicDataset") is None
    assert hangs.earlier("data", "call data.HandWrite") is None
    # A library type's entry (a DataLoader, a Subset) is its own in each module that made one.
    assert hangs.earlier("model", "len data.TitanicDataset") is None
    assert hangs.earlier(None, "len data.TitanicDataset") is None


def test_a_module_that_hangs_at_import_fails_every_call_into_it() -> None:
    hangs = Hangs()
    hangs.record("data", "call data.HandWrite", "HandWrite() did not finish within 3 s")
    hangs.record("data", "import data", "importing data.py did not finish within 3 s")
    reason = hangs.earlier("data", "call data.split_dataset") or ""
    assert "data.py already ran out of time" in reason and "importing data.py" in reason
    assert hangs.earlier("model", "import model") is None


def test_a_module_that_hangs_everywhere_counts_as_hung_after_a_few_entries() -> None:
    hangs = Hangs(per_module=2)
    hangs.record("model", "call model.softmax", "softmax did not finish within 3 s")
    assert hangs.earlier("model", "call model.cross_entropy") is None
    hangs.record("model", "call model.cross_entropy", "cross_entropy did not finish within 3 s")
    hangs.record("model", "call model.cross_entropy", "recorded once")
    reason = hangs.earlier("model", "call model.build_loss") or ""
    assert "model.py already ran out of time" in reason and "softmax did not finish" in reason
    assert hangs.earlier("train", "call train.train") is None


def test_probes_replaced_with_loops_cost_a_few_budgets_not_one_per_check() -> None:
    """A probe given no student object runs the grader's helpers alone, which student code may have replaced."""
    from grader.sandbox.client import PROBES, _origin

    assert _origin("probe", {"name": "grader.probes.hw1.model:reference_net", "args": [{}]}) == PROBES
    hangs = Hangs()
    for name in ("reference_net", "optimizer_steps", "build_loader"):
        hangs.record(PROBES, f"{name}()", f"{name}() did not finish within 2 s")
    reason = hangs.earlier(PROBES, "other_probe()") or ""
    assert reason.startswith("the grader's helpers in the worker already ran out of time"), reason
