"""``--format junit``: JUnit XML for any CI server, one ``<testcase>`` per check.

The document keeps to the strict JUnit schema CI servers validate against (Jenkins' xunit-plugin,
``junit-10.xsd``; the test suite validates against it): ``<testsuites>`` (``name``, ``tests``,
``failures``, ``errors``, ``time``: that schema allows no ``skipped`` there) holds one
``<testsuite>`` (the same and ``skipped``) with the suite's points as ``<properties>``; each
``<testcase>`` (``classname`` ``<assignment>.<step>``, ``name``, ``time``) holds at most one
``<failure>`` and a ``<system-out>`` with its points and, where student code raised what failed
it, ``file`` (from the repository root) and ``line``. The schema allows neither ``properties``
nor ``file``/``line`` attributes on a testcase (pytest's ``xunit2`` leaves them out for the same
reason), so they go to ``system-out``, and the failure's text ends with the location as a Python
traceback line (``File "model.py", line 82``) for readers that take it from there.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from grader.reporters import source_file
from grader.results import CheckResult, GradeReport

#: Characters XML 1.0 cannot hold even escaped (a student's message may carry a NUL or an ANSI escape).
_NOT_XML = re.compile("[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def render(report: GradeReport, color: bool = False) -> str:
    """The report as a JUnit XML document."""
    failures = sum(1 for check in report.checks if not check.passed)
    suites, suite = _suite(
        report.assignment, tests=len(report.checks), failures=failures, errors=0, time=report.duration
    )
    properties = ET.SubElement(suite, "properties")
    for name, value in (
        ("score", report.score),
        ("max_score", report.max_score),
        ("hidden_pending", report.hidden_pending),
    ):
        ET.SubElement(properties, "property", name=name, value=f"{value:g}")
    for check in report.checks:
        _testcase(suite, report, check)
    return _serialize(suites)


def render_error(assignment: str, message: str) -> str:
    """A JUnit document for a grading that failed: one testcase with an ``<error>``."""
    suites, suite = _suite(assignment, tests=1, failures=0, errors=1, time=0.0)
    case = ET.SubElement(suite, "testcase", classname=assignment, name=f"{assignment} grading", time="0.000")
    ET.SubElement(case, "error", message=_xml(message), type="GraderError").text = _xml(message)
    return _serialize(suites)


def _suite(assignment: str, tests: int, failures: int, errors: int, time: float) -> tuple[ET.Element, ET.Element]:
    counts = {"tests": str(tests), "failures": str(failures), "errors": str(errors), "time": _seconds(time)}
    suites = ET.Element("testsuites", name=assignment, **counts)
    return suites, ET.SubElement(suites, "testsuite", name=assignment, skipped="0", **counts)


def _testcase(suite: ET.Element, report: GradeReport, check: CheckResult) -> None:
    case = ET.SubElement(
        suite,
        "testcase",
        classname=f"{report.assignment}.{check.step}",
        name=_xml(check.title),
        time=_seconds(check.duration),
    )
    file = source_file(report, check) or check.file
    if not check.passed:
        text = check.message + (f"\n\n{check.traceback}" if check.traceback else "")
        if file:
            text += f'\n  File "{file}", line {check.line}'
        failure = ET.SubElement(case, "failure", message=_xml(check.message), type=check.error or "CheckFailure")
        failure.text = _xml(text)
    out = f"score: {check.score:g}\nmax_score: {check.max_score:g}\n" + ("hidden: true\n" if check.hidden else "")
    if file:
        out += f"file: {file}\nline: {check.line}\n"
    ET.SubElement(case, "system-out").text = _xml(out)


def _seconds(value: float) -> str:
    """Seconds as the schema's SUREFIRE_TIME wants them: plain decimals, never an exponent."""
    return f"{max(value, 0.0):.3f}"


def _xml(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def _serialize(root: ET.Element) -> str:
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True)
