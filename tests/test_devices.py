"""--device: choosing the device, the CPU runner's device guard, and (marked gpu) grading on a real GPU."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from conftest import SOLUTION, corpus, materialize, run_grader
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from grader import devices
from grader.errors import GraderError, UsageError
from grader.probes.device import MISMATCH, Unmoved, guard_loader, mark, place
from grader.sandbox import zygote
from grader.sandbox.cgroups import Layout
from grader.sandbox.isolation import Session

HAS_CUDA = devices.cuda_available()


def test_cpu_is_always_cpu() -> None:
    assert devices.resolve("cpu") == "cpu"


def test_auto_and_cuda_follow_availability(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(devices, "cuda_available", lambda: False)
    assert devices.resolve("auto") == "cpu"
    with pytest.raises(UsageError, match="no CUDA GPU"):
        devices.resolve("cuda")
    monkeypatch.setattr(devices, "cuda_available", lambda: True)
    assert devices.resolve("auto") == devices.resolve("cuda") == "cuda"


def test_asking_for_cuda_does_not_initialise_it() -> None:
    devices.cuda_available()
    assert not torch.cuda.is_initialized()


@pytest.mark.skipif(HAS_CUDA, reason="this machine has a GPU")
def test_device_cuda_without_a_gpu_is_a_usage_error() -> None:
    done = run_grader("hw1", str(SOLUTION), "--device", "cuda")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("Error: --device cuda")
    assert "Traceback" not in done.stderr


def _cgroups(tmp_path: Path, table: str, files: dict[str, str]) -> tuple[Path, Path]:
    root = tmp_path / "cgroup"
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    (tmp_path / "table").write_text(table)
    return root, tmp_path / "table"


def test_a_cgroup_v1_quota_on_an_ancestor_caps_the_cores(tmp_path: Path) -> None:
    root, table = _cgroups(
        tmp_path,
        "4:memory:/docker/abc\n3:cpu,cpuacct:/docker/abc\n2:cpuacct:/docker/abc\n",
        {
            "cpu,cpuacct/docker/cpu.cfs_quota_us": "150000",
            "cpu,cpuacct/docker/cpu.cfs_period_us": "100000",
            "cpu,cpuacct/docker/abc/cpu.cfs_quota_us": "-1",
            "cpu,cpuacct/docker/abc/cpu.cfs_period_us": "100000",
        },
    )
    assert devices._cgroup_cpu_quota(root, table) == 1.5


def test_a_cgroup_v2_quota_caps_the_cores_and_max_does_not(tmp_path: Path) -> None:
    root, table = _cgroups(tmp_path, "0::/ci/job\n", {"ci/cpu.max": "max 100000", "ci/job/cpu.max": "200000 100000"})
    assert devices._cgroup_cpu_quota(root, table) == 2.0
    (root / "ci/job/cpu.max").write_text("max 100000")
    assert devices._cgroup_cpu_quota(root, table) is None


def test_usable_cores_take_the_quota_rounded_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(devices.os, "sched_getaffinity", lambda pid: set(range(64)))
    monkeypatch.setattr(devices, "_cgroup_cpu_quota", lambda: 1.5)
    assert devices.usable_cores() == 2
    monkeypatch.setattr(devices, "_cgroup_cpu_quota", lambda: None)
    assert devices.usable_cores() == 64


def test_zygote_refuses_to_start_after_cuda_was_initialised(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_initialized", lambda: True)
    with pytest.raises(GraderError, match="CUDA was initialised"):
        zygote.start(Session(Layout("none", None, None)), "test")


@pytest.mark.parametrize(
    "move",
    [
        lambda t: t.to("cpu"),
        lambda t: t.to(device="cpu"),
        lambda t: t.to(torch.device("cpu"), non_blocking=True),
        lambda t: t.to("cpu", torch.float64),
        lambda t: t.float().to("cpu"),
        lambda t: t.to("cpu", copy=True),
        lambda t: t.to("cpu", None, False, True),
        lambda t: torch.zeros_like(t, device="cpu") + 1,
        lambda t: torch.as_tensor(t, device="cpu"),
        lambda t: torch.asarray(t, device="cpu"),
    ],
)
def test_every_way_of_moving_a_batch_counts(move: Any) -> None:
    moved = move(mark(torch.ones(3, 2)))
    assert type(moved) is torch.Tensor
    model = nn.Linear(2, 1)
    place("cpu", model)
    assert model(moved.float()).shape == (3, 1)


@pytest.mark.parametrize(
    "stay",
    [
        lambda t: t,
        lambda t: t.float(),
        lambda t: t.to(torch.float64),
        lambda t: t.view(3, 2) * 2,
        lambda t: torch.as_tensor(t),
        lambda t: torch.as_tensor(t, dtype=torch.float64),
        lambda t: t.cpu(),  # on a GPU runner .cpu() leaves the batch where it was
    ],
)
def test_what_does_not_move_a_batch_keeps_the_mark(stay: Any) -> None:
    kept = stay(mark(torch.ones(3, 2)))
    assert isinstance(kept, Unmoved)
    model = nn.Linear(2, 1)
    place("cpu", model)
    with pytest.raises(RuntimeError, match=MISMATCH):
        model(kept.float())


def test_guarded_loader_yields_unmoved_batches_and_the_loss_refuses_them() -> None:
    loader = DataLoader(TensorDataset(torch.randn(5, 3), torch.arange(5) % 2), batch_size=2)
    guard_loader(loader, "cpu")
    x, y = next(iter(loader))
    assert isinstance(x, Unmoved) and isinstance(y, Unmoved)
    loss_fn = nn.CrossEntropyLoss()
    place("cpu", loss_fn)
    with pytest.raises(RuntimeError, match=MISMATCH):
        loss_fn(torch.randn(2, 2), y)
    with pytest.raises(RuntimeError, match=MISMATCH):
        loss_fn(input=torch.randn(2, 2), target=y)
    assert loss_fn(torch.randn(2, 2), y.to("cpu")).dim() == 0


@pytest.mark.parametrize(
    "move, moved",
    [
        (lambda t: t.to("cpu:0"), True),
        (lambda t: t.to(torch.device("cpu", 0)), True),
        (lambda t: torch.as_tensor(t, device="cpu:0"), True),
        (lambda t: t.to("cpu"), False),  # train_one_epoch's default device: not the one given
        (lambda t: torch.as_tensor(t, device="cpu"), False),
        (lambda t: torch.as_tensor(t.float()), False),
    ],
)
def test_a_batch_for_cpu_0_counts_as_moved_only_there(move: Any, moved: bool) -> None:
    loader = DataLoader(TensorDataset(torch.randn(4, 3)), batch_size=2)
    guard_loader(loader, "cpu:0")
    model = nn.Linear(3, 1)
    place("cpu:0", model)
    batch = move(next(iter(loader))[0])
    if moved:
        assert type(batch) is torch.Tensor and model(batch).shape == (2, 1)
    else:
        with pytest.raises(RuntimeError, match=MISMATCH):
            model(batch)


def test_namedtuple_batches_keep_their_type() -> None:
    from collections import namedtuple

    Sample = namedtuple("Sample", "x y")
    batch = mark(Sample(torch.ones(2, 3), torch.zeros(2)))
    assert type(batch) is Sample and isinstance(batch.x, Unmoved)


def test_no_guard_on_a_gpu_or_when_turned_off() -> None:
    for device, guard in (("cuda", True), ("cpu", False)):
        loader = DataLoader(TensorDataset(torch.randn(4, 3)), batch_size=2)
        guard_loader(loader, device, guard)
        assert type(next(iter(loader))[0]) is torch.Tensor


def _device_checks(document: dict[str, Any]) -> dict[str, float]:
    return {t["name"]: t["score"] for t in document["tests"] if "device" in t["name"]}


@pytest.mark.gpu
@pytest.mark.skipif(not HAS_CUDA, reason="needs a CUDA GPU")
def test_gpu_gives_the_same_grades_as_the_cpu(tmp_path: Path) -> None:
    """The reference solution and the device mistakes get the same verdicts with --device cuda and cpu."""
    hw1 = corpus("hw1")
    chosen = [v for v in hw1.buggy + hw1.correct if "device" in v.name or "moved" in v.name]
    folders = [SOLUTION, *(materialize(v.edits, tmp_path / v.name) for v in chosen)]
    for folder in folders:
        runs = {}
        for device in ("cpu", "cuda"):
            done = run_grader("hw1", str(folder), "--device", device, "--format", "json")
            assert done.returncode in (0, 1), done.stderr
            runs[device] = json.loads(done.stdout)
        assert runs["cpu"]["score"] == runs["cuda"]["score"], folder.name
        verdicts = {device: [(t["name"], t["score"]) for t in run["tests"]] for device, run in runs.items()}
        assert verdicts["cpu"] == verdicts["cuda"], folder.name
