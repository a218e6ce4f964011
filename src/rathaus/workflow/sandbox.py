"""The restricted environment in which process models' scripts and expressions run.

Everything a model computes (script tasks, gateway conditions, DMN rules, timer and
service-task parameter expressions, message payloads) goes through ``SandboxEnvironment``.
A model is tenant data, uploaded by an administrator, so its code is treated as hostile:

1. **Static check.** The source is parsed and every AST node must be of an allowed kind
   (no ``import``, ``def``, ``lambda``, ``class``, ``try``, ``with``, ``global``, ...).
   Names starting with ``_`` are refused, and an attribute may only be one of a short list
   of harmless method and property names (``get``, ``items``, ``strip``, ``year``, ...):
   that closes ``().__class__``, ``gen.gi_frame.f_globals`` and ``"{0.__class__}".format``
   alike. f-string format specs must be short constants.
2. **Guarded operations.** ``*``, ``**``, ``<<``, ``%`` and ``+`` are rewritten into calls
   that refuse results above the size limits *before* computing them (``'x' * 10**9``
   never allocates), ``range`` is capped, and ``str.replace`` / ``str.join`` check their
   output size.
3. **Whitelisted builtins** only (``len``, ``min``, ``sorted``, ``date``, ...); no
   ``open``, ``getattr``, ``type``, ``eval`` or ``__import__`` exist inside.
4. **Budgets while running.** A trace function counts executed lines and calls and
   checks a wall-clock deadline and the growth of the process' resident memory, so
   ``while True: pass`` and slow memory growth stop with ``SandboxViolation``. Only the
   calling thread is traced; other threads of the worker are unaffected.
5. **Results.** Variables a script leaves behind must be JSON-like data (plus dates,
   datetimes and durations) and stay under a size limit.

A violation raises ``SandboxViolation``; the engine turns it into an incident of the
instance, so the worker process carries on. See ADR 0011.
"""

from __future__ import annotations

import ast
import json
import math
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from types import CodeType, FrameType
from typing import Any


class SandboxViolation(Exception):
    """A script or expression did something the sandbox does not allow."""


@dataclass(frozen=True)
class Limits:
    """Budgets of one evaluation (one script or one expression)."""

    #: Traced line and call events, a proxy for executed statements.
    max_steps: int = 20_000
    #: Wall-clock seconds.
    max_seconds: float = 1.0
    #: Characters of a string, items of a list or tuple made by an operator.
    max_sequence: int = 100_000
    #: Items of a ``range``.
    max_range: int = 10_000
    #: Bits of an integer made by ``**`` or ``<<``.
    max_int_bits: int = 4_096
    #: Growth of the process' resident memory while the code runs.
    max_memory_growth: int = 256 * 1024 * 1024
    #: Source length of a script or expression.
    max_source: int = 20_000
    #: JSON size of the variables a script leaves behind.
    max_data_bytes: int = 256 * 1024


DEFAULT_LIMITS = Limits()

_ALLOWED_NODES: tuple[type[ast.AST], ...] = (
    ast.Module,
    ast.Expression,
    ast.Expr,
    ast.Assign,
    ast.AugAssign,
    ast.AnnAssign,
    ast.If,
    ast.For,
    ast.While,
    ast.Break,
    ast.Continue,
    ast.Pass,
    ast.Delete,
    ast.Name,
    ast.Load,
    ast.Store,
    ast.Del,
    ast.Constant,
    ast.List,
    ast.Tuple,
    ast.Dict,
    ast.Set,
    ast.ListComp,
    ast.SetComp,
    ast.DictComp,
    ast.GeneratorExp,
    ast.comprehension,
    ast.BinOp,
    ast.UnaryOp,
    ast.BoolOp,
    ast.Compare,
    ast.IfExp,
    ast.Call,
    ast.keyword,
    ast.Subscript,
    ast.Slice,
    ast.Attribute,
    ast.Starred,
    ast.JoinedStr,
    ast.FormattedValue,
    ast.operator,
    ast.unaryop,
    ast.boolop,
    ast.cmpop,
    ast.expr_context,
)

# Method and property names that are safe on every type the sandbox hands out (JSON data,
# dates, datetimes, durations, Decimal). Deliberately missing: format/format_map (format
# strings reach attributes), ljust/center/zfill/expandtabs (unbounded output), and every
# name that leads to frames, code or classes (gi_frame, f_globals, mro, ...).
ALLOWED_ATTRIBUTES = frozenset(
    {
        # str
        "lower",
        "upper",
        "strip",
        "lstrip",
        "rstrip",
        "split",
        "rsplit",
        "splitlines",
        "join",
        "replace",
        "startswith",
        "endswith",
        "title",
        "capitalize",
        "casefold",
        "isdigit",
        "isdecimal",
        "isnumeric",
        "isalpha",
        "isalnum",
        "isspace",
        "islower",
        "isupper",
        "find",
        "rfind",
        "partition",
        "rpartition",
        "removeprefix",
        "removesuffix",
        # list, dict, set (count and index also on str and tuple)
        "append",
        "extend",
        "insert",
        "pop",
        "remove",
        "index",
        "count",
        "sort",
        "reverse",
        "copy",
        "clear",
        "get",
        "keys",
        "values",
        "items",
        "update",
        "setdefault",
        "add",
        "discard",
        "union",
        "intersection",
        "difference",
        "issubset",
        "issuperset",
        # date, datetime, timedelta
        "year",
        "month",
        "day",
        "hour",
        "minute",
        "second",
        "microsecond",
        "weekday",
        "isoweekday",
        "isoformat",
        "fromisoformat",
        "today",
        "now",
        "date",
        "days",
        "seconds",
        "total_seconds",
    }
)

_FORBIDDEN_NAMES = frozenset(
    {
        "getattr",
        "setattr",
        "delattr",
        "hasattr",
        "eval",
        "exec",
        "compile",
        "open",
        "type",
        "vars",
        "dir",
        "globals",
        "locals",
        "input",
        "breakpoint",
        "help",
        "memoryview",
        "object",
        "super",
        "classmethod",
        "staticmethod",
        "property",
        "print",
        "exit",
        "quit",
    }
)

_FORMAT_SPEC = re.compile(r"^[<>^=]?[+\- ]?#?0?\d{0,3}[,_]?(\.\d{1,2})?[bcdeEfFgGnosxX%]?$")
_SANDBOX_PREFIX = "_sandbox_"


def _size(value: Any) -> int | None:
    return len(value) if isinstance(value, str | bytes | list | tuple) else None


class _Guards:
    """Operators and functions the rewritten code calls instead of the raw operators."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits

    def _check_int(self, value: Any) -> Any:
        if isinstance(value, int) and value.bit_length() > self.limits.max_int_bits:
            raise SandboxViolation("number too large")
        return value

    def mult(self, left: Any, right: Any) -> Any:
        for sequence, times in ((left, right), (right, left)):
            length = _size(sequence)
            if (
                length is not None
                and isinstance(times, int)
                and length * max(times, 0) > self.limits.max_sequence
            ):
                raise SandboxViolation(f"sequence too long (over {self.limits.max_sequence} items)")
        return self._check_int(left * right)

    def pow(self, left: Any, right: Any) -> Any:
        if (
            isinstance(left, int)
            and isinstance(right, int)
            and abs(left) > 1
            and right * math.log2(abs(left)) > self.limits.max_int_bits
        ):
            raise SandboxViolation("number too large")
        if (
            isinstance(left, float | Decimal)
            and isinstance(right, int | float)
            and abs(right) > 10_000
        ):
            raise SandboxViolation("exponent too large")
        return left**right

    def lshift(self, left: Any, right: Any) -> Any:
        if isinstance(right, int) and right > self.limits.max_int_bits:
            raise SandboxViolation("number too large")
        return self._check_int(left << right)

    def mod(self, left: Any, right: Any) -> Any:
        if isinstance(left, str | bytes):
            # printf-style formatting takes widths and reaches object representations.
            raise SandboxViolation("%-formatting of strings is not allowed; use an f-string")
        return left % right

    def add(self, left: Any, right: Any) -> Any:
        left_size, right_size = _size(left), _size(right)
        if (
            left_size is not None
            and right_size is not None
            and left_size + right_size > self.limits.max_sequence
        ):
            raise SandboxViolation(f"sequence too long (over {self.limits.max_sequence} items)")
        return left + right

    def range(self, *args: int) -> range:
        result = range(*args)
        if len(result) > self.limits.max_range:
            raise SandboxViolation(f"range too long (over {self.limits.max_range} items)")
        return result

    def attr(self, obj: Any, name: str) -> Any:
        # The compiler already refused other names; this guards the two methods whose
        # output can grow far beyond their input.
        value = getattr(obj, name)
        if isinstance(obj, str) and name == "replace":
            return self._replace(obj)
        if isinstance(obj, str) and name == "join":
            return self._join(obj)
        return value

    def _replace(self, text: str) -> Callable[..., str]:
        def replace(old: str, new: str, count: int = -1) -> str:
            if not old:
                raise SandboxViolation("replacing the empty string is not allowed")
            occurrences = text.count(old) if count < 0 else min(count, text.count(old))
            if len(text) + occurrences * (len(new) - len(old)) > self.limits.max_sequence:
                raise SandboxViolation(f"string too long (over {self.limits.max_sequence})")
            return text.replace(old, new, count)

        return replace

    def _join(self, separator: str) -> Callable[[Iterable[str]], str]:
        def join(items: Iterable[str]) -> str:
            parts = list(items)
            total = sum(len(p) if isinstance(p, str) else 0 for p in parts)
            if total + len(separator) * max(len(parts) - 1, 0) > self.limits.max_sequence:
                raise SandboxViolation(f"string too long (over {self.limits.max_sequence})")
            return separator.join(parts)

        return join


class _Rewriter(ast.NodeTransformer):
    """Checks the tree against the whitelist and routes risky operators through guards."""

    _BINOPS = {
        ast.Mult: "mult",
        ast.Pow: "pow",
        ast.LShift: "lshift",
        ast.Mod: "mod",
        ast.Add: "add",
    }

    def generic_visit(self, node: ast.AST) -> ast.AST:
        if not isinstance(node, _ALLOWED_NODES):
            raise SandboxViolation(f"{type(node).__name__} is not allowed in process scripts")
        return super().generic_visit(node)

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if node.id.startswith("_"):
            raise SandboxViolation(f"names starting with '_' are not allowed: {node.id}")
        if node.id in _FORBIDDEN_NAMES:
            # Not defined inside anyway; saying so is clearer than a NameError at run time.
            raise SandboxViolation(f"{node.id} is not available in process scripts")
        return node

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        if node.attr not in ALLOWED_ATTRIBUTES:
            raise SandboxViolation(f"attribute '{node.attr}' is not allowed")
        value = self.visit(node.value)
        if not isinstance(node.ctx, ast.Load):
            raise SandboxViolation("assigning to attributes is not allowed")
        call = ast.Call(
            func=_guard("attr"),
            args=[value, ast.Constant(node.attr)],
            keywords=[],
        )
        return ast.copy_location(call, node)

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        node = self.generic_visit(node)  # type: ignore[assignment]
        name = self._BINOPS.get(type(node.op))
        if name is None:
            return node
        call = ast.Call(func=_guard(name), args=[node.left, node.right], keywords=[])
        return ast.copy_location(call, node)

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.AST:
        node = self.generic_visit(node)  # type: ignore[assignment]
        name = self._BINOPS.get(type(node.op))
        if name is None:
            return node
        if not isinstance(node.target, ast.Name):
            raise SandboxViolation("augmented assignment only to plain variables")
        load = ast.Name(id=node.target.id, ctx=ast.Load())
        call = ast.Call(func=_guard(name), args=[load, node.value], keywords=[])
        assign = ast.Assign(targets=[node.target], value=call)
        return ast.copy_location(assign, node)

    def visit_FormattedValue(self, node: ast.FormattedValue) -> ast.AST:
        spec = node.format_spec
        if spec is not None:
            parts = spec.values if isinstance(spec, ast.JoinedStr) else [spec]
            text = "".join(str(p.value) for p in parts if isinstance(p, ast.Constant))
            if any(not isinstance(p, ast.Constant) for p in parts) or not _FORMAT_SPEC.match(text):
                raise SandboxViolation("only short constant format specifications are allowed")
        node.value = self.visit(node.value)
        return node


def _guard(name: str) -> ast.expr:
    return ast.Name(id=f"{_SANDBOX_PREFIX}{name}", ctx=ast.Load())


@lru_cache(maxsize=2048)
def compile_restricted(
    source: str, mode: str, max_source: int = DEFAULT_LIMITS.max_source
) -> CodeType:
    """Check and compile a script (``mode="exec"``) or expression (``mode="eval"``).

    Raises ``SandboxViolation`` for anything outside the allowed language and
    ``SyntaxError`` for code that isn't Python. Results are cached per source text.
    """
    if len(source) > max_source:
        raise SandboxViolation(f"script too long (over {max_source} characters)")
    tree = ast.parse(source, mode=mode)
    tree = _Rewriter().visit(tree)
    ast.fix_missing_locations(tree)
    return compile(tree, "<process-script>", mode)


def check_source(source: str, mode: str) -> str | None:
    """The reason ``source`` would be refused, or None: for validating models at upload."""
    try:
        compile_restricted(source, mode)
    except SandboxViolation as error:
        return str(error)
    except SyntaxError as error:
        return f"syntax error: {error.msg} (line {error.lineno})"
    return None


def _safe_builtins(guards: _Guards) -> dict[str, Any]:
    return {
        "abs": abs,
        "all": all,
        "any": any,
        "bool": bool,
        "dict": dict,
        "divmod": divmod,
        "enumerate": enumerate,
        "float": float,
        "int": int,
        "len": len,
        "list": list,
        "max": max,
        "min": min,
        "range": guards.range,
        "reversed": reversed,
        "round": round,
        "set": set,
        "sorted": sorted,
        "str": str,
        "sum": sum,
        "tuple": tuple,
        "zip": zip,
        "True": True,
        "False": False,
        "None": None,
    }


def _helpers() -> dict[str, Any]:
    return {
        "date": date,
        "datetime": datetime,
        "timedelta": timedelta,
        "days_between": lambda start, end: (_as_date(end) - _as_date(start)).days,
        "to_date": _as_date,
    }


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        return date.fromisoformat(value[:10])
    raise SandboxViolation("expected a date or an ISO date string")


HELPER_NAMES = frozenset(_helpers())


def _resident_bytes() -> int | None:
    # /proc/self/statm: size resident ... in pages. Cheap to read; Linux only.
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


class _Budget:
    """A trace function enforcing the step, time and memory budgets of one run."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.steps = 0
        self.deadline = time.monotonic() + limits.max_seconds
        self.memory_start = _resident_bytes()

    def trace(self, frame: FrameType, event: str, arg: Any) -> Callable[..., Any] | None:
        if frame.f_code.co_filename != "<process-script>":
            return None  # don't trace library code called from the script
        self.steps += 1
        if self.steps > self.limits.max_steps:
            raise SandboxViolation(f"step limit exceeded ({self.limits.max_steps} steps)")
        if time.monotonic() > self.deadline:
            raise SandboxViolation(f"time limit exceeded ({self.limits.max_seconds:g} s)")
        if self.memory_start is not None and self.steps % 500 == 0:
            now = _resident_bytes()
            if now is not None and now - self.memory_start > self.limits.max_memory_growth:
                raise SandboxViolation("memory limit exceeded")
        return self.trace


_local = threading.local()


def _run(code: CodeType, namespace: dict[str, Any], limits: Limits) -> Any:
    if getattr(_local, "active", False):
        # Nested evaluation (a guard calling back) runs under the outer budget.
        return eval(code, namespace)  # noqa: S307 - checked and rewritten above
    budget = _Budget(limits)
    previous = sys.gettrace()
    _local.active = True
    sys.settrace(budget.trace)
    try:
        return eval(code, namespace)  # noqa: S307 - checked and rewritten above
    except RecursionError as error:
        raise SandboxViolation("recursion too deep") from error
    except MemoryError as error:
        raise SandboxViolation("memory limit exceeded") from error
    finally:
        sys.settrace(previous)
        _local.active = False


def _namespace(guards: _Guards, data: Mapping[str, Any]) -> dict[str, Any]:
    namespace: dict[str, Any] = {"__builtins__": _safe_builtins(guards)}
    namespace.update(_helpers())
    for name in ("mult", "pow", "lshift", "mod", "add", "attr"):
        namespace[f"{_SANDBOX_PREFIX}{name}"] = getattr(guards, name)
    namespace.update(data)
    return namespace


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(type(value).__name__)


def data_check(data: Mapping[str, Any], *, limits: Limits = DEFAULT_LIMITS) -> None:
    """Refuse variables that cannot be stored or are too large (``SandboxViolation``)."""
    for key, value in data.items():
        _value_check(key, value)
    try:
        size = len(json.dumps(data, default=_json_default))
    except (TypeError, ValueError) as error:
        raise SandboxViolation(f"variables cannot be stored: {error}") from error
    if size > limits.max_data_bytes:
        raise SandboxViolation(
            f"variables too large ({size} bytes, at most {limits.max_data_bytes})"
        )


_STORABLE = (str, int, float, bool, type(None), date, datetime, timedelta)


def _value_check(path: str, value: Any, depth: int = 0) -> None:
    if depth > 20:
        raise SandboxViolation(f"variable {path} is nested too deeply")
    if isinstance(value, _STORABLE):
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise SandboxViolation(f"variable {path} has a key that is not a string")
            _value_check(f"{path}.{key}", item, depth + 1)
        return
    if isinstance(value, list):
        for index, item in enumerate(value):
            _value_check(f"{path}[{index}]", item, depth + 1)
        return
    raise SandboxViolation(
        f"variable {path} has type {type(value).__name__}, which cannot be stored"
    )


def _normalise(value: Any) -> Any:
    # Tuples and sets are natural in scripts but not JSON; store them as lists.
    if isinstance(value, tuple):
        return [_normalise(v) for v in value]
    if isinstance(value, set | frozenset):
        try:
            return sorted(_normalise(v) for v in value)
        except TypeError:
            return [_normalise(v) for v in value]
    if isinstance(value, list):
        return [_normalise(v) for v in value]
    if isinstance(value, dict):
        return {k: _normalise(v) for k, v in value.items()}
    return value


class SandboxEnvironment:
    """SpiffWorkflow script environment that evaluates in the sandbox.

    Implements the interface of ``SpiffWorkflow.bpmn.script_engine.python_environment.
    BasePythonScriptEngineEnvironment`` (``evaluate``, ``execute``, ``call_service``).
    """

    def __init__(self, limits: Limits = DEFAULT_LIMITS) -> None:
        self.limits = limits
        self.globals: dict[str, Any] = {}

    def evaluate(
        self,
        expression: str,
        context: Mapping[str, Any],
        external_context: Mapping[str, Any] | None = None,
    ) -> Any:
        """The value of ``expression`` with the task's data (and extra names) in scope."""
        code = compile_restricted(expression.strip(), "eval", self.limits.max_source)
        guards = _Guards(self.limits)
        namespace = _namespace(guards, {**context, **(external_context or {})})
        return _normalise(_run(code, namespace, self.limits))

    def execute(
        self,
        script: str,
        context: dict[str, Any],
        external_context: Mapping[str, Any] | None = None,
    ) -> bool:
        """Run ``script``; the variables it leaves become the task's data (in place)."""
        clashes = sorted(HELPER_NAMES.intersection(context))
        if clashes:
            raise SandboxViolation(
                f"task data shadows the built-in helpers {', '.join(clashes)}; rename them"
            )
        code = compile_restricted(script, "exec", self.limits.max_source)
        guards = _Guards(self.limits)
        namespace = _namespace(guards, {**context, **(external_context or {})})
        reserved = set(namespace) - set(context)
        _run(code, namespace, self.limits)
        result = {
            key: _normalise(value)
            for key, value in namespace.items()
            if key not in reserved and not key.startswith("_") and not callable(value)
        }
        data_check(result, limits=self.limits)
        context.clear()
        context.update(result)
        return True

    def call_service(self, context: Mapping[str, Any], **kwargs: Any) -> Any:
        # Service tasks never run inside engine steps (see engine.DeferredServiceTask).
        raise SandboxViolation("service calls are not made from inside the engine")
