"""``OUT/summary.html``: a batch's results as one page a TA opens in a browser.

Not a ``--format`` (those render one submission): this renders the ``--batch`` documents of a whole
class, as :func:`grader.batch.run` reads them back from ``OUT/<name>.json``. The page is one static,
self-contained file: inline CSS, no script, no external asset, and a Content-Security-Policy that
forbids both, so that it opens offline and, should escaping ever fail, runs nothing. Every string from
a submission (its name, messages about its code) is escaped: students choose them.

Elements carry their figures as ``data-*`` attributes, for tests and for anyone scripting the page.
"""

from __future__ import annotations

import html
import statistics
from collections.abc import Sequence
from typing import Any

from grader.assignments import Step

#: The statuses of a submission graded to the end; any other is listed with its reason.
NORMAL = "graded"
_TOP = 10
_MESSAGE_CHARS = 400
_CSS = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 70em; padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; } h3 { font-size: 1em; margin-bottom: .3em; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .25em .6em; border-bottom: 1px solid #ddd; vertical-align: top; }
td.num, th.num { text-align: right; white-space: nowrap; }
.histogram { display: flex; align-items: flex-end; gap: .4em; height: 12em; border-bottom: 1px solid #888; }
.bin { flex: 1; display: flex; flex-direction: column; justify-content: flex-end; height: 100%; text-align: center; }
.bin .bar { background: #4a7bd0; min-height: 1px; }
.labels { display: flex; gap: .4em; } .labels span { flex: 1; text-align: center; color: #555; font-size: .85em; }
.meter { display: inline-block; width: 8em; height: .8em; background: #eee; vertical-align: middle; }
.meter span { display: block; height: 100%; background: #3a9a5b; }
.message { white-space: pre-wrap; font-family: ui-monospace, monospace; font-size: .85em; }
.tag { font-size: .75em; padding: 0 .4em; border: 1px solid #999; border-radius: .6em; color: #555; }
.muted { color: #666; }
"""


def render(
    assignment: str, documents: dict[str, dict[str, Any]], pending: Sequence[str] = (), steps: Sequence[Step] = ()
) -> str:
    """The page for ``documents`` (submission name -> batch JSON document); ``pending``: not graded yet.

    ``steps``: the assignment's, in its order (from its manifest); a step the documents name that is not
    among them comes after them, titled by its key.
    """
    scored = {name: doc for name, doc in documents.items() if doc["tests"]}
    order = _step_order(scored, steps)
    unusual = {name: doc for name, doc in documents.items() if doc["status"] != NORMAL}
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">",
        f"<title>{_e(assignment)}: batch summary</title><style>{_CSS}</style></head><body>",
        f"<h1>{_e(assignment)}: batch summary</h1>",
        _overview(documents, scored, unusual, pending),
        _histogram(scored),
        _steps(scored, order),
        _pass_rates(scored, order),
        _most_missed(scored),
        _slowest(documents),
        _not_graded(unusual, pending),
        _all(documents),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def bins(documents: dict[str, dict[str, Any]]) -> list[int]:
    """How many scored submissions fall in each tenth of full marks (the last tenth includes full marks)."""
    full = max((doc["max_score"] for doc in documents.values()), default=0) or 1
    counts = [0] * 10
    for doc in documents.values():
        percent = round(100 * doc["score"] / full, 6)
        counts[min(max(int(percent // 10), 0), 9)] += 1
    return counts


def _overview(
    documents: dict[str, dict[str, Any]], scored: dict[str, Any], unusual: dict[str, Any], pending: Sequence[str]
) -> str:
    counts = f"{len(documents) + len(pending)} submissions: {len(documents) - len(unusual)} graded normally"
    counts += f", {len(unusual)} not graded normally" if unusual else ""
    counts += f", {len(pending)} not graded yet (run the same command again to grade them)" if pending else ""
    scores = [doc["score"] for doc in scored.values()]
    if not scores:
        return f"<p>{counts}.</p>"
    full = max(doc["max_score"] for doc in scored.values())
    return (
        f"<p>{counts}.</p><p>Over the {len(scores)} with a score: mean <b>{statistics.fmean(scores):.1f}</b>, "
        f"median <b>{statistics.median(scores):g}</b> of {full:g} points.</p>"
    )


def _histogram(scored: dict[str, dict[str, Any]]) -> str:
    counts = bins(scored)
    full = max((doc["max_score"] for doc in scored.values()), default=0)
    tallest = max(counts) or 1
    bars = "".join(
        f'<div class="bin" data-low="{10 * i}" data-count="{count}" title="{count} submissions">'
        f'<span>{count}</span><div class="bar" style="height:{80 * count / tallest:.1f}%"></div></div>'
        for i, count in enumerate(counts)
    )
    labels = "".join(f"<span>{10 * i}–{10 * i + 10}</span>" for i in range(10))
    return (
        f'<h2>Scores</h2><p class="muted">Submissions with a score, by tenths of full marks ({full:g} points); '
        "each bar counts scores from its lower bound up to its upper one, full marks in the last.</p>"
        f'<div class="histogram">{bars}</div><div class="labels">{labels}</div>'
    )


def _steps(scored: dict[str, dict[str, Any]], order: list[tuple[str, str]]) -> str:
    rows = []
    for step, title in order:
        points = [sum(t["score"] for t in doc["tests"] if t["step"] == step) for doc in scored.values()]
        top = max(sum(t["max_score"] for t in doc["tests"] if t["step"] == step) for doc in scored.values())
        average = statistics.fmean(points)
        rows.append(
            f'<tr data-step="{_e(step)}" data-average="{average:.6g}"><td>{_e(title)}</td>'
            f'<td class="num">{average:.2f} / {top:g}</td><td>{_meter(average / top if top else 0)}</td></tr>'
        )
    return _table("Average points per step", ["Step", "Average", ""], rows)


def _pass_rates(scored: dict[str, dict[str, Any]], order: list[tuple[str, str]]) -> str:
    sections = ["<h2>Pass rate of each check</h2>"]
    for step, title in order:
        rows = []
        for check, (title, hidden, passed, total) in _tally(scored, step).items():
            tag = ' <span class="tag">hidden</span>' if hidden else ""
            rows.append(
                f'<tr data-check="{_e(check)}" data-passed="{passed}" data-total="{total}"><td>{_e(title)}{tag}</td>'
                f'<td class="num">{passed}/{total}</td><td>{_meter(passed / total)}</td></tr>'
            )
        sections.append(f"<h3>{_e(title)}</h3>" + _table("", ["Check", "Passed", ""], rows))
    return "".join(sections)


def _most_missed(scored: dict[str, dict[str, Any]]) -> str:
    failures: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for name, doc in sorted(scored.items()):
        for test in doc["tests"]:
            if test["status"] != "passed":
                failures.setdefault(test["check"], []).append((name, test))
    ranked = sorted(failures.items(), key=lambda item: -len(item[1]))[:_TOP]
    rows = []
    for check, misses in ranked:
        # The message a nearly right submission got says more than a stub's "not implemented".
        name, test = min(misses, key=lambda miss: (-scored[miss[0]]["score"], miss[0]))
        rows.append(
            f'<tr data-check="{_e(check)}" data-failed="{len(misses)}"><td>{_e(test["name"])}</td>'
            f'<td class="num">{len(misses)}</td><td><div class="message">{_e(_clip(test["output"]))}</div>'
            f'<span class="muted">e.g. {_e(name)}</span></td></tr>'
        )
    return _table("Most missed checks", ["Check", "Failed", "A failure message"], rows, "No check failed.")


def _slowest(documents: dict[str, dict[str, Any]]) -> str:
    timed = sorted(documents.items(), key=lambda item: -item[1]["execution_time"])
    rows = [
        f'<tr data-submission="{_e(name)}" data-seconds="{doc["execution_time"]:g}"><td>{_e(name)}</td>'
        f'<td class="num">{doc["execution_time"]:.1f} s</td><td>{_e(doc["status"])}</td></tr>'
        for name, doc in timed[:_TOP]
        if doc["execution_time"] > 0
    ]
    return _table("Slowest submissions", ["Submission", "Time", "Status"], rows)


def _not_graded(unusual: dict[str, dict[str, Any]], pending: Sequence[str]) -> str:
    rows = [
        f'<tr data-submission="{_e(name)}" data-status="{_e(doc["status"])}"><td>{_e(name)}</td>'
        f'<td>{_e(doc["status"])}</td><td class="message">{_e(_clip(doc.get("output", "")))}</td></tr>'
        for name, doc in sorted(unusual.items())
    ]
    rows += [
        f'<tr data-submission="{_e(name)}" data-status="pending"><td>{_e(name)}</td><td>pending</td>'
        "<td>no result yet: the batch was interrupted; run the same command again</td></tr>"
        for name in pending
    ]
    return _table("Not graded normally", ["Submission", "Status", "Reason"], rows, "Every submission was graded.")


def _all(documents: dict[str, dict[str, Any]]) -> str:
    rows = [
        f'<tr data-submission="{_e(name)}" data-score="{doc["score"]:g}"><td>{_e(name)}</td>'
        f'<td class="num">{doc["score"]:g} / {doc["max_score"]:g}</td><td>{_e(doc["status"])}</td></tr>'
        for name, doc in sorted(documents.items())
    ]
    return _table("All submissions", ["Submission", "Score", "Status"], rows)


def _tally(scored: dict[str, dict[str, Any]], step: str) -> dict[str, tuple[str, bool, int, int]]:
    """check -> (title, hidden, passed, graded) over the scored submissions, in the order checks ran."""
    tally: dict[str, tuple[str, bool, int, int]] = {}
    for doc in scored.values():
        for test in doc["tests"]:
            if test["step"] == step:
                _, _, passed, total = tally.get(test["check"], ("", False, 0, 0))
                hidden = test.get("visibility") == "after_published"
                tally[test["check"]] = (test["name"], hidden, passed + (test["status"] == "passed"), total + 1)
    return tally


def _step_order(scored: dict[str, dict[str, Any]], steps: Sequence[Step]) -> list[tuple[str, str]]:
    """(key, title) of every step a scored document names, in the assignment's order."""
    seen = list(dict.fromkeys(t["step"] for doc in scored.values() for t in doc["tests"]))
    known = [step.key for step in steps]
    titles = {step.key: step.title for step in steps}
    ordered = sorted(seen, key=lambda key: known.index(key) if key in known else len(known))
    return [(key, titles.get(key, key)) for key in ordered]


def _table(heading: str, columns: list[str], rows: list[str], empty: str = "None.") -> str:
    title = f"<h2>{_e(heading)}</h2>" if heading else ""
    if not rows:
        return f'{title}<p class="muted">{_e(empty)}</p>'
    head = "".join(f"<th{' class=num' if c in ('Time', 'Failed', 'Passed') else ''}>{_e(c)}</th>" for c in columns)
    return f"{title}<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _meter(fraction: float) -> str:
    return f'<span class="meter" title="{fraction:.0%}"><span style="width:{100 * fraction:.1f}%"></span></span>'


def _clip(text: str) -> str:
    return text if len(text) <= _MESSAGE_CHARS else text[:_MESSAGE_CHARS] + " …"


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)
