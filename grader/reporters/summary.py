"""``OUT/summary.html``: a batch's results as one page a TA opens in a browser.

Not a ``--format`` (those render one submission): this renders the ``--batch`` documents of a whole
class, as :func:`grader.batch.run` reads them back from ``OUT/<name>.json``. The page is one static,
self-contained file: inline CSS, no script, no external asset, and a Content-Security-Policy that
forbids both, so that it opens offline and, should escaping ever fail, runs nothing. Every string from
a submission (its name, messages about its code) is escaped: students choose them. The only links are
relative ones to each submission's feedback beside the page (``feedback/<name>.txt``, percent-encoded).

Elements carry their figures as ``data-*`` attributes, for tests and for anyone scripting the page.
"""

from __future__ import annotations

import html
import re
import statistics
import urllib.parse
from collections import Counter
from collections.abc import Sequence
from typing import Any

from grader.assignments import Step

#: The statuses of a submission graded to the end; any other is listed with its reason.
NORMAL = "graded"
_TOP = 10
_MESSAGE_CHARS = 400
#: Where student code raised, as the worker writes it into a message: ``(model.py line 158, in forward)``.
_LOCATION = re.compile(r"\([^()\s]+\.py line \d+(?:, in [^()]*)?\)")
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
    assignment: str,
    documents: dict[str, dict[str, Any]],
    pending: Sequence[str] = (),
    steps: Sequence[Step] = (),
    identical: Sequence[Sequence[str]] = (),
) -> str:
    """The page for ``documents`` (submission name -> batch JSON document); ``pending``: not graded yet.

    ``steps``: the assignment's, in its order (from its manifest); a step the documents name that is not
    among them comes after them, titled by its key. ``identical``: groups of submissions graded from the
    same files. Each submission's name links to its feedback, ``feedback/<name>.txt`` beside the page.
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
        _blocking(scored),
        _identical(documents, identical),
        _slowest(documents),
        _not_graded(unusual, pending),
        _all(documents, order),
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


def feedback_link(name: str) -> str:
    """Where the page links submission ``name``'s feedback (relative, percent-encoded as a URL needs)."""
    return "feedback/" + urllib.parse.quote(f"{name}.txt", safe="", errors="surrogateescape")


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
        top = _step_max(scored, step)
        average = statistics.fmean(points)
        cells = [_e(title), f"{average:.2f} / {top:g}", _meter(average / top if top else 0)]
        rows.append((f'data-step="{_e(step)}" data-average="{average:.6g}"', cells))
    return _table("Average points per step", [("Step", ""), ("Average", "num"), ("", "")], rows)


def _pass_rates(scored: dict[str, dict[str, Any]], order: list[tuple[str, str]]) -> str:
    sections = ["<h2>Pass rate of each check</h2>"]
    for step, title in order:
        rows = []
        for check, (name, hidden, passed, total) in _tally(scored, step).items():
            tag = ' <span class="tag">hidden</span>' if hidden else ""
            cells = [f"{_e(name)}{tag}", f"{passed}/{total}", _meter(passed / total)]
            rows.append((f'data-check="{_e(check)}" data-passed="{passed}" data-total="{total}"', cells))
        sections.append(f"<h3>{_e(title)}</h3>" + _table("", [("Check", ""), ("Passed", "num"), ("", "")], rows))
    return "".join(sections)


def _failures(scored: dict[str, dict[str, Any]]) -> tuple[dict[str, list[tuple[str, dict[str, Any]]]], dict[str, int]]:
    """check -> its failures of its own (submission, test), and check -> failures an error of several checks gave.

    An error that failed several checks of a submission (a module that cannot be imported, a function not
    written yet, one wrong line) says nothing about any of those checks: it is listed once, by itself.
    """
    own: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    blocked: dict[str, int] = {}
    for name, doc in sorted(scored.items()):
        failed = [test for test in doc["tests"] if test["status"] != "passed"]
        repeats = Counter(_cause(test["output"]) for test in failed)
        for test in failed:
            if test["output"] and repeats[_cause(test["output"])] > 1:
                blocked[test["check"]] = blocked.get(test["check"], 0) + 1
            else:
                own.setdefault(test["check"], []).append((name, test))
    return own, blocked


def _cause(message: str) -> str:
    """What failed a check, as one error of the submission: where student code raised it (the worker says
    ``(model.py line 158)``), else the message without the slide to reread that ends it (each check names
    its own, see grader.plugin)."""
    located = _LOCATION.search(message)
    return located.group(0) if located else message.rsplit(" Reread: ", 1)[0]


def _shown(message: str) -> str:
    """The message up to where student code raised it (what follows is the check's own), or without its slide."""
    located = _LOCATION.search(message)
    return message[: located.end()] if located else message.rsplit(" Reread: ", 1)[0]


def _most_missed(scored: dict[str, dict[str, Any]]) -> str:
    own, blocked = _failures(scored)
    ranked = sorted(own.items(), key=lambda item: (-len(item[1]), -blocked.get(item[0], 0)))[:_TOP]
    rows = []
    for check, misses in ranked:
        # The message a nearly right submission got says more than a stub's "not implemented".
        name, test = min(misses, key=lambda miss: (-scored[miss[0]]["score"], miss[0]))
        cells = [
            _e(test["name"]),
            str(len(misses)),
            str(blocked.get(check, 0)),
            f'<div class="message">{_e(_clip(test["output"]))}</div><span class="muted">e.g. {_e(name)}</span>',
        ]
        rows.append((f'data-check="{_e(check)}" data-failed="{len(misses)}"', cells))
    columns = [
        ("Check", ""),
        ("Failed", "num"),
        ("Failed by an error of several checks", "num"),
        ("A failure message", ""),
    ]
    return _table("Most missed checks", columns, rows, "No check failed on its own.")


def _blocking(scored: dict[str, dict[str, Any]]) -> str:
    """The errors that each failed several checks of a submission, once each, most submissions first."""
    errors: dict[str, tuple[list[str], set[str]]] = {}
    for name, doc in sorted(scored.items()):
        failed = [test for test in doc["tests"] if test["status"] != "passed" and test["output"]]
        for cause, count in Counter(_cause(test["output"]) for test in failed).items():
            if count > 1:
                mine = [test for test in failed if _cause(test["output"]) == cause]
                shown = min((_shown(test["output"]) for test in mine), key=len)
                names, checks = errors.setdefault(shown, ([], set()))
                names.append(name)
                checks.update(test["check"] for test in mine)
    ranked = sorted(errors.items(), key=lambda error: (-len(error[1][0]), -len(error[1][1])))[:_TOP]
    rows = [
        (
            f'data-submissions="{len(names)}" data-checks="{len(checks)}"',
            [f'<div class="message">{_e(_clip(shown))}</div>', str(len(names)), str(len(checks)), _some(names)],
        )
        for shown, (names, checks) in ranked
    ]
    columns = [("Error", ""), ("Submissions", "num"), ("Checks it failed", "num"), ("Who", "")]
    return _table("Errors that failed several checks", columns, rows, "No error failed more than one check.")


def _identical(documents: dict[str, dict[str, Any]], groups: Sequence[Sequence[str]]) -> str:
    rows = [
        (
            f'data-identical="{len(group)}"',
            [str(len(group)), f"{documents[group[0]]['score']:g}", _names(group)],
        )
        for group in sorted(groups, key=lambda group: (-len(group), sorted(group)))
    ]
    return _table(
        "Identical submissions",
        [("Submissions", "num"), ("Score", "num"), ("Graded from the same files", "")],
        rows,
        "No two submissions were graded from the same files.",
    )


def _slowest(documents: dict[str, dict[str, Any]]) -> str:
    timed = sorted(documents.items(), key=lambda item: -item[1]["execution_time"])
    rows = [
        (
            f'data-submission="{_e(name)}" data-seconds="{doc["execution_time"]:g}"',
            [_link(name), f"{doc['execution_time']:.1f} s", _e(doc["status"])],
        )
        for name, doc in timed[:_TOP]
        if doc["execution_time"] > 0
    ]
    return _table("Slowest submissions", [("Submission", ""), ("Time", "num"), ("Status", "")], rows)


def _not_graded(unusual: dict[str, dict[str, Any]], pending: Sequence[str]) -> str:
    rows = [
        (
            f'data-submission="{_e(name)}" data-status="{_e(doc["status"])}"',
            [_link(name), _e(doc["status"]), f'<div class="message">{_e(_clip(doc.get("output", "")))}</div>'],
        )
        for name, doc in sorted(unusual.items())
    ]
    rows += [
        (
            f'data-submission="{_e(name)}" data-status="pending"',
            [_e(name), "pending", "no result yet: the batch was interrupted; run the same command again"],
        )
        for name in pending
    ]
    columns = [("Submission", ""), ("Status", ""), ("Reason", "")]
    return _table("Not graded normally", columns, rows, "Every submission was graded.")


def _all(documents: dict[str, dict[str, Any]], order: list[tuple[str, str]]) -> str:
    tops = {step: _step_max(documents, step) for step, _ in order}
    rows = []
    for name, doc in sorted(documents.items()):
        # A submission no check ran on has no points per step, not zeros.
        by_step = [
            f"{sum(t['score'] for t in doc['tests'] if t['step'] == step):g}" if doc["tests"] else ""
            for step, _ in order
        ]
        cells = [_link(name), f"{doc['score']:g} / {doc['max_score']:g}", *by_step, _e(doc["status"])]
        rows.append((f'data-submission="{_e(name)}" data-score="{doc["score"]:g}"', cells))
    columns = [("Submission", ""), ("Score", "num")]
    columns += [(f"{title} [max {tops[step]:g}]", "num") for step, title in order]
    return _table("All submissions", [*columns, ("Status", "")], rows)


def _step_max(documents: dict[str, dict[str, Any]], step: str) -> float:
    return max(
        (sum(t["max_score"] for t in doc["tests"] if t["step"] == step) for doc in documents.values()), default=0
    )


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


def _table(
    heading: str, columns: Sequence[tuple[str, str]], rows: Sequence[tuple[str, Sequence[str]]], empty: str = "None."
) -> str:
    """A table whose header and cells share each column's class: a number's header sits over its numbers.

    ``columns``: (label, class) each; ``rows``: (the row's attributes, its cells as HTML) each.
    """
    title = f"<h2>{_e(heading)}</h2>" if heading else ""
    if not rows:
        return f'{title}<p class="muted">{_e(empty)}</p>'
    head = "".join(f"<th{_class(kind)}>{_e(label)}</th>" for label, kind in columns)
    body = "".join(
        f"<tr {attributes}>"
        + "".join(f"<td{_class(kind)}>{cell}</td>" for (_, kind), cell in zip(columns, cells, strict=True))
        + "</tr>"
        for attributes, cells in rows
    )
    return f"{title}<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _class(kind: str) -> str:
    return f' class="{kind}"' if kind else ""


def _link(name: str) -> str:
    return f'<a href="{_e(feedback_link(name))}">{_e(name)}</a>'


def _names(names: Sequence[str]) -> str:
    return ", ".join(_link(name) for name in names)


def _some(names: Sequence[str]) -> str:
    """The first names, linked, and how many more: an error every stub has is one row, not the class roster."""
    more = f", and {len(names) - _TOP} more" if len(names) > _TOP else ""
    return _names(names[:_TOP]) + more


def _meter(fraction: float) -> str:
    return f'<span class="meter" title="{fraction:.0%}"><span style="width:{100 * fraction:.1f}%"></span></span>'


def _clip(text: str) -> str:
    return text if len(text) <= _MESSAGE_CHARS else text[:_MESSAGE_CHARS] + " …"


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)
