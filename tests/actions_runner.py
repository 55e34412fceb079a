"""How the GitHub Actions runner reads a step's output: its workflow-command parser, ported line by line.

From ``actions/runner`` (commit 258d6c8, 2026-08-17): ``src/Runner.Common/ActionCommand.cs``
(``TryParseV2`` for ``::command props::data``, ``TryParse`` for the older ``##[command props]data``,
and their unescaping) and ``src/Runner.Worker/ActionCommandManager.cs`` (the registered commands, and
``stop-commands``: once it is read, no command is until a line whose command is the token). The runner
itself is C#; this port lets the tests read the grader's output exactly as it would.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

#: Every command the runner registers (ActionCommandManager.Initialize and its extensions).
REGISTERED = {
    "stop-commands",
    "set-env",
    "set-output",
    "save-state",
    "add-mask",
    "add-path",
    "add-matcher",
    "remove-matcher",
    "debug",
    "warning",
    "error",
    "notice",
    "group",
    "endgroup",
    "echo",
}
_DATA = (("%0D", "\r"), ("%0A", "\n"), ("%25", "%"))
_PROPERTY = (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%"))
_V1 = (("%3B", ";"), ("%0D", "\r"), ("%0A", "\n"), ("%5D", "]"), ("%25", "%"))


@dataclass
class Command:
    """One workflow command the runner processed."""

    name: str
    properties: dict[str, str] = field(default_factory=dict)
    data: str = ""


@dataclass
class Log:
    """A step's output as the runner took it: commands, and the lines shown as plain text."""

    commands: list[Command] = field(default_factory=list)
    text: list[str] = field(default_factory=list)

    def named(self, name: str) -> list[Command]:
        """The commands called ``name``, in order."""
        return [command for command in self.commands if command.name == name]


def _dotnet_space(char: str) -> bool:
    """.NET's ``char.IsWhiteSpace``, what ``Trim`` and ``TrimStart`` remove."""
    return char in "\t\n\v\f\r\x85\xa0" or unicodedata.category(char) in ("Zs", "Zl", "Zp")


def _trim_start(text: str) -> str:
    index = 0
    while index < len(text) and _dotnet_space(text[index]):
        index += 1
    return text[index:]


def _trim(text: str) -> str:
    text = _trim_start(text)
    end = len(text)
    while end and _dotnet_space(text[end - 1]):
        end -= 1
    return text[:end]


def _unescape(text: str, mappings: tuple[tuple[str, str], ...]) -> str:
    for replacement, token in mappings:
        text = text.replace(replacement, token)
    return text


def parse_v2(line: str, registered: set[str]) -> Command | None:
    """``ActionCommand.TryParseV2``."""
    message = _trim_start(line)
    if not message.startswith("::"):
        return None
    end = message.find("::", 2)
    if end < 0:
        return None
    info = message[2:end]
    space = info.find(" ")
    name = info if space < 0 else info[:space]
    if name.lower() not in registered:
        return None
    command = Command(name.lower())
    if space > 0:
        for pair in (part for part in _trim(info[space + 1 :]).split(",") if part):
            key, _, value = pair.partition("=")
            if key and value:
                command.properties[key] = _unescape(value, _PROPERTY)
    command.data = _unescape(message[end + 2 :], _DATA)
    return command


def parse_v1(line: str, registered: set[str]) -> Command | None:
    """``ActionCommand.TryParse``: ``##[command props]data`` anywhere in the line."""
    start = line.find("##[")
    if start < 0:
        return None
    close = line.find("]", start)
    if close < 0:
        return None
    info = line[start + 3 : close]
    space = info.find(" ")
    name = info if space < 0 else info[:space]
    if name.lower() not in registered:
        return None
    command = Command(name.lower())
    if space > 0:
        for pair in (part for part in info[space + 1 :].split(";") if part):
            key, _, value = pair.partition("=")
            if key and value:
                command.properties[key] = _unescape(value, _V1)
    command.data = _unescape(line[close + 1 :], _V1)
    return command


def read(output: str) -> Log:
    """``output`` (a step's stdout) as the runner reads it, line by line."""
    log = Log()
    registered = set(REGISTERED)
    stop_token: str | None = None
    for line in output.split("\n"):
        command = parse_v2(line, registered) or parse_v1(line, registered)
        if command is None:
            log.text.append(line)
        elif stop_token is not None:
            if command.name == stop_token.lower():
                registered.discard(stop_token.lower())
                stop_token = None
            else:
                log.text.append(line)
        elif command.name == "stop-commands":
            assert command.data and command.data.lower() not in REGISTERED, "the runner refuses this token"
            stop_token = command.data
            registered.add(stop_token.lower())
        else:
            log.commands.append(command)
    assert stop_token is None, "commands left stopped at the end of the step"
    return log
