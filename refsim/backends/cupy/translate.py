"""C source of the scalar twins, generated from their Python code: one source of truth.

The arithmetic of each compiled model lives once, in the scalar twin beside its NumPy
code (``lif_drift_scalar`` in ``neurons/lif.py``, ``coba_scalar`` in ``outputs.py``,
``exp_scalar`` in ``fmath.py``...).  Numba compiles those functions as they are; for the
GPU, :func:`twin_source` translates them, statement by statement, into C functions that
CUDA (and, for the tests, a host C compiler) compiles.  Every binary operation is
written with its own parentheses, so C evaluates exactly Python's tree in Python's order;
compiled without contraction into fused multiply-adds (``--fmad=false``), the C twins
give the same bits as the Python ones (``tests/backends/test_translate.py`` checks this with
the host's C compiler, and with CUDA on a GPU).

The translator accepts the small language the twins are written in and nothing more:
float arguments, assignments to local names, ``if``/``return``, conditional
expressions, ``+ - * /``, comparisons, ``and``/``or``/``not``, ``abs``, ``min``, ``max``,
``np.floor``, calls of other twins, module constants and constant subscripts of
module tuples (polynomial coefficients), tuples as return values (``refsim_pair`` for
two values, ``refsim_tuple3`` ... ``refsim_tuple8`` for more) and the unpacking of a
tuple into names (``a, b = twin(...)``, ``a, b = (x, y) if c else (z, w)``; the values
are all computed before any name is assigned, as in Python).  Anything else raises
:class:`TranslationError` naming the function and the construct.
"""

from __future__ import annotations

import ast
import inspect
import math
import textwrap
import types

from refsim import fmath

__all__ = ["TranslationError", "PRELUDE", "twin_source", "c_name"]

#: definitions every translated twin may use; valid C99 and CUDA C++
PRELUDE = """\
#ifdef __CUDACC__
#define REFSIM_FN __device__ __forceinline__
#else
#include <math.h>
#include <stdint.h>
#include <string.h>
#define REFSIM_FN static inline
#endif

{tuples}
/* Python's min and max of two floats: the first argument unless the second is
   strictly smaller (larger) */
REFSIM_FN double refsim_min(double a, double b) { return (b < a) ? b : a; }
REFSIM_FN double refsim_max(double a, double b) { return (b > a) ? b : a; }

/* 2.0 ** k, exactly, for integer-valued k in [-1022, 1023]: the bits of the float */
REFSIM_FN double refsim_pow2(double k)
{
    long long bits = ((long long)k + 1023LL) << 52;
#ifdef __CUDACC__
    return __longlong_as_double(bits);
#else
    double out;
    memcpy(&out, &bits, sizeof out);
    return out;
#endif
}
"""

#: the most values a twin may return as one tuple
MAX_TUPLE = 8


def _tuple_type(size: int) -> str:
    """The C struct of a tuple of ``size`` doubles (fields ``v0``, ``v1``...)."""
    return "refsim_pair" if size == 2 else f"refsim_tuple{size}"


def _make_tuple(size: int) -> str:
    return "refsim_make_pair" if size == 2 else f"refsim_make_tuple{size}"


def _tuple_definitions() -> str:
    out = []
    for size in range(2, MAX_TUPLE + 1):
        fields = [f"v{i}" for i in range(size)]
        out.append(
            f"typedef struct {{ double {', '.join(fields)}; }} {_tuple_type(size)};\n\n"
            f"REFSIM_FN {_tuple_type(size)} {_make_tuple(size)}("
            + ", ".join(f"double {f}" for f in fields)
            + ")\n{\n"
            f"    {_tuple_type(size)} t;\n"
            + "".join(f"    t.{f} = {f};\n" for f in fields)
            + "    return t;\n}\n"
        )
    return "\n".join(out)


PRELUDE = PRELUDE.replace("{tuples}", _tuple_definitions())

# Python callables with a fixed C spelling
_BUILTINS = {
    abs: "fabs",
    min: "refsim_min",
    max: "refsim_max",
    math.floor: "floor",
    fmath._pow2_scalar: "refsim_pow2",
}
_NUMPY_FUNCTIONS = {"floor": "floor", "fabs": "fabs"}

_BINARY = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
_COMPARE = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!="}


class TranslationError(ValueError):
    """A twin uses a construct the translator does not accept (the message names it)."""


def c_name(function: types.FunctionType) -> str:
    """The C name of a translated twin (its Python name)."""
    return function.__name__


def _literal(value: float) -> str:
    value = float(value)
    if not math.isfinite(value):
        raise TranslationError(f"constant {value!r} is not finite")
    text = repr(value)  # shortest repr: C reads it back to the same double
    return f"({text})" if value < 0 else text


class _Function:
    """One twin being translated: its C text and the twins it calls."""

    def __init__(self, function: types.FunctionType):
        self.function = function
        self.calls: list[types.FunctionType] = []
        source = textwrap.dedent(inspect.getsource(function))
        self.tree = ast.parse(source).body[0]
        if not isinstance(self.tree, ast.FunctionDef):
            raise TranslationError(f"{function.__name__}: not a plain function")
        self.arguments = [a.arg for a in self.tree.args.args]
        assigned = set()
        for node in ast.walk(self.tree):
            for target in node.targets if isinstance(node, ast.Assign) else ():
                names = target.elts if isinstance(target, ast.Tuple) else [target]
                assigned |= {t.id for t in names if isinstance(t, ast.Name)}
        self.locals = sorted(assigned - set(self.arguments))
        sizes = {
            len(node.value.elts) if isinstance(node.value, ast.Tuple) else 1
            for node in ast.walk(self.tree)
            if isinstance(node, ast.Return) and node.value
        }
        #: how many values it returns (1: a double; more: a tuple struct)
        self.returns = max(sizes, default=1)
        if len(sizes) > 1:
            raise TranslationError(
                f"{function.__name__}: returns tuples of different sizes "
                f"or a value and a tuple ({sorted(sizes)})"
            )
        if self.returns > MAX_TUPLE:
            raise TranslationError(
                f"{function.__name__}: returns {self.returns} values; at "
                f"most {MAX_TUPLE} translate to C"
            )
        self.temporaries = 0  # the C names _t0, _t1... of unpacked values

    def fail(self, node: ast.AST, what: str) -> TranslationError:
        return TranslationError(
            f"{self.function.__name__}, line {getattr(node, 'lineno', '?')}: "
            f"{what} ({ast.unparse(node)!r}) does not translate to C"
        )

    # -- statements -------------------------------------------------------------------
    def text(self) -> str:
        kind = _tuple_type(self.returns) if self.returns > 1 else "double"
        params = ", ".join(f"double {a}" for a in self.arguments) or "void"
        lines = [f"REFSIM_FN {kind} {c_name(self.function)}({params})", "{"]
        if self.locals:
            lines.append(f"    double {', '.join(self.locals)};")
        body = self.tree.body
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            body = body[1:]  # the docstring
        lines += self.block(body, 1)
        lines.append("}")
        return "\n".join(lines)

    def block(self, statements: list[ast.stmt], depth: int) -> list[str]:
        pad = "    " * depth
        out = []
        for node in statements:
            if isinstance(node, ast.Assign):
                if len(node.targets) != 1:
                    raise self.fail(node, "a chained assignment")
                target = node.targets[0]
                if isinstance(target, ast.Name):
                    out.append(f"{pad}{target.id} = {self.expr(node.value)};")
                elif isinstance(target, ast.Tuple) and all(
                    isinstance(t, ast.Name) for t in target.elts
                ):
                    out += self.unpack(node, [t.id for t in target.elts], node.value, pad)
                else:
                    raise self.fail(node, "an assignment to anything but names")
            elif isinstance(node, ast.Return):
                out.append(f"{pad}return {self.returned(node)};")
            elif isinstance(node, ast.If):
                out.append(f"{pad}if ({self.expr(node.test)}) {{")
                out += self.block(node.body, depth + 1)
                if node.orelse:
                    out.append(f"{pad}}} else {{")
                    out += self.block(node.orelse, depth + 1)
                out.append(f"{pad}}}")
            else:
                raise self.fail(node, f"the statement {type(node).__name__}")
        return out

    def unpack(self, node: ast.Assign, names: list[str], value: ast.expr, pad: str) -> list[str]:
        """``a, b, ... = value``: every value first (into temporaries), then the names."""
        if isinstance(value, ast.IfExp):
            return (
                [f"{pad}if ({self.expr(value.test)}) {{"]
                + self.unpack(node, names, value.body, pad + "    ")
                + [f"{pad}}} else {{"]
                + self.unpack(node, names, value.orelse, pad + "    ")
                + [f"{pad}}}"]
            )
        if isinstance(value, ast.Tuple):
            if len(value.elts) != len(names):
                raise self.fail(node, f"{len(names)} names given {len(value.elts)} values")
            values = [self.expr(e) for e in value.elts]
        elif isinstance(value, ast.Call):
            callee = self.resolve(value.func)
            size = _Function(callee).returns if isinstance(callee, types.FunctionType) else 1
            if size != len(names):
                raise self.fail(node, f"{len(names)} names given a call that returns {size}")
            tuple_name = f"_t{self.temporaries}"
            self.temporaries += 1
            call = self.expr(value)
            return (
                [f"{pad}{{", f"{pad}    {_tuple_type(size)} {tuple_name} = {call};"]
                + [f"{pad}    {n} = {tuple_name}.v{i};" for i, n in enumerate(names)]
                + [f"{pad}}}"]
            )
        else:
            raise self.fail(
                node,
                "unpacking of something other than a tuple, a call or a "
                "conditional choice between tuples",
            )
        first = self.temporaries
        self.temporaries += len(values)
        held = [f"_t{first + i}" for i in range(len(values))]
        return (
            [
                f"{pad}{{",
                f"{pad}    double "
                + ", ".join(f"{h} = {v}" for h, v in zip(held, values, strict=True))
                + ";",
            ]
            + [f"{pad}    {n} = {h};" for n, h in zip(names, held, strict=True)]
            + [f"{pad}}}"]
        )

    def returned(self, node: ast.Return) -> str:
        if node.value is None:
            raise self.fail(node, "a return without a value")
        if isinstance(node.value, ast.Tuple):
            values = ", ".join(self.expr(e) for e in node.value.elts)
            return f"{_make_tuple(len(node.value.elts))}({values})"
        return self.expr(node.value)

    # -- expressions ------------------------------------------------------------------
    def expr(self, node: ast.expr) -> str:
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            return f"({self.expr(node.left)} {_BINARY[type(node.op)]} {self.expr(node.right)})"
        if isinstance(node, ast.UnaryOp):
            operator = {ast.USub: "-", ast.UAdd: "+", ast.Not: "!"}.get(type(node.op))
            if operator is None:
                raise self.fail(node, "the operator")
            return f"({operator}{self.expr(node.operand)})"
        if isinstance(node, ast.Compare):
            if len(node.ops) != 1 or type(node.ops[0]) not in _COMPARE:
                raise self.fail(node, "a chained or unknown comparison")
            return (
                f"({self.expr(node.left)} {_COMPARE[type(node.ops[0])]} "
                f"{self.expr(node.comparators[0])})"
            )
        if isinstance(node, ast.BoolOp):
            operator = " && " if isinstance(node.op, ast.And) else " || "
            return "(" + operator.join(self.expr(v) for v in node.values) + ")"
        if isinstance(node, ast.IfExp):
            return f"({self.expr(node.test)} ? {self.expr(node.body)} : {self.expr(node.orelse)})"
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
                raise self.fail(node, "a constant other than a number")
            return _literal(node.value)
        if isinstance(node, ast.Name):
            if node.id in self.arguments or node.id in self.locals:
                return node.id
            return self.constant(node, self.resolve(node))
        if isinstance(node, ast.Subscript):
            sequence = self.resolve(node.value)
            if not isinstance(sequence, tuple) or not isinstance(node.slice, ast.Constant):
                raise self.fail(node, "a subscript other than a module tuple at a constant")
            return _literal(sequence[node.slice.value])
        if isinstance(node, ast.Attribute):
            return self.constant(node, self.resolve(node))
        if isinstance(node, ast.Call):
            if node.keywords:
                raise self.fail(node, "a call with keywords")
            arguments = ", ".join(self.expr(a) for a in node.args)
            return f"{self.callee(node.func)}({arguments})"
        raise self.fail(node, f"the expression {type(node).__name__}")

    def resolve(self, node: ast.expr):
        """The Python object a global name or a dotted name refers to."""
        if isinstance(node, ast.Name):
            scope = self.function.__globals__
            if node.id in scope:
                return scope[node.id]
            import builtins

            if hasattr(builtins, node.id):
                return getattr(builtins, node.id)
            raise self.fail(node, "an unknown name")
        if isinstance(node, ast.Attribute):
            return getattr(self.resolve(node.value), node.attr)
        raise self.fail(node, "this reference")

    def constant(self, node: ast.expr, value) -> str:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(node, "a global that is not a number")
        return _literal(value)

    def callee(self, node: ast.expr) -> str:
        target = self.resolve(node)
        if target in _BUILTINS:
            return _BUILTINS[target]
        numpy_name = getattr(target, "__name__", None)
        if type(target).__name__ == "ufunc" and numpy_name in _NUMPY_FUNCTIONS:
            return _NUMPY_FUNCTIONS[numpy_name]
        if isinstance(target, types.FunctionType):
            self.calls.append(target)
            return c_name(target)
        raise self.fail(node, "a call of something other than a twin or a known function")


def twin_source(functions) -> str:
    """C definitions of ``functions`` and of every twin they call, callees first,
    after :data:`PRELUDE`."""
    done: dict[types.FunctionType, str] = {}
    named: dict[str, types.FunctionType] = {}  # C name -> its function: one each

    def visit(function, path=()):
        if function in done:
            return
        if function in path:
            raise TranslationError(f"{function.__name__} calls itself (recursion)")
        other = named.setdefault(c_name(function), function)
        if other is not function:
            raise TranslationError(
                f"two twins are named {c_name(function)} ({other.__module__} and "
                f"{function.__module__}); C has one namespace: rename one"
            )
        translated = _Function(function)
        text = translated.text()
        for callee in translated.calls:
            visit(callee, path + (function,))
        done[function] = text

    for function in functions:
        visit(function)
    return PRELUDE + "\n" + "\n\n".join(done.values()) + "\n"
