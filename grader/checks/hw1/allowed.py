"""What hw1's ``softmax``, ``cross_entropy`` and their helpers may use: the by-hand rule's allow-list.

Elementary tensor operations (exp, log, max/amax, sum, logsumexp, gather, indexing, arithmetic, shapes,
dtypes, comparisons), whether called as ``torch.exp(x)``, ``x.exp()`` or ``math.exp``, and the plain
builtins. Anything else that comes from a library (``F.softmin``, ``torch.distributions``, a name PyTorch
adds next year) is outside the rule, without a name on a list. The handout (assignments/hw1/README.md,
"Rules") says the same in words.
"""

from __future__ import annotations

#: Library names a function may use, as an attribute (``torch.exp``, ``x.sum()``) or imported by name.
#: An in-place form (``exp_``) counts as its name.
OPERATIONS = frozenset(
    {
        # the ones the handout names
        "exp", "log", "max", "amax", "sum", "logsumexp", "gather",
        # elementary arithmetic
        "add", "sub", "subtract", "mul", "multiply", "div", "divide", "true_divide", "neg", "negative",
        "abs", "pow", "sqrt", "rsqrt", "square", "reciprocal", "log1p", "expm1", "exp2", "log2", "log10",
        "min", "amin", "mean", "maximum", "minimum", "clamp", "clamp_min", "clamp_max", "clip", "where",
        "argmax", "argmin", "prod", "cumsum", "nan_to_num",
        # shapes and indexing
        "squeeze", "unsqueeze", "view", "view_as", "reshape", "reshape_as", "flatten", "expand", "expand_as",
        "transpose", "permute", "t", "T", "mT", "movedim", "select", "index_select", "take_along_dim", "narrow",
        "split", "chunk", "unbind", "stack", "cat", "concat", "contiguous", "clone", "detach", "numel", "size",
        "dim", "ndim", "ndimension", "shape", "values", "indices", "item", "tolist", "scatter", "scatter_add",
        "masked_fill", "repeat", "tile", "broadcast_to",
        # making tensors
        "tensor", "as_tensor", "arange", "eye", "zeros", "ones", "zeros_like", "ones_like", "full", "full_like",
        "empty", "empty_like", "new_zeros", "new_ones", "new_full", "new_tensor", "new_empty", "one_hot",
        # dtypes, devices
        "to", "type", "type_as", "long", "int", "float", "double", "half", "bool", "dtype", "device",
        "float16", "float32", "float64", "bfloat16", "int32", "int64", "finfo", "iinfo", "eps", "tiny",
        "is_floating_point", "Tensor",
        # comparisons
        "eq", "ne", "lt", "gt", "le", "ge", "isfinite", "isinf", "isnan", "all", "any", "equal", "allclose",
        # constants
        "inf", "nan", "e", "pi",
        # no work of their own
        "no_grad",
    }
)  # fmt: skip
#: Modules the names above may be reached through (``torch.nn.functional.one_hot``, ``torch.special.logsumexp``).
NAMESPACES = frozenset({"nn", "functional", "special"})
#: Builtins a function may use.
BUILTINS = frozenset(
    {
        "len", "range", "int", "float", "bool", "isinstance", "tuple", "list", "dict", "set", "enumerate", "zip",
        "min", "max", "abs", "sum", "round", "reversed", "sorted", "any", "all", "print", "super", "slice", "map",
        "type", "str", "repr", "hasattr", "NotImplemented", "Ellipsis", "None", "True", "False",
    }
)  # fmt: skip
#: PyTorch's ready-made versions: never allowed, even as a read of some object's attribute (``f = x.softmax``).
FORBIDDEN = frozenset(
    {
        "softmax", "log_softmax", "_softmax", "_log_softmax", "softmin", "cross_entropy", "cross_entropy_loss",
        "nll_loss", "nll_loss_nd", "nll_loss2d", "Softmax", "Softmax2d", "Softmin", "LogSoftmax",
        "CrossEntropyLoss", "NLLLoss", "NLLLoss2d", "distributions", "Categorical",
    }
)  # fmt: skip


def operation(name: str) -> bool:
    """Whether library name ``name`` is an allowed operation (an in-place ``exp_`` as ``exp``)."""
    return name not in FORBIDDEN and (name in OPERATIONS or (name.endswith("_") and name[:-1] in OPERATIONS))


def library_path(parts: list[str]) -> bool:
    """Whether a library path after its package (``nn.functional.one_hot``) is namespaces, then operations."""
    return all(part in NAMESPACES or operation(part) for part in parts)


def builtin(name: str) -> bool:
    """Whether builtin ``name`` is allowed (an exception class, raised for bad input, is too)."""
    return name in BUILTINS or name.endswith(("Error", "Exception", "Warning"))
