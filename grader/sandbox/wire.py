"""The bytes that cross the trust boundary, and nothing else.

A message is a JSON header plus raw binary blobs (tensor storage). Values are
encoded as JSON with a few tagged forms::

    {"$f": "nan"}                         float that JSON cannot hold (nan, inf, -inf)
    {"$t": [...]}                         tuple
    {"$d": [[key, value], ...]}           dict
    {"$T": [dtype, shape, blob, device, requires_grad]}   tensor, storage in blobs[blob]
    {"$h": id, "type": "module.Class"}    handle to an object that stays in the worker

Lists are JSON arrays. Nothing is ever unpickled. :func:`decode` is the trusted
side's reader: it accepts exactly these forms, within the caps in :class:`Caps`,
and builds fresh plain Python values and fresh ``torch.Tensor`` objects, so no
object made by student code ever reaches the trusted process.
"""

from __future__ import annotations

import json
import math
import numbers
import signal
import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

DTYPES: dict[str, torch.dtype] = {
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
    "float32": torch.float32,
    "float64": torch.float64,
    "uint8": torch.uint8,
    "int8": torch.int8,
    "int16": torch.int16,
    "int32": torch.int32,
    "int64": torch.int64,
    "bool": torch.bool,
}
DTYPE_NAMES = {dtype: name for name, dtype in DTYPES.items()}
_SPECIAL_FLOATS = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}
#: The signal that asks the worker which function of the submission it is running (the answer is one message
#: ``{"running": {"function": ..., "file": ..., "line": ...}}``, read within :data:`WHERE_CAPS`).
WHERE_SIGNAL = signal.SIGUSR1
_PREFIX = struct.Struct("<II")
_BLOB_LEN = struct.Struct("<Q")


class WireError(Exception):
    """Bytes that are not a well-formed message within the caps."""


@dataclass(frozen=True)
class Caps:
    """Upper bounds on what one message from the worker may hold."""

    message_bytes: int = 256 * 1024 * 1024
    #: JSON expands some 25 times as Python objects ([{}, {}, ...]) before the item cap can be counted.
    header_bytes: int = 4 * 1024 * 1024
    blobs: int = 10_000
    depth: int = 32
    items: int = 250_000
    string_chars: int = 1_000_000
    int_digits: int = 1_000


#: What the answer to :data:`WHERE_SIGNAL` may hold: a small header, no blobs.
WHERE_CAPS = Caps(message_bytes=4096, header_bytes=4096, blobs=0)


@dataclass(frozen=True)
class HandleRef:
    """A reference to an object living in the worker, as read off the wire."""

    id: int
    type: str


class Encoder:
    """Turns values into a JSON-able header plus blobs (used on both sides).

    ``to_handle`` is called for anything that is not plain data; it returns the
    tagged handle form (the worker stores the object, the client refuses).
    """

    def __init__(self, to_handle: Callable[[Any], dict[str, Any]]) -> None:
        self.blobs: list[bytes] = []
        self._to_handle = to_handle

    def encode(self, value: Any, depth: int = 0) -> Any:
        """Encode one value; containers recursively."""
        if depth > 64:
            raise WireError("value nested too deeply to send")
        if value is None:
            return None
        if isinstance(value, bool):
            return bool(value)
        if isinstance(value, str):
            return str.__str__(value)
        if isinstance(value, numbers.Integral):
            return int(value)
        if isinstance(value, float | numbers.Real) and not isinstance(value, torch.Tensor):
            number = float(value)
            return number if math.isfinite(number) else {"$f": repr(number)}
        if isinstance(value, torch.Tensor):
            return self._tensor(value)
        if type(value).__module__ == "numpy" and type(value).__name__ == "ndarray":
            return self._tensor(torch.from_numpy(value))
        if isinstance(value, list):
            return [self.encode(item, depth + 1) for item in value]
        if isinstance(value, tuple):
            return {"$t": [self.encode(item, depth + 1) for item in value]}
        if isinstance(value, dict):
            return {"$d": [[self.encode(k, depth + 1), self.encode(v, depth + 1)] for k, v in value.items()]}
        return self._to_handle(value)

    def _tensor(self, tensor: torch.Tensor) -> Any:
        if tensor.layout != torch.strided or tensor.dtype not in DTYPE_NAMES or tensor.is_nested:
            return self._to_handle(tensor)
        device = str(tensor.device)
        plain = torch.Tensor.as_subclass(tensor.detach(), torch.Tensor)
        plain = plain.to("cpu").contiguous()
        raw = plain.reshape(-1).view(torch.uint8).numpy().tobytes() if plain.numel() else b""
        self.blobs.append(raw)
        shape = [int(n) for n in plain.shape]
        return {"$T": [DTYPE_NAMES[plain.dtype], shape, len(self.blobs) - 1, device, bool(tensor.requires_grad)]}


def send(sock: socket.socket, header: Any, blobs: list[bytes] = ()) -> None:  # type: ignore[assignment]
    """Write one framed message."""
    head = json.dumps(header, allow_nan=False, separators=(",", ":")).encode()
    parts = [_PREFIX.pack(len(head), len(blobs)), head]
    for blob in blobs:
        parts.append(_BLOB_LEN.pack(len(blob)))
        parts.append(blob)
    sock.sendall(b"".join(parts))


def recv(
    sock: socket.socket,
    caps: Caps = Caps(),
    deadline: float | None = None,
    tick: float | None = None,
    on_wait: Callable[[], None] | None = None,
) -> tuple[Any, list[bytes]]:
    """Read one framed message; raises EOFError when the peer closed the socket.

    With ``deadline`` (a ``time.monotonic()`` value) the whole message must have arrived by then, however
    slowly its bytes come (TimeoutError otherwise): a worker that announces a large message and sends it a
    byte at a time holds nobody up for longer. ``on_wait`` is called every ``tick`` seconds the bytes keep
    the reader waiting (the caller watches the sender's memory meanwhile).
    """

    head_len, n_blobs = _PREFIX.unpack(_read(sock, _PREFIX.size, deadline, tick, on_wait))
    if head_len > caps.header_bytes or n_blobs > caps.blobs:
        raise WireError("message header over the size limit")
    head = _read(sock, head_len, deadline, tick, on_wait)
    total = head_len
    blobs = []
    for _ in range(n_blobs):
        (size,) = _BLOB_LEN.unpack(_read(sock, _BLOB_LEN.size, deadline, tick, on_wait))
        total += size
        if total > caps.message_bytes:
            raise WireError("message over the size limit")
        blobs.append(_read(sock, size, deadline, tick, on_wait))
    try:
        header = json.loads(head, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise WireError(f"message header is not valid JSON: {exc}") from exc
    return header, blobs


def _reject_constant(name: str) -> Any:
    raise WireError(f"bare {name} is not allowed on the wire")


def _read(
    sock: socket.socket,
    size: int,
    deadline: float | None,
    tick: float | None = None,
    on_wait: Callable[[], None] | None = None,
) -> bytes:
    chunks = bytearray()
    while len(chunks) < size:
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("the message did not arrive in time")
            sock.settimeout(min(remaining, tick) if tick else remaining)
        try:
            chunk = sock.recv(min(size - len(chunks), 1 << 20))
        except TimeoutError:
            if on_wait is None or deadline is None:
                raise
            on_wait()
            continue
        if not chunk:
            raise EOFError("peer closed the connection")
        chunks += chunk
    return bytes(chunks)


class Decoder:
    """The trusted side's strict reader of values from the worker."""

    def __init__(self, blobs: list[bytes], make_handle: Callable[[HandleRef], Any], caps: Caps = Caps()) -> None:
        self._blobs = blobs
        self._make_handle = make_handle
        self._caps = caps
        self._items = 0
        #: Blobs already made into a tensor: each may be used once, so a small message cannot expand.
        self._used: set[int] = set()

    def decode(self, value: Any, depth: int = 0) -> Any:
        """Decode one value, validating every node."""
        self._items += 1
        if depth > self._caps.depth or self._items > self._caps.items:
            raise WireError("value too deep or too large")
        kind = type(value)
        if value is None or kind is bool or kind is float:
            return value
        if kind is int:
            if abs(value) >= 10**self._caps.int_digits:
                raise WireError("integer too large")
            return value
        if kind is str:
            if len(value) > self._caps.string_chars:
                raise WireError("string too long")
            return value
        if kind is list:
            return [self.decode(item, depth + 1) for item in value]
        if kind is not dict or len(value) not in (1, 2):
            raise WireError(f"unexpected value of type {kind.__name__}")
        return self._tagged(value, depth)

    def _tagged(self, value: dict[str, Any], depth: int) -> Any:
        if "$h" in value:
            ident, type_name = value.get("$h"), value.get("type")
            if type(ident) is not int or type(type_name) is not str or len(value) != 2:
                raise WireError("malformed handle")
            return self._make_handle(HandleRef(ident, type_name[:200]))
        if len(value) != 1:
            raise WireError("malformed tagged value")
        ((tag, body),) = value.items()
        if tag == "$f" and body in _SPECIAL_FLOATS:
            return _SPECIAL_FLOATS[body]
        if tag == "$t" and type(body) is list:
            return tuple(self.decode(item, depth + 1) for item in body)
        if tag == "$d" and type(body) is list:
            return self._dict(body, depth)
        if tag == "$T" and type(body) is list:
            return self._tensor(body)
        raise WireError(f"unknown tag {tag!r}")

    def _dict(self, body: list[Any], depth: int) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        for pair in body:
            if type(pair) is not list or len(pair) != 2:
                raise WireError("malformed dict entry")
            key = self.decode(pair[0], depth + 1)
            if not isinstance(key, str | int | float | bool | tuple | type(None)):
                raise WireError("dict key is not plain data")
            try:
                result[key] = self.decode(pair[1], depth + 1)
            except TypeError as exc:
                raise WireError("dict key is not hashable") from exc
        return result

    def _tensor(self, body: list[Any]) -> torch.Tensor:
        if len(body) != 5:
            raise WireError("malformed tensor")
        dtype_name, shape, blob, device, requires_grad = body
        if type(dtype_name) is not str or dtype_name not in DTYPES:
            raise WireError(f"tensor dtype {dtype_name!r} not allowed")
        if type(shape) is not list or len(shape) > 16 or any(type(n) is not int or not 0 <= n < 2**48 for n in shape):
            raise WireError("malformed tensor shape")
        if type(blob) is not int or not 0 <= blob < len(self._blobs):
            raise WireError("tensor refers to a missing blob")
        if blob in self._used:
            raise WireError("two tensors refer to the same blob")
        self._used.add(blob)
        if type(device) is not str or type(requires_grad) is not bool:
            raise WireError("malformed tensor metadata")
        dtype = DTYPES[dtype_name]
        numel = math.prod(shape)
        raw = self._blobs[blob]
        if len(raw) != numel * dtype.itemsize or numel >= 2**48:
            raise WireError("tensor storage does not match its shape")
        if numel == 0:
            tensor = torch.empty(shape, dtype=dtype)
        else:
            tensor = torch.frombuffer(bytearray(raw), dtype=dtype).reshape(shape)
        tensor.__dict__["_grader_origin"] = (device[:40], requires_grad)
        return tensor


def origin(tensor: torch.Tensor) -> tuple[str, bool]:
    """(device, requires_grad) the tensor had in the worker; ("cpu", False) if unknown."""
    return tensor.__dict__.get("_grader_origin", ("cpu", False))
