#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image; the zip is unpacked in
# /autograder/source. It installs a Python >= 3.11, a CPU-only torch and the grader bundled beside it.
set -euo pipefail

apt-get update
apt-get install -y --no-install-recommends python3 python3-venv python3-pip
python=python3
if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    # Ubuntu 22.04 images ship Python 3.10; the grader needs 3.11 (Ubuntu 24.04 images have 3.12).
    apt-get install -y --no-install-recommends python3.11 python3.11-venv
    python=python3.11
fi

"$python" -m venv /autograder/venv
/autograder/venv/bin/pip install --upgrade pip
# PyTorch's CPU index first: the default torch wheel pulls several GB of CUDA libraries, and
# Gradescope has no GPU. The grader's own requirement (torch>=2.2) is then already met.
/autograder/venv/bin/pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
/autograder/venv/bin/pip install /autograder/source
