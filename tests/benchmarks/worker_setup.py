"""What building a worker's isolation costs: the median and worst time of ``Isolation.confine`` (namespaces,
the allow-listed view, identity, seccomp) over 20 workers, at the level this user gets.

    python tests/benchmarks/worker_setup.py

Run it as root (namespaces) and as an ordinary user (user namespaces, where allowed). A grading starts
five workers (one per step), so five times the median is what isolation adds to a grading.
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from grader.sandbox import isolation, view  # noqa: E402

RUNS = 20


def main() -> None:
    chosen = isolation.choose()
    base = Path(tempfile.mkdtemp(prefix="grader-setup-bench-"))
    home = base / "home"
    home.mkdir()
    submission = shutil.copytree(ROOT / "solutions" / "hw1", base / "submission")
    plan = view.plan()
    reader, writer = os.pipe()
    if os.fork() == 0:  # the zygote's part: a user namespace enters its own here
        chosen.enter_zygote()
        times = []
        for _ in range(RUNS):
            pid, _ = chosen.fork_worker()
            if pid == 0:
                started = time.perf_counter()
                workspace = view.Workspace(
                    str(submission), str(home), str(submission), (), str(home), 512, chosen.uid, chosen.gid
                )
                chosen.confine(workspace, plan, {writer}, 64)
                os.write(writer, f"{time.perf_counter() - started}\n".encode())
                os._exit(0)
            os.waitpid(pid, 0)
        os._exit(0)
    os.close(writer)
    with os.fdopen(reader) as handle:
        times = [float(line) for line in handle]
    os.wait()
    shutil.rmtree(base, ignore_errors=True)
    print(
        f"{chosen.level}: confine median {statistics.median(times) * 1000:.1f} ms, "
        f"worst {max(times) * 1000:.1f} ms over {len(times)} workers"
    )


if __name__ == "__main__":
    main()
