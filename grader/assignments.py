"""The registry of assignments the grader knows."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

from grader.errors import UsageError

_CHECKS = Path(__file__).parent / "checks"


@dataclass(frozen=True)
class Assignment:
    """Where an assignment's checks live and what its submission holds."""

    name: str
    checks_dir: Path
    modules: tuple[str, ...]
    probe_modules: tuple[str, ...]
    default_submission: str
    #: What the checks themselves import: loaded while the zygote is still busy with its own imports.
    check_imports: tuple[str, ...] = ()


ASSIGNMENTS: dict[str, Assignment] = {
    "hw1": Assignment(
        name="hw1",
        checks_dir=_CHECKS / "hw1",
        modules=("data", "model", "train", "evaluate"),
        probe_modules=("grader.probes.hw1.data", "grader.probes.hw1.model", "grader.probes.hw1.train"),
        default_submission="assignments/hw1",
        check_imports=("PIL.Image", "hypothesis", "pytest"),
    ),
}


def get(name: str) -> Assignment:
    """Look an assignment up by name, or raise a UsageError that suggests the closest one."""
    try:
        return ASSIGNMENTS[name]
    except KeyError:
        close = difflib.get_close_matches(name, ASSIGNMENTS, n=1)
        hint = f" Did you mean '{close[0]}'?" if close else f" Known: {', '.join(sorted(ASSIGNMENTS))}."
        raise UsageError(f"unknown assignment '{name}'.{hint}") from None
