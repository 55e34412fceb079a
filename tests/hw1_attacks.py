"""Hostile submissions for the adversarial suite (tests/test_sandbox.py).

Each attack is placed on the untouched stubs, so its honest score is 0: whatever
it does, it must score 0, leave nothing behind and change nobody else's score.
``code`` is appended to ``module`` (module-level code runs at import; a ``def``
replaces the stub's function of the same name).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Attack:
    """One hostile submission."""

    name: str
    module: str
    code: str
    why: str


SECRET_ENV = "GRADER_TEST_SECRET"
SECRET_VALUE = "hunter2-do-not-leak-7f3a"

ATTACKS: tuple[Attack, ...] = (
    Attack(
        "spin-forever", "model", "def softmax(logits, dim=-1):\n    while True:\n        pass\n", "an infinite loop"
    ),
    Attack("sleep-forever", "data", "import time\ntime.sleep(10**6)\n", "sleeps at import"),
    Attack(
        "ignore-signals",
        "train",
        (
            "import signal\nfor s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):\n"
            "    signal.signal(s, signal.SIG_IGN)\n"
            "def train_one_epoch(*args, **kwargs):\n    while True:\n        try:\n            while True:\n"
            "                pass\n        except BaseException:\n            pass\n"
        ),
        "catches everything, loops",
    ),
    Attack(
        "fork-bomb",
        "data",
        (
            "import os, time\nfor _ in range(10_000):\n    try:\n        if os.fork() == 0:\n"
            "            time.sleep(1000)\n            os._exit(0)\n    except OSError:\n        break\n"
        ),
        "forks until it cannot",
    ),
    Attack(
        "double-fork-setsid",
        "model",
        (
            "import os, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
            "        time.sleep(1000)\n    os._exit(0)\n"
        ),
        "leaves a daemon behind",
    ),
    Attack(
        "memory-bomb",
        "model",
        ("hog = []\ndef softmax(logits, dim=-1):\n    while True:\n        hog.append(b'x' * 200_000_000)\n"),
        "allocates until killed",
    ),
    Attack(
        "print-flood",
        "data",
        ("import sys\nchunk = 'x' * 1_000_000\nfor _ in range(200):\n    sys.stdout.write(chunk)\n"),
        "prints 200 MB",
    ),
    Attack(
        "big-file",
        "data",
        (
            "try:\n    with open('big.bin', 'wb') as f:\n        for _ in range(200):\n"
            "            f.write(b'x' * 1_000_000)\nexcept OSError:\n    pass\n"
        ),
        "writes 200 MB to disk",
    ),
    Attack(
        "write-outside",
        "data",
        (
            "import os\nfor target in ('/tmp/grader-pwned', os.path.expanduser('~/grader-pwned'), "
            "'/work/grader-pwned', '../grader-pwned', '/root/grader-pwned'):\n"
            "    try:\n        open(target, 'w').write('pwned')\n    except OSError:\n        pass\n"
        ),
        "writes files outside its folder",
    ),
    Attack(
        "plant-in-inputs",
        "data",
        (
            "import os\nclass TitanicDataset:\n    def __init__(self, csv_path):\n"
            "        folder = os.path.dirname(os.path.abspath(csv_path))\n        planted = 0\n"
            "        for n in range(1, 50):\n            try:\n"
            "                os.symlink('/tmp/grader-pwned', os.path.join(folder, f'passengers_{n}.csv'))\n"
            "                planted += 1\n            except OSError:\n                pass\n"
            "        raise RuntimeError('INPUTS WRITABLE' if planted else 'inputs are read-only')\n"
        ),
        "plants links where the grader writes its next input files",
    ),
    Attack(
        "read-stdin", "data", "def split_dataset(*args, **kwargs):\n    return input('answer? ')\n", "waits for input"
    ),
    Attack(
        "breakpoint",
        "evaluate",
        "def evaluate(*args, **kwargs):\n    breakpoint()\n    return 1.0\n",
        "a forgotten breakpoint()",
    ),
    Attack(
        "leak-environment",
        "model",
        (
            "import os\nfound = [f'{k}={v}' for k, v in os.environ.items()]\nfor pid in os.listdir('/proc'):\n"
            "    try:\n        found += open(f'/proc/{pid}/environ').read().split('\\0')\n    except OSError:\n"
            "        pass\ntry:\n    found += open(f'/proc/{os.getppid()}/environ').read().split('\\0')\n"
            "except OSError:\n    pass\n"
            "# Only what looks like a secret, so that the error message's cap cannot hide a leak.\n"
            "raise RuntimeError(repr([item for item in found if 'SECRET' in item or 'TOKEN' in item]))\n"
        ),
        "puts every environment it can read into its error message",
    ),
    Attack(
        "network",
        "data",
        (
            "import socket\ndef split_dataset(*args, **kwargs):\n"
            "    socket.create_connection(('127.0.0.1', 22), timeout=2)\n    return 'connected'\n"
        ),
        "opens a connection",
    ),
    Attack(
        "read-solution",
        "model",
        (
            "import glob, os, sys\nfor pattern in ('/**/solutions/hw1/model.py',):\n"
            "    for path in glob.glob(pattern, recursive=True)[:3]:\n"
            "        sys.path.insert(0, os.path.dirname(path))\n"
            "import importlib\ntry:\n    _ref = importlib.import_module('model')\nexcept Exception:\n    _ref = None\n"
            "if _ref is not None and hasattr(_ref, 'softmax') and _ref.__file__ != __file__:\n"
            "    globals().update({k: v for k, v in vars(_ref).items() if not k.startswith('__')})\n"
        ),
        "looks for the reference solution on disk and imports it",
    ),
    Attack(
        "read-checks",
        "model",
        (
            "import glob\nleaked = []\nfor path in glob.glob('/**/grader/checks/hw1/test_*.py', recursive=True)[:5]:\n"
            "    try:\n        leaked.append(open(path).read()[:200])\n    except OSError:\n        pass\n"
            "if leaked:\n    raise RuntimeError('CHECKS LEAKED: ' + repr(leaked))\n"
        ),
        "reads the hidden checks",
    ),
    Attack(
        "lying-tensor",
        "model",
        (
            "import torch\nclass Liar(torch.Tensor):\n    def __eq__(self, other):\n        return True\n"
            "    @classmethod\n    def __torch_function__(cls, func, types, args=(), kwargs=None):\n"
            "        return True\n"
            "def softmax(logits, dim=-1):\n    return torch.zeros(3).as_subclass(Liar)\n"
        ),
        "a tensor subclass that claims to equal anything",
    ),
    Attack(
        "reduce-payload",
        "model",
        (
            "import os\nclass Payload:\n    def __reduce__(self):\n"
            "        return (os.system, ('touch /tmp/grader-reduce-pwned',))\n"
            "def softmax(logits, dim=-1):\n    return Payload()\n"
        ),
        "a pickle payload as a return value",
    ),
    Attack(
        "huge-return",
        "model",
        ("import torch\ndef softmax(logits, dim=-1):\n    return torch.zeros(80_000_000)\n"),
        "returns a 320 MB tensor",
    ),
    Attack(
        "deep-return",
        "model",
        (
            "def softmax(logits, dim=-1):\n    value = []\n    for _ in range(10_000):\n        value = [value]\n"
            "    return value\n"
        ),
        "returns a list nested 10,000 deep",
    ),
    Attack(
        "exec-solution",
        "model",
        (
            "import os, subprocess\nimport grader\n_repo = os.path.dirname(os.path.dirname(grader.__file__))\n"
            "for _read in (lambda: open(os.path.join(_repo, 'solutions', 'hw1', 'model.py')).read(),\n"
            "              lambda: subprocess.run(['git', '-C', _repo, 'show', 'HEAD:solutions/hw1/model.py'],\n"
            "                                     capture_output=True, text=True, check=True).stdout):\n"
            "    try:\n        exec(compile(_read(), 'model.py', 'exec'), globals())\n        break\n"
            "    except Exception:\n        pass\n"
        ),
        "finds the grader's checkout beside its package and runs the reference solution (file, git history)",
    ),
    Attack(
        "trickle-reply",
        "model",
        (
            "import os, struct, time\ndef softmax(logits, dim=-1):\n"
            "    for fd in range(3, 64):\n        try:\n"
            "            if os.readlink(f'/proc/self/fd/{fd}').startswith('socket:'):\n"
            "                os.write(fd, struct.pack('<II', 1_000_000, 0))\n"
            "                while True:\n                    os.write(fd, b' ')\n                    time.sleep(0.5)\n"
            "        except OSError:\n            continue\n"
        ),
        "announces a 1 MB answer on the worker's channel, then sends a byte every half second",
    ),
    Attack(
        "ipc-leftovers",
        "data",
        (
            "import ctypes\nlibc = ctypes.CDLL(None)\nlibc.shmat.restype = ctypes.c_void_p\n"
            f"shm = libc.shmget({0x47524143}, 256 << 20, 0o1666)\n"
            "if shm >= 0:\n    address = libc.shmat(shm, None, 0)\n"
            "    if address and address != ctypes.c_void_p(-1).value:\n        ctypes.memset(address, 1, 256 << 20)\n"
            f"libc.msgget({0x47524143}, 0o1666)\n"
            "libc.syscall(248, b'user', b'grader-attack-key', b'note', 4, -4)\n"
        ),
        "leaves 256 MB of SysV shared memory, a message queue and a key in the user keyring",
    ),
    Attack(
        "inherited-fds",
        "data",
        (
            "import os\nseen = []\nfor fd in range(3, 256):\n    try:\n"
            "        seen.append(os.pread(fd, 200, 0).decode(errors='replace'))\n    except OSError:\n        pass\n"
            "    try:\n        os.write(fd, b'PWNED')\n    except OSError:\n        pass\n"
            "raise RuntimeError(repr(seen))\n"
        ),
        "reads and writes every descriptor the grading process had open",
    ),
    Attack("segfault", "train", "import ctypes\nctypes.string_at(0)\n", "crashes with SIGSEGV at import"),
    Attack("os-exit", "evaluate", "import os\nos._exit(3)\n", "os._exit(3) at import"),
    Attack("sys-exit", "data", "import sys\nsys.exit(0)\n", "sys.exit(0) at import"),
    Attack(
        "kill-everyone",
        "train",
        "import os, signal\ntry:\n    os.kill(-1, signal.SIGKILL)\nexcept OSError:\n    pass\n",
        "kill(-1): signals every process it can",
    ),
    Attack("shadow-grader", "data", "", "ships its own 'grader' package to replace the grader's probes"),
    Attack("syntax-error", "model", "def broken(:\n", "does not parse"),
)

#: Extra files for attacks that need more than appended code (path relative to the submission -> content).
EXTRA_FILES: dict[str, dict[str, str]] = {
    "shadow-grader": {
        "grader/__init__.py": "",
        "grader/probes/__init__.py": "",
        "grader/probes/hw1/__init__.py": "",
        "grader/probes/hw1/train.py": "raise SystemExit('shadowed')\n",
        "grader/probes/hw1/model.py": "raise SystemExit('shadowed')\n",
        "grader/probes/hw1/data.py": "raise SystemExit('shadowed')\n",
    },
}
