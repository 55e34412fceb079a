"""What student code can reach at each isolation level: tests/escape.py's probes, run in real workers.

As root the workers get namespaces; as the unprivileged test user (``GRADER_TEST_USER``, default
``grader-test``, created by .ci/run) they get a user namespace, or the session level when it is forced.
Each run is a fresh interpreter (tests/isolation_probe.py).
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT

from grader.sandbox import isolation, view

pytestmark = pytest.mark.sandbox
PROBE = Path(__file__).with_name("isolation_probe.py")
TEST_USER = os.environ.get("GRADER_TEST_USER", "grader-test")
IS_ROOT = os.geteuid() == 0
#: How many more processes than RLIMIT_NPROC's 32 a session-level worker may start: tasks of its user that
#: end while it forks (RLIMIT_NPROC counts per user, not per worker).
_USER_SLACK = 8
#: A SysV IPC key student code creates segments under: none may be left on the machine afterwards.
IPC_KEY = 0x47524144
ALLOWED_DEVICES = {"null", "zero", "full", "random", "urandom", "shm", "fd", "stdin", "stdout", "stderr"}


def _test_user() -> pwd.struct_passwd | None:
    try:
        return pwd.getpwnam(TEST_USER)
    except KeyError:
        return None


USER = _test_user()
needs_root = pytest.mark.skipif(not IS_ROOT, reason="needs root")
needs_user = pytest.mark.skipif(
    not IS_ROOT or USER is None, reason=f"needs root and the unprivileged user {TEST_USER} (.ci/run creates it)"
)


def probe(
    calls: list[list[Any]],
    base: Path,
    level: str | None = None,
    user: pwd.struct_passwd | None = None,
    pass_fds: tuple[int, ...] = (),
    memory_mb: int = 256,
) -> dict[str, Any]:
    """Run the probes (``[label, function, *args]``) at ``level``, as ``user`` (default: this process's)."""
    config = {"base": str(base), "processes": 32, "memory_mb": memory_mb, "timeout": 30, "calls": calls, "level": level}
    command = [sys.executable, str(PROBE), json.dumps(config)]
    if user is not None:
        command = ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups", *command]
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(base), "LANG": "C.UTF-8"}
    done = subprocess.run(
        command, cwd=base, env=env, capture_output=True, text=True, timeout=300, pass_fds=pass_fds, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


@pytest.fixture
def scene() -> Iterator[dict[str, Any]]:
    """Secrets where a grading machine has them: a home with credentials, a root-only socket under /run,
    a terminal, listening sockets, open descriptors. Removed afterwards."""
    made: list[Path] = []
    home = Path(tempfile.mkdtemp(prefix="grader-test-home-", dir="/home" if IS_ROOT else None))
    made.append(home)
    for relative in (".kaggle/kaggle.json", ".pgpass", ".npmrc", ".huggingface/token", ".vault-token", ".bash_history"):
        (home / relative).parent.mkdir(parents=True, exist_ok=True)
        (home / relative).write_text("secret\n")
    keys = Path(tempfile.mkdtemp(prefix="grader-test-keys-", dir="/var/tmp"))
    made.append(keys)
    (keys / "id_rsa").write_text("secret\n")
    (home / ".ssh").symlink_to(keys)  # a linked ~/.ssh, as dotfile managers make
    sockets = []
    run_socket = Path("/run" if IS_ROOT else tempfile.gettempdir()) / f"grader-test-{os.getpid()}.sock"
    for address in (str(run_socket), f"\0grader-test-{os.getpid()}"):
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(address)
        server.listen()
        sockets.append(server)
    run_socket.chmod(0o777)
    tcp = socket.create_server(("127.0.0.1", 0))
    sockets.append(tcp)
    controller, terminal = os.openpty()
    secret_fd = os.open(home / ".pgpass", os.O_RDONLY)
    log = home / "log.txt"
    log_fd = os.open(log, os.O_WRONLY | os.O_CREAT, 0o666)
    try:
        yield {
            "home": home,
            "secrets": [str(home / ".kaggle/kaggle.json"), str(home / ".pgpass"), str(home / ".ssh/id_rsa"),
                        str(home / ".huggingface/token"), str(home / ".bash_history"), str(home)],
            "devices": ["/dev/kmsg", "/dev/console", "/dev/loop0", "/dev/tty", os.ttyname(terminal), "/dev/vda"],
            "sockets": [str(run_socket), f"@grader-test-{os.getpid()}", f"127.0.0.1:{tcp.getsockname()[1]}"],
            "fds": (secret_fd, log_fd),
            "log": log,
        }  # fmt: skip
    finally:
        for fd in (controller, terminal, secret_fd, log_fd):
            os.close(fd)
        for server in sockets:
            server.close()
        run_socket.unlink(missing_ok=True)
        for path in made:
            shutil.rmtree(path, ignore_errors=True)


def _base(owner: pwd.struct_passwd | None) -> Path:
    base = Path(tempfile.mkdtemp(prefix="grader-probe-"))
    if owner is not None:
        os.chown(base, owner.pw_uid, owner.pw_gid)
    return base


def _escape_calls(scene: dict[str, Any]) -> list[list[Any]]:
    repository = [
        str(ROOT / "solutions" / "hw1" / "model.py"),
        str(ROOT / ".git" / "HEAD"),
        str(ROOT / "grader" / "checks" / "hw1" / "audit" / "variants.py"),
        str(ROOT / "grader" / "checks" / "hw1" / "test_model.py"),
        str(ROOT / "grader" / "runner.py"),
        str(ROOT / "README.md"),
    ]
    system = ["/etc/shadow", "/home", "/root/.ssh", "/run", "/var", "/mnt", "/opt", "/srv", "/boot"]
    return [
        ["who", "whoami"],
        ["secrets", "readable", repository + scene["secrets"] + system],
        ["allowed", "readable", [str(ROOT / "grader" / "sandbox" / "wire.py"), "$scratch"]],
        ["devices", "writable", scene["devices"]],
        ["sockets", "connect", scene["sockets"]],
        ["fds", "descriptors", list(scene["fds"])],
        ["keyring", "keyring", "grader-test"],
        ["ipc", "sysv", IPC_KEY, 64],
        ["processes", "processes", 100],
        ["hog", "hog_in_a_daemon", 600],
        ["bomb", "hog", 2000],
        ["fill", "fill", 80, ["/tmp", "/dev/shm", "."]],
        ["refill", "fill", 80, ["/tmp", "/dev/shm", "."]],
        ["environ", "environ_of", "$grader_pid"],
    ]


def _contained(results: dict[str, Any], scene: dict[str, Any], uid: int) -> None:
    """What the namespace levels promise (README, Security model)."""
    who = results["who"]
    assert who["uid"] == who["gid"] == uid != 0 and who["groups"] == []
    assert who["status"] == {
        "CapPrm": "0000000000000000",
        "CapEff": "0000000000000000",
        "CapBnd": "0000000000000000",
        "NoNewPrivs": "1",
        "Seccomp": "2",
    }
    plan = view.plan()
    tops = {path.split("/")[1] for path in (*plan.binds, *(link for link, _ in plan.links))}
    assert set(who["root"]) == tops | {"dev", "etc", "proc", "sys", "tmp"}, "only the allow-list is in the view"
    assert set(who["dev"]) <= ALLOWED_DEVICES
    assert len(who["fds"]) == 4, "stdin, stdout, stderr and the worker's own channel"
    assert results["secrets"] == []
    assert len(results["allowed"]) == 2, results["allowed"]
    assert results["devices"] == []
    assert results["sockets"] == []
    assert results["fds"] == {"read": [], "written": []}
    assert results["keyring"] == -1, "add_key is refused (EPERM)"
    assert results["ipc"]["shm"] >= 0, "a worker has SysV IPC of its own..."
    assert IPC_KEY not in results["after"]["sysv"], "...that goes with it"
    assert results["processes"] <= 32
    assert results["hog"] != 0, "a process that left the worker's session is still held to the memory limit"
    assert results["bomb"]["error"] == "MemoryLimit", results["bomb"]
    assert all(left == [] for left in results["refill"]["left"].values()), "nothing piles up from worker to worker"
    assert sum(results["fill"]["written"].values()) <= 3 * 64, "files are capped (RLIMIT_FSIZE, the tmpfs)"
    assert results["environ"].startswith("error"), "the grading process is out of sight"
    assert results["after"]["processes"] == [], "nothing of the submission outlives the grading"


@needs_root
def test_root_workers_see_only_the_allow_list(scene: dict[str, Any]) -> None:
    if not isolation.choose().contained:
        pytest.skip(f"namespaces are not available here: {isolation.choose().reason}")
    base = _base(None)
    try:
        results = probe(_escape_calls(scene), base, pass_fds=scene["fds"])
    finally:
        shutil.rmtree(base, ignore_errors=True)
    assert results["level"] == "namespaces"
    _contained(results, scene, isolation.worker_id())
    assert scene["log"].read_text() == ""


@needs_user
def test_unprivileged_workers_get_user_namespaces(scene: dict[str, Any]) -> None:
    base = _base(USER)
    os.chown(scene["log"], USER.pw_uid, USER.pw_gid)
    try:
        results = probe(_escape_calls(scene), base, user=USER, pass_fds=scene["fds"])
    finally:
        shutil.rmtree(base, ignore_errors=True)
    if results["level"] != "userns":
        pytest.skip("unprivileged user namespaces are not available on this machine")
    _contained(results, scene, isolation.worker_id())


@needs_user
def test_the_session_fallback_keeps_its_promises(scene: dict[str, Any]) -> None:
    """Without namespaces (forced here): what the README promises for the session level, as an ordinary user."""
    base = _base(USER)
    calls = [
        ["environ", "environ_of", "$grader_pid"],
        ["daemons", "daemons", 6],
        ["keyring", "keyring", "grader-test"],
        ["fds", "descriptors", list(scene["fds"])],
        ["who", "whoami"],
        ["processes", "processes", 100],
        ["hog", "hog_in_a_daemon", 600],
        ["bomb", "hog", 2000],
    ]
    try:
        results = probe(calls, base, level="session", user=USER, pass_fds=scene["fds"])
    finally:
        shutil.rmtree(base, ignore_errors=True)
    assert results["level"] == "session"
    assert results["environ"] == "error: Permission denied", "the grading process is not dumpable"
    assert len(results["daemons"]) == 6 and results["after"]["alive"] == [], "the subreaper kills the whole chain"
    assert results["after"]["processes"] == []
    assert results["keyring"] == -1
    assert results["fds"] == {"read": [], "written": []}
    assert len(results["who"]["fds"]) == 4
    assert results["who"]["status"]["Seccomp"] == "2" and results["who"]["status"]["NoNewPrivs"] == "1"
    # RLIMIT_NPROC stands in for the pids cgroup, per user: 32 more than the user ran when the worker started.
    # What of the user's ends meanwhile (the previous worker, reaped in the background, and its threads) gives
    # back room, so a few more may start; without the cap all 100 would.
    assert results["processes"] <= 32 + _USER_SLACK, "RLIMIT_NPROC stands in for the pids cgroup"
    assert results["hog"] != 0, "RLIMIT_DATA stands in for the memory cgroup, outside the session too"
    assert results["bomb"]["error"] == "MemoryLimit", results["bomb"]


@needs_root
def test_a_wheel_in_a_venv_under_tmp_grades_in_full_and_hides_its_checks(tmp_path: Path) -> None:
    """Installed from a wheel into a virtual environment under /tmp (site-packages holds the checks): the
    worker still finds every module the interpreter may import lazily (PIL's PNG plugin), but not the checks."""
    if not isolation.choose().contained:
        pytest.skip("namespaces are not available here")
    dist, venv = tmp_path / "dist", tmp_path / "venv"
    build = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(dist), "."]
    subprocess.run(build, cwd=ROOT, check=True, capture_output=True, timeout=300)
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    install = [str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", *map(str, dist.glob("*.whl"))]
    subprocess.run(install, check=True, capture_output=True, timeout=300)
    site_packages = subprocess.run(
        [str(python), "-c", "import grader, os; print(os.path.dirname(os.path.dirname(grader.__file__)))"],
        cwd=tmp_path, check=True, capture_output=True, text=True, timeout=60,
    ).stdout.strip()  # fmt: skip
    assert site_packages.startswith(str(venv)), "the wheel's grader, not the checkout's"
    checks = Path(site_packages) / "grader" / "checks" / "hw1" / "test_model.py"
    assert checks.is_file()
    hidden = tmp_path / "hidden"
    hidden.mkdir()
    (hidden / "test_peek.py").write_text(
        "from grader.checks import check, expect\n\n\n"
        '@check(points=1, step="model", slide="Step 2-1 Construct the model")\n'
        "def test_installed_checks_are_unreadable(student):\n"
        '    """student code cannot read the installed checks"""\n'
        f"    seen = student.module('model').peek({str(checks)!r})\n"
        "    expect(seen == '', f'student code read {len(seen)} characters of the installed checks')\n"
    )
    submission = shutil.copytree(ROOT / "solutions" / "hw1", tmp_path / "submission")
    from conftest import PEEK

    with open(submission / "model.py", "a") as handle:
        handle.write(PEEK)
    done = subprocess.run(
        [str(python), "-m", "grader", "hw1", str(submission), "--hidden", str(hidden), "--format", "json"],
        cwd=tmp_path, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    document = json.loads(done.stdout)
    failed = [(t["check"], t["output"]) for t in document["tests"] if t["status"] != "passed"]
    assert document["score"] == document["max_score"] == 101, failed


def test_broad_import_folders_are_never_bound(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A script run from /tmp, a PYTHONPATH of "/", of a home or of a folder holding checkouts puts such a folder
    on sys.path: binding it would show the machine, solutions and .git (or cover the worker's /tmp)."""
    narrow = tmp_path / "modules"
    narrow.mkdir()
    home = os.path.expanduser("~")
    other = tmp_path / "other-checkout"
    (other / "grader" / "checks").mkdir(parents=True)
    (other / "solutions").mkdir()
    project = tmp_path / "project"
    (project / ".git").mkdir(parents=True)
    entries = ["/", "/tmp", home, str(narrow), str(ROOT), str(ROOT.parent), str(other), str(tmp_path), str(project)]
    monkeypatch.setattr(sys, "path", [*sys.path, *entries])
    plan = view.plan()
    for broad in ("/", "/tmp", os.path.realpath(home), str(ROOT), str(ROOT.parent), str(other), str(project)):
        assert os.path.realpath(broad) not in plan.binds, broad
    assert str(tmp_path.resolve()) not in plan.binds, "a folder above another checkout"
    assert str(narrow.resolve()) in plan.binds, "a folder of modules under /tmp (a venv there) is bound"
    assert all(not path.startswith(("/home", "/run", "/var", "/mnt")) for path in plan.binds), plan.binds


@needs_root
def test_the_session_level_as_root_runs_student_code_as_a_user_of_its_own(tmp_path: Path) -> None:
    """Where namespaces fail as root (a container without CAP_SYS_ADMIN: Gradescope's), workers still drop to
    the unused id without capabilities: the grader's files, its site-packages (a .pth there runs in every later
    Python) and the pristine copy of the submission are out of their reach."""
    import grader

    base = _base(None)
    site_packages = Path(grader.__file__).resolve().parents[1]
    targets = [str(ROOT / "README.md"), str(site_packages / "zz_forge.pth"), str(base), "/root/.bashrc"]
    calls = [["who", "whoami"], ["written", "creatable", targets], ["processes", "processes", 100]]
    try:
        results = probe(calls, base, level="session")
    finally:
        shutil.rmtree(base, ignore_errors=True)
    assert results["level"] == "session"
    who = results["who"]
    assert who["uid"] == who["gid"] == isolation.worker_id() and who["groups"] == []
    assert who["status"]["CapEff"] == who["status"]["CapBnd"] == "0000000000000000"
    assert results["written"] == []
    assert results["processes"] <= 32 + _USER_SLACK  # per user (see test_the_session_fallback_keeps_its_promises)
    assert not (site_packages / "zz_forge.pth").exists()


@needs_root
def test_student_code_never_runs_as_root_unless_the_staff_say_so(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Where not even a user of its own can be had (the interpreter out of its reach), a run is refused."""
    from grader import cli
    from grader.sandbox.cgroups import Layout

    keeps_root = isolation.Session(Layout("none", None, None), "namespaces failed as root: test", drops_root=False)
    assert keeps_root.runs_as_root and "runs as root, with every capability" in keeps_root.gaps()[0]
    monkeypatch.setattr(isolation, "choose", lambda: keeps_root)
    assert cli.main(["hw1", str(ROOT / "solutions" / "hw1")]) == 2
    assert capsys.readouterr().err.startswith("Error: student code would run as root with every capability here")
