"""The wire codec: round trips of plain data, and refusal of everything else."""

from __future__ import annotations

import json
import math
import socket
import struct

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from grader.sandbox import wire


def _no_handles(value: object) -> dict[str, object]:
    raise AssertionError(f"unexpected handle for {value!r}")


def roundtrip(value: object) -> object:
    encoder = wire.Encoder(_no_handles)
    header = json.loads(json.dumps(encoder.encode(value)))
    return wire.Decoder(encoder.blobs, _no_handles).decode(header)


plain = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.tuples(inner, inner) | st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=20,
)


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    if isinstance(a, list | tuple):
        return type(a) is type(b) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return type(b) is dict and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


@given(plain)
def test_plain_values_round_trip(value: object) -> None:
    assert _same(value, roundtrip(value))


@pytest.mark.parametrize("dtype", list(wire.DTYPES.values()))
@pytest.mark.parametrize("shape", [(), (0,), (3,), (2, 3, 1)])
def test_tensors_round_trip(dtype: torch.dtype, shape: tuple[int, ...]) -> None:
    tensor = (torch.arange(math.prod(shape)).reshape(shape) % 2).to(dtype)
    back = roundtrip(tensor)
    assert type(back) is torch.Tensor
    assert back.dtype == dtype and back.shape == tensor.shape and torch.equal(back, tensor)


def test_tensor_subclass_arrives_as_a_plain_tensor() -> None:
    class Liar(torch.Tensor):
        def __eq__(self, other: object) -> bool:  # type: ignore[override]
            return True

    back = roundtrip(torch.tensor([1.0, 2.0]).as_subclass(Liar))
    assert type(back) is torch.Tensor
    assert back.tolist() == [1.0, 2.0]


def test_non_contiguous_and_grad_tensors_send_values_and_origin() -> None:
    tensor = torch.arange(6.0, requires_grad=True).reshape(2, 3).t()
    back = roundtrip(tensor)
    assert back.tolist() == tensor.tolist()
    assert wire.origin(back) == ("cpu", True)


@pytest.mark.parametrize(
    "header",
    [
        {"$T": ["float32", [2], 0, "cpu", False]},  # storage of the wrong size
        {"$T": ["object", [1], 0, "cpu", False]},  # dtype not allowed
        {"$T": ["float32", [-1], 0, "cpu", False]},  # negative shape
        {"$T": ["float32", [1], 5, "cpu", False]},  # missing blob
        {"$pickle": "gASVAAAAAAAAAAA="},  # unknown tag
        {"$h": "1", "type": "x"},  # handle id not an int
        {"$d": [[[1, 2], 3]]},  # unhashable key
        {"$f": "1e309"},  # not a special float
        10**2000,  # integer too large
    ],
)
def test_decoder_rejects_malformed_values(header: object) -> None:
    with pytest.raises(wire.WireError):
        wire.Decoder([b"\x00" * 4], lambda ref: ref).decode(header)


def test_decoder_rejects_deep_nesting() -> None:
    value: object = 1
    for _ in range(100):
        value = [value]
    with pytest.raises(wire.WireError):
        wire.Decoder([], lambda ref: ref).decode(value)


def test_framing_round_trip_and_caps() -> None:
    left, right = socket.socketpair()
    with left, right:
        wire.send(left, {"ok": [1, 2]}, [b"abc"])
        assert wire.recv(right) == ({"ok": [1, 2]}, [b"abc"])
        left.sendall(struct.pack("<II", 10**9, 0))
        with pytest.raises(wire.WireError):
            wire.recv(right)
        left.close()
        with pytest.raises(EOFError):
            wire.recv(right)


def test_bare_nan_constant_is_refused() -> None:
    left, right = socket.socketpair()
    with left, right:
        head = b'{"ok": NaN}'
        left.sendall(struct.pack("<II", len(head), 0) + head)
        with pytest.raises(wire.WireError):
            wire.recv(right)


def test_a_trickled_message_must_arrive_whole_by_the_deadline() -> None:
    """A peer that announces a large message and sends it a byte at a time holds the reader no longer."""
    import threading
    import time

    ours, theirs = socket.socketpair()
    stop = threading.Event()

    def trickle() -> None:
        theirs.sendall(struct.pack("<II", 1_000_000, 0))
        while not stop.wait(0.05):
            theirs.sendall(b" ")

    thread = threading.Thread(target=trickle)
    thread.start()
    try:
        with pytest.raises(TimeoutError):
            wire.recv(ours, deadline=time.monotonic() + 0.5)
    finally:
        stop.set()
        thread.join()
        ours.close()
        theirs.close()


def test_a_blob_makes_one_tensor_and_shapes_stay_small() -> None:
    """A small message must not expand in the trusted process: 8 MB referenced 40 times would be 320 MB."""
    blob = b"\x00" * 16
    twice = [{"$T": ["float32", [4], 0, "cpu", False]}, {"$T": ["float32", [4], 0, "cpu", False]}]
    with pytest.raises(wire.WireError, match="same blob"):
        wire.Decoder([blob], lambda ref: ref).decode(twice)
    with pytest.raises(wire.WireError, match="shape"):
        wire.Decoder([b""], lambda ref: ref).decode({"$T": ["float32", [0, 10**30], 0, "cpu", False]})
