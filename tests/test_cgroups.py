"""cgroup v1, v2, hybrid and none, detected on fake trees (mountinfo, /proc/self/cgroup and cgroup files)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from grader.sandbox import cgroups

V1_MOUNTS = """\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
"""
V1_PROC = "9:name=systemd:/\n8:pids:/ci\n4:memory:/ci/job\n1:cpu:/\n"
V2_MOUNTS = "30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate\n"
V2_PROC = "0::/system.slice/runner.service\n"
HYBRID_MOUNTS = V1_MOUNTS + "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n"
HYBRID_PROC = V1_PROC + "0::/\n"


def _tree(root: Path, folder: str, files: dict[str, str]) -> Path:
    path = root / folder.lstrip("/")
    path.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (path / name).write_text(text)
    return path


def test_v1_controllers_are_found_in_their_own_hierarchies(tmp_path: Path) -> None:
    _tree(tmp_path, "/sys/fs/cgroup/memory/ci/job", {"cgroup.procs": ""})
    _tree(tmp_path, "/sys/fs/cgroup/pids/ci", {"cgroup.procs": ""})
    layout = cgroups.detect(V1_PROC, V1_MOUNTS, prefix=str(tmp_path))
    assert layout.kind == "v1"
    assert layout.memory == cgroups.Controller("memory", 1, f"{tmp_path}/sys/fs/cgroup/memory/ci/job", True)
    assert layout.pids is not None and layout.pids.folder == f"{tmp_path}/sys/fs/cgroup/pids/ci"
    assert "memory: cgroup v1; processes: cgroup v1" in layout.describe()


def test_v2_controllers_come_from_the_unified_hierarchy(tmp_path: Path) -> None:
    own = _tree(tmp_path, "/sys/fs/cgroup/system.slice/runner.service", {"cgroup.controllers": "cpu memory pids\n"})
    layout = cgroups.detect(V2_PROC, V2_MOUNTS, prefix=str(tmp_path))
    assert layout.kind == "v2"
    assert layout.memory == cgroups.Controller("memory", 2, str(own), True)
    assert layout.pids == cgroups.Controller("pids", 2, str(own), True)


def test_a_v2_controller_the_parent_does_not_hand_down_is_missing(tmp_path: Path) -> None:
    _tree(tmp_path, "/sys/fs/cgroup/system.slice/runner.service", {"cgroup.controllers": "cpu pids\n"})
    layout = cgroups.detect(V2_PROC, V2_MOUNTS, prefix=str(tmp_path))
    assert layout.memory is None and layout.pids is not None
    assert "memory: not limited by the kernel (no memory controller)" in layout.describe()


def test_hybrid_uses_v1_controllers_beside_an_empty_unified_tree(tmp_path: Path) -> None:
    _tree(tmp_path, "/sys/fs/cgroup/memory/ci/job", {})
    _tree(tmp_path, "/sys/fs/cgroup/pids/ci", {})
    _tree(tmp_path, "/sys/fs/cgroup/unified", {"cgroup.controllers": "hugetlb\n"})
    layout = cgroups.detect(HYBRID_PROC, HYBRID_MOUNTS, prefix=str(tmp_path))
    assert layout.kind == "hybrid"
    assert layout.memory is not None and layout.memory.version == 1
    assert layout.pids is not None and layout.pids.version == 1


def test_hybrid_with_a_controller_on_the_unified_side(tmp_path: Path) -> None:
    mounts = "\n".join(line for line in HYBRID_MOUNTS.splitlines() if "pids" not in line)
    _tree(tmp_path, "/sys/fs/cgroup/memory/ci/job", {})
    _tree(tmp_path, "/sys/fs/cgroup/unified", {"cgroup.controllers": "pids\n"})
    layout = cgroups.detect(HYBRID_PROC, mounts, prefix=str(tmp_path))
    assert layout.kind == "hybrid"
    assert layout.memory is not None and layout.memory.version == 1
    assert layout.pids is not None and layout.pids.version == 2


def test_no_cgroup_file_system_means_none(tmp_path: Path) -> None:
    mounts = "22 1 0:21 / /proc rw,nosuid - proc proc rw\n"
    layout = cgroups.detect("0::/\n", mounts, prefix=str(tmp_path))
    assert layout == cgroups.Layout("none", None, None)
    assert layout.usable() == ()
    assert "memory: not limited by the kernel" in layout.describe()


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anything: a read-only tree cannot be faked")
def test_a_cgroup_this_process_may_not_write_is_not_used(tmp_path: Path) -> None:
    own = _tree(tmp_path, "/sys/fs/cgroup/system.slice/runner.service", {"cgroup.controllers": "memory pids\n"})
    own.chmod(0o555)
    layout = cgroups.detect(V2_PROC, V2_MOUNTS, prefix=str(tmp_path))
    assert layout.memory is not None and not layout.memory.usable and "not writable" in layout.memory.reason


def test_a_container_mount_shows_the_cgroup_from_its_own_root(tmp_path: Path) -> None:
    # Without a cgroup namespace, a container's hierarchy is mounted from its own cgroup: /docker/ID is "/".
    mounts = "35 31 0:32 /docker/abc /sys/fs/cgroup/memory ro,relatime - cgroup cgroup rw,memory\n"
    _tree(tmp_path, "/sys/fs/cgroup/memory", {})
    layout = cgroups.detect("4:memory:/docker/abc\n", mounts, prefix=str(tmp_path))
    assert layout.memory is not None and layout.memory.folder == f"{tmp_path}/sys/fs/cgroup/memory/"


def test_a_cgroup_outside_the_mounted_tree_is_not_used(tmp_path: Path) -> None:
    mounts = "35 31 0:32 /docker/abc /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    layout = cgroups.detect("4:memory:/elsewhere\n", mounts, prefix=str(tmp_path))
    assert layout.memory is not None and not layout.memory.usable


def test_mountinfo_escapes_are_read(tmp_path: Path) -> None:
    mounts = "30 23 0:26 / /sys/fs/my\\040cgroup rw - cgroup2 cgroup2 rw\n"
    _tree(tmp_path, "/sys/fs/my cgroup/a", {"cgroup.controllers": "memory\n"})
    layout = cgroups.detect("0::/a\n", mounts, prefix=str(tmp_path))
    assert layout.memory is not None and layout.memory.folder == f"{tmp_path}/sys/fs/my cgroup/a"


def test_v2_delegation_enables_the_controllers_for_the_children(tmp_path: Path) -> None:
    own = _tree(
        tmp_path,
        "/sys/fs/cgroup/system.slice/runner.service",
        {"cgroup.controllers": "memory pids\n", "cgroup.subtree_control": "", "cgroup.procs": ""},
    )
    layout = cgroups.delegate(cgroups.detect(V2_PROC, V2_MOUNTS, prefix=str(tmp_path)))
    assert (own / "cgroup.subtree_control").read_text() == "+memory +pids"
    assert [c.name for c in layout.usable()] == ["memory", "pids"]


def test_after_moving_to_the_leaf_the_parent_is_delegated_from(tmp_path: Path) -> None:
    own = _tree(tmp_path, "/sys/fs/cgroup/system.slice/runner.service", {"cgroup.controllers": "memory pids\n"})
    _tree(tmp_path, f"/sys/fs/cgroup/system.slice/runner.service/{cgroups.LEAF}", {})
    proc = f"0::/system.slice/runner.service/{cgroups.LEAF}\n"
    layout = cgroups.detect(proc, V2_MOUNTS, prefix=str(tmp_path))
    assert layout.memory is not None and layout.memory.folder == str(own)


def test_v2_worker_cgroups_get_their_limits_and_report_the_oom_killer(tmp_path: Path) -> None:
    own = _tree(tmp_path, "/sys/fs/cgroup/job", {"cgroup.controllers": "memory pids\n"})
    layout = cgroups.detect("0::/job\n", V2_MOUNTS, prefix=str(tmp_path))
    group = cgroups.WorkerCgroup.create(layout, "grader-1-2", 64, 16)
    # A fake tree has no kernel to make the interface files: they are written as plain files.
    folder = own / "grader-1-2"
    assert group.folders == ((2, str(folder)),) and group.limits_memory
    assert (folder / "memory.max").read_text() == str(64 << 20)
    assert (folder / "memory.swap.max").read_text() == "0"
    assert (folder / "pids.max").read_text() == "16"
    assert not group.out_of_memory() and not group.reached_limit()
    (folder / "memory.events").write_text("low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\n")
    assert group.out_of_memory() and group.reached_limit()


def test_v1_worker_cgroups_get_one_folder_per_controller(tmp_path: Path) -> None:
    memory = _tree(tmp_path, "/sys/fs/cgroup/memory/ci/job", {})
    pids = _tree(tmp_path, "/sys/fs/cgroup/pids/ci", {})
    layout = cgroups.detect(V1_PROC, V1_MOUNTS, prefix=str(tmp_path))
    group = cgroups.WorkerCgroup.create(layout, "grader-1-2", 64, 16)
    assert group.folders == ((1, str(memory / "grader-1-2")), (1, str(pids / "grader-1-2")))
    assert (memory / "grader-1-2" / "memory.limit_in_bytes").read_text() == str(64 << 20)
    (memory / "grader-1-2" / "memory.oom_control").write_text("oom_kill_disable 0\nunder_oom 0\noom_kill 2\n")
    assert group.out_of_memory()
