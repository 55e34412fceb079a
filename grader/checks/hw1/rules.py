"""The by-hand rule of hw1, read from the submission's source with :mod:`ast`.

``softmax`` and ``cross_entropy`` in ``model.py``, and every helper of the
student's own files they reach by name (transitively, across the student's
modules, methods of the student's classes included), may use only what
:mod:`grader.checks.hw1.allowed` lists: elementary tensor operations (exp, log,
max/amax, sum, logsumexp, gather, indexing, arithmetic...) and plain builtins.
Everything a library offers beyond that is outside the rule however it is
reached: an attribute (``F.softmin``, ``torch.distributions.Categorical``,
``x.log_softmax``), a name imported under any alias, at module level or inside
the function, a star import, a module-level alias (``sm = F.softmin``), a
method called on some object (``x.softmax()``), or ``getattr``/``eval`` (not
allowed builtins, so names assembled at run time are caught too). Calling the
student's own ``softmax`` (or any helper of theirs) is fine, and so is
everything outside those two functions (``build_loss`` returns
``nn.CrossEntropyLoss()``). The source is only parsed, never run.

Names are resolved the way Python would after the module ran (the last
module-level binding wins). Known blind spot, accepted: a student's own method
that happens to share a name with a forbidden one (``obj.softmax()``) is
reported as if it were torch's.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from grader.checks.hw1 import allowed

#: The functions the rule is about, in ``model.py``.
ROOTS = ("softmax", "cross_entropy")


class SourceError(Exception):
    """A student file the rule needs cannot be read or parsed; the message names file and line."""


@dataclass(frozen=True)
class Violation:
    """One forbidden use, found while checking ``function``."""

    function: str
    path: str
    line: int
    code: str
    what: str
    via: tuple[str, ...] = ()

    def describe(self) -> str:
        """One sentence for the student."""
        where = f"{self.path} line {self.line}"
        if self.via:
            where += f", in {self.via[-1]}, which {self.function} uses" + (
                f" through {' -> '.join(self.via[:-1])}" if len(self.via) > 1 else ""
            )
        return f"{self.function} uses {self.what} ({where}: `{self.code}`)"


@dataclass(frozen=True)
class _Binding:
    """What a name is bound to: a definition or value, a student import, a library import, a star import."""

    line: int
    kind: str  # "node" (def, class or assigned value), "student", "library" or "star"
    node: ast.AST | None = None
    module: str = ""
    attr: str | None = None
    what: str = ""


class _Module:
    """One parsed student file and its module-level name bindings."""

    def __init__(
        self, name: str, rel: str, tree: ast.Module, lines: list[str], is_student: Callable[[str], bool]
    ) -> None:
        self.name = name
        self.rel = rel
        self.lines = lines
        self.bindings: dict[str, list[_Binding]] = {}
        self.stars: list[str] = []
        #: The methods of the module's classes, by name (``helper.stable(x)`` is followed into them).
        self.methods: dict[str, list[ast.FunctionDef | ast.AsyncFunctionDef]] = {}
        self._is_student = is_student
        self._collect(tree.body)
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                for item in node.body:
                    if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                        self.methods.setdefault(item.name, []).append(item)

    def last(self, name: str) -> _Binding | None:
        """The binding in force after the module ran (the last one in source order)."""
        found = self.bindings.get(name)
        return max(found, key=lambda b: b.line) if found else None

    def _bind(self, name: str, binding: _Binding) -> None:
        self.bindings.setdefault(name, []).append(binding)

    def _collect(self, body: list[ast.stmt]) -> None:
        for stmt in body:
            if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                self._bind(stmt.name, _Binding(stmt.lineno, "node", stmt))
            elif isinstance(stmt, ast.Assign | ast.AnnAssign | ast.AugAssign) and stmt.value is not None:
                targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
                for node in (sub for target in targets for sub in ast.walk(target)):
                    if isinstance(node, ast.Name):
                        self._bind(node.id, _Binding(stmt.lineno, "node", stmt.value))
            elif isinstance(stmt, ast.Import | ast.ImportFrom):
                for name, binding in _import_bindings(stmt, self._is_student):
                    if name == "*":
                        self.stars.append(binding.module)
                    else:
                        self._bind(name, binding)
            else:
                # Definitions inside if/try/with/for at module level still bind module names.
                for field in ("body", "orelse", "finalbody"):
                    self._collect([s for s in getattr(stmt, field, []) if isinstance(s, ast.stmt)])
                for handler in getattr(stmt, "handlers", []):
                    self._collect(handler.body)


def _import_bindings(
    stmt: ast.Import | ast.ImportFrom, is_student: Callable[[str], bool]
) -> list[tuple[str, _Binding]]:
    """The names an import binds: student modules or names, and library modules or names (with their full path).

    A star import comes back under the name ``*`` with the module it reads from.
    """
    found = []
    if isinstance(stmt, ast.Import):
        for alias in stmt.names:
            bound = alias.asname or alias.name.partition(".")[0]
            target = alias.name if alias.asname else alias.name.partition(".")[0]
            kind = "student" if is_student(alias.name) else "library"
            found.append((bound, _Binding(stmt.lineno, kind, module=target, what=_imported(target, alias))))
        return found
    source = stmt.module or ""
    for alias in stmt.names:
        bound = alias.asname or alias.name
        submodule = f"{source}.{alias.name}" if source else alias.name
        if alias.name == "*":
            found.append(("*", _Binding(stmt.lineno, "star", module=source)))
        elif is_student(submodule):
            found.append((bound, _Binding(stmt.lineno, "student", module=submodule)))
        elif stmt.level or is_student(source):
            found.append((bound, _Binding(stmt.lineno, "student", module=source, attr=alias.name)))
        else:
            found.append((bound, _Binding(stmt.lineno, "library", module=submodule, what=_imported(submodule, alias))))
    return found


def _imported(path: str, alias: ast.alias) -> str:
    """How a message names a library import: ``torch.nn.functional.softmin (imported as sm)``."""
    return f"{path} (imported as {alias.asname})" if alias.asname else path


def _allowed_import(binding: _Binding) -> bool:
    """Whether a library import binds something the rule allows (``torch``, ``torch.nn.functional``, ``torch.exp``)."""
    return allowed.library_path(binding.module.split(".")[1:])


class _Checker:
    """Follows names from the root functions through the submission's own code."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.modules: dict[str, _Module | None] = {}
        self.violations: list[Violation] = []
        self._seen: set[tuple[str, int]] = set()

    def module_path(self, name: str) -> Path | None:
        """The file of student module ``name`` (``helpers``, ``pkg.mod``), if the submission has one."""
        if not name or name.startswith(".") or any(not part.isidentifier() for part in name.split(".")):
            return None
        base = self.root.joinpath(*name.split("."))
        for path in (base.with_suffix(".py"), base / "__init__.py"):
            if path.is_file():
                return path
        return None

    def load(self, name: str) -> _Module | None:
        """Parse student module ``name`` once; :class:`SourceError` if it cannot be parsed."""
        if name not in self.modules:
            path = self.module_path(name)
            self.modules[name] = None if path is None else self._parse(name, path)
        return self.modules[name]

    def _parse(self, name: str, path: Path) -> _Module:
        rel = path.relative_to(self.root).as_posix()
        try:
            data = path.read_bytes()
            tree = ast.parse(data, filename=rel)
        except SyntaxError as exc:
            raise SourceError(f"{rel} has a syntax error at line {exc.lineno}: {exc.msg}") from exc
        except (ValueError, RecursionError, MemoryError, OSError) as exc:
            raise SourceError(f"{rel} cannot be parsed as Python: {exc}") from exc
        lines = data.decode("utf-8", "replace").splitlines()
        return _Module(name, rel, tree, lines, lambda mod: self.module_path(mod) is not None)

    def check(self, function: str, module: str) -> None:
        """Record every forbidden use reachable from ``module.function``."""
        mod = self.load(module)
        if mod is not None:
            self.follow(mod, function, function, ())

    def follow(
        self,
        mod: _Module,
        name: str,
        root: str,
        via: tuple[str, ...],
        use: ast.AST | None = None,
        use_mod: _Module | None = None,
        depth: int = 0,
    ) -> None:
        """Resolve ``name`` in ``mod``; scan what it is bound to, or record a forbidden import used at ``use``."""
        binding = mod.last(name)
        if binding is None:
            for star in mod.stars:
                star_mod = self.load(star)
                if star_mod is not None and star_mod.last(name) is not None:
                    self.follow(star_mod, name, root, via, use, use_mod, depth + 1)
                    return
            if use is None:
                return
            # Nothing in the student's files binds it: a builtin, or a name from a library's star import.
            if any(self.load(star) is None for star in mod.stars) and not allowed.operation(name):
                self._add(root, use_mod or mod, use.lineno, f"{name} (from a `from ... import *`)", via)
            elif not any(self.load(star) is None for star in mod.stars) and not allowed.builtin(name):
                self._add(root, use_mod or mod, use.lineno, name, via)
            return
        if depth <= 50:
            self._resolve(mod, name, binding, root, via, use, use_mod, depth)

    def _resolve(
        self,
        mod: _Module,
        name: str,
        binding: _Binding,
        root: str,
        via: tuple[str, ...],
        use: ast.AST | None,
        use_mod: _Module | None,
        depth: int,
    ) -> None:
        """Act on what ``name`` is bound to: check a library import, follow a student import, or scan."""
        if binding.kind == "library":
            if not _allowed_import(binding):
                where_mod, where = (use_mod, use) if use is not None else (mod, None)
                line = getattr(where, "lineno", binding.line)
                self._add(root, where_mod or mod, line, binding.what, via)
        elif binding.kind == "student":
            target = self.load(binding.module)
            if target is not None and binding.attr is not None:
                self.follow(target, binding.attr, root, via, use, use_mod, depth + 1)
        elif binding.node is not None:
            label = name if isinstance(binding.node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) else None
            chain = via if name == root and not via else (*via, label or name)
            self.scan(mod, binding.node, root, chain)

    def scan(self, mod: _Module, node: ast.AST, root: str, via: tuple[str, ...]) -> None:
        """Look through one definition or value for what the rule does not allow, and for helpers to follow."""
        key = (mod.name, id(node))
        if key in self._seen:
            return
        self._seen.add(key)
        local = _local_names(node)
        # Imports inside the definition bind local names (``from torch.nn.functional import softmax as s``).
        imported = {
            name: binding
            for sub in _walk(node)
            if isinstance(sub, ast.Import | ast.ImportFrom)
            for name, binding in _import_bindings(sub, lambda module: self.module_path(module) is not None)
            if name != "*"
        }
        # ``torch.nn.functional.softmin`` is one chain: its inner attributes are judged with it.
        inner = {id(sub.value) for sub in _walk(node) if isinstance(sub, ast.Attribute)}
        called = {id(sub.func) for sub in _walk(node) if isinstance(sub, ast.Call)}
        for sub in _walk(node):
            if isinstance(sub, ast.Attribute) and id(sub) not in inner:
                self._attribute(mod, sub, root, via, imported, local, id(sub) in called)
            elif isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Load) and sub.id in imported:
                self._resolve(mod, sub.id, imported[sub.id], root, via, sub, mod, 0)
            elif isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Load) and sub.id not in local:
                self.follow(mod, sub.id, root, via, use=sub, use_mod=mod)
            elif (
                isinstance(sub, ast.Subscript)
                and isinstance(sub.slice, ast.Constant)
                and sub.slice.value in allowed.FORBIDDEN
            ):
                self._add(root, mod, sub.lineno, f"[{sub.slice.value!r}]", via)

    def _attribute(
        self,
        mod: _Module,
        node: ast.Attribute,
        root: str,
        via: tuple[str, ...],
        imported: dict[str, _Binding],
        local: set[str],
        called: bool,
    ) -> None:
        """Judge one attribute chain: into a student module, on a library module, or on some object."""
        parts = _dotted(node)
        binding = None
        if parts and parts[0] not in local:
            binding = imported.get(parts[0]) or self._lookup(mod, parts[0])
        # The module the attribute is read from, when it is the student's: ``helpers.x``, and, after
        # ``import mathlib.functional``, ``mathlib.functional.x`` too.
        if binding is not None and binding.kind == "student" and binding.attr is None:
            target = self._submodule(binding.module, parts[1:-1])
            if target is not None:
                self.follow(target, node.attr, root, via)
                return
        if binding is not None and binding.kind == "library":
            if not allowed.library_path([*binding.module.split(".")[1:], *parts[1:]]):
                self._add(root, mod, node.lineno, _unparse(node), via)
            return
        # An attribute of some object (a tensor, ``self``, a call's result): a method call must be an allowed
        # operation or one of the student's own methods; reading data (``x.shape``) is fine.
        if node.attr in allowed.FORBIDDEN:
            self._add(root, mod, node.lineno, _unparse(node), via)
        elif called and not allowed.operation(node.attr):
            methods = [(owner, method) for owner in self._loaded() for method in owner.methods.get(node.attr, ())]
            for owner, method in methods:
                self.scan(owner, method, root, (*via, node.attr))
            if not methods:
                self._add(root, mod, node.lineno, f"{_unparse(node)}()", via)

    def _lookup(self, mod: _Module, name: str) -> _Binding | None:
        """What ``name`` is bound to at module level in ``mod`` (or a student module it star-imports)."""
        binding = mod.last(name)
        if binding is not None:
            return binding
        for star in mod.stars:
            star_mod = self.load(star)
            if star_mod is not None and star_mod.last(name) is not None:
                return self._lookup(star_mod, name)
        return None

    def _loaded(self) -> list[_Module]:
        return [module for module in self.modules.values() if module is not None]

    def _submodule(self, package: str, parts: list[str]) -> _Module | None:
        """Student module ``package.parts...``, unless a package on the way binds the next part to something else.

        ``mathlib.functional`` is the file mathlib/functional.py, except where mathlib/__init__.py assigns
        ``functional`` (``import torch.nn.functional as functional``): then it is whatever that is.
        """
        name = package
        for part in parts:
            outer = self.load(name)
            inner = outer.last(part) if outer is not None else None
            if inner is not None and inner.kind != "student":
                return None
            name = f"{name}.{part}"
        return self.load(name)

    def _add(self, root: str, mod: _Module, line: int, what: str, via: tuple[str, ...]) -> None:
        code = mod.lines[line - 1].strip() if 0 < line <= len(mod.lines) else ""
        if len(code) > 100:
            code = code[:97] + "..."
        violation = Violation(root, mod.rel, line, code, what, via)
        if violation not in self.violations:
            self.violations.append(violation)


def _dotted(node: ast.expr) -> list[str]:
    """``["a", "b", "c"]`` for the expression ``a.b.c``; empty for anything else (a call, a subscript...)."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.insert(0, node.attr)
        node = node.value
    return [node.id, *parts] if isinstance(node, ast.Name) else []


def _walk(node: ast.AST) -> Iterator[ast.AST]:
    """Every node under ``node`` except type annotations (which never run code the rule is about)."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        for field, value in ast.iter_fields(current):
            if field in ("annotation", "returns", "type_comment"):
                continue
            children = value if isinstance(value, list) else [value]
            stack.extend(child for child in reversed(children) if isinstance(child, ast.AST))


def _local_names(node: ast.AST) -> set[str]:
    """Names a definition binds for itself (parameters, assignments, its methods' too), which hide module-level ones."""
    declared = {name for sub in ast.walk(node) if isinstance(sub, ast.Global | ast.Nonlocal) for name in sub.names}
    names = {
        arg.arg
        for sub in ast.walk(node)
        if isinstance(sub, ast.arguments)
        for arg in (*sub.posonlyargs, *sub.args, *sub.kwonlyargs, sub.vararg, sub.kwarg)
        if arg is not None
    }
    names |= {sub.id for sub in ast.walk(node) if isinstance(sub, ast.Name) and not isinstance(sub.ctx, ast.Load)}
    return names - declared


def _unparse(node: ast.AST) -> str:
    try:
        return ast.unparse(node)
    except (ValueError, RecursionError):  # pragma: no cover - ast.unparse handles what ast.parse made
        return getattr(node, "attr", "?")


def find_violations(root: Path, module: str = "model", functions: tuple[str, ...] = ROOTS) -> list[Violation]:
    """Uses the rule does not allow, reachable from ``functions`` of ``module`` in the submission at ``root``.

    One per function and line (the shortest, where a chain such as ``torch.distributions.X(...).log_prob()``
    is caught twice). Raises :class:`SourceError` when a file on the way cannot be parsed (``model.py``
    itself included).
    """
    checker = _Checker(root)
    if checker.module_path(module) is None:
        raise SourceError(f"{module}.py is missing from the submission")
    for function in functions:
        checker.check(function, module)
    checker.violations += _rebindings(root, functions)
    kept: dict[tuple[str, str, int], Violation] = {}
    for violation in sorted(checker.violations, key=lambda v: len(v.what)):
        kept.setdefault((violation.function, violation.path, violation.line), violation)
    return sorted(kept.values(), key=lambda v: (functions.index(v.function), v.path, v.line))


#: Builtins that replace a module's functions from elsewhere at run time, which no by-hand solution needs.
_REBINDERS = ("setattr", "globals", "vars", "__import__", "exec")


def _rebindings(root: Path, functions: tuple[str, ...]) -> list[Violation]:
    """Where any file of the submission replaces ``functions`` at run time from outside their definition:
    an assignment to that attribute of one of the submission's own modules (``model.softmax = F.softmax``,
    under any alias), ``sys.modules``, ``importlib.import_module``, or a bare call of :data:`_REBINDERS`. The
    behaviour checks would then run the replacement while the source read here shows a body written by hand.
    (``self.softmax = nn.Softmax()`` in a class, ``re.compile`` and the like are not such a thing.)"""
    files = sorted(root.rglob("*.py"))
    own = {path.stem for path in files}
    found = []
    for path in files:
        try:
            tree = ast.parse(path.read_text(encoding="utf-8", errors="replace"))
        except (SyntaxError, ValueError, OSError):
            continue  # what does not parse is not imported either (or fails the checks that need it)
        aliases = set(own)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                aliases |= {alias.asname for alias in node.names if alias.asname and alias.name in own}
        rel = path.relative_to(root).as_posix()
        for node in ast.walk(tree):
            what = ""
            if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    if (
                        isinstance(target, ast.Attribute)
                        and target.attr in functions
                        and isinstance(target.value, ast.Name)
                        and target.value.id in aliases
                    ):
                        what = f"a replacement of {target.value.id}.{target.attr} at run time"
            elif isinstance(node, ast.Attribute) and node.attr == "modules" and _dotted(node.value) == ["sys"]:
                what = "sys.modules"
            elif isinstance(node, ast.Call) and (
                (isinstance(node.func, ast.Name) and node.func.id in _REBINDERS)
                or _dotted(node.func)[-1:] == ["import_module"]
            ):
                what = f"{_dotted(node.func)[-1]}()"
            if what:
                code = _unparse(node).splitlines()[0]
                found.append(Violation(functions[0], rel, node.lineno, code[:80], what))
    return found


def unwritten(root: Path, module: str = "model", functions: tuple[str, ...] = ROOTS) -> list[str]:
    """Which of ``functions`` are missing from ``module`` or still a stub (only a docstring, ``pass``, ``...``
    or ``raise NotImplementedError``), so the rule has nothing written by hand to award.

    Raises :class:`SourceError` like :func:`find_violations`.
    """
    checker = _Checker(root)
    mod = checker.load(module)
    if mod is None:
        raise SourceError(f"{module}.py is missing from the submission")
    found = []
    for function in functions:
        where, binding = _definition(checker, mod, function)
        if binding is None:
            found.append(f"{function} (not defined in {mod.rel})")
        elif isinstance(binding.node, ast.FunctionDef | ast.AsyncFunctionDef) and all(
            _is_placeholder(stmt) for stmt in binding.node.body
        ):
            found.append(f"{function} ({where.rel} line {binding.line} has no body yet)")
    return found


def _definition(checker: _Checker, mod: _Module, name: str) -> tuple[_Module, _Binding | None]:
    """Where ``name`` is bound in ``mod``: there, or in a student module it star-imports (``from helpers import *``).

    Each module is looked into once, so star imports that loop back (``from model import *`` in model.py)
    cost nothing.
    """
    pending, seen = [mod], {mod.name}
    while pending:
        current = pending.pop(0)
        binding = current.last(name)
        if binding is not None:
            return current, binding
        for star in current.stars:
            star_mod = checker.load(star)
            if star_mod is not None and star_mod.name not in seen:
                seen.add(star_mod.name)
                pending.append(star_mod)
    return mod, None


def _is_placeholder(stmt: ast.stmt) -> bool:
    """A statement of a stub: a docstring or ``...``, ``pass``, or raising NotImplementedError."""
    if isinstance(stmt, ast.Pass):
        return True
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
        return True
    if isinstance(stmt, ast.Raise) and stmt.exc is not None:
        exc = stmt.exc.func if isinstance(stmt.exc, ast.Call) else stmt.exc
        return isinstance(exc, ast.Name) and exc.id == "NotImplementedError"
    return False
