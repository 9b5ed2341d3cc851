"""A minimal Kafka wire client for the two requests the local tooling sends: ApiVersions
(does a node answer?) and DescribeQuorum (the KRaft controller quorum).

Hand-written because both are needed from plain synchronous code (the CLI, test fixtures)
and aiokafka has no DescribeQuorum; each request goes on a fresh connection.
"""

from __future__ import annotations

import socket
import struct
import time
from dataclasses import dataclass

from streamproc.localkafka.process import alive

DEFAULT_START_TIMEOUT = 120.0
METADATA_TOPIC = "__cluster_metadata"
CLIENT_ID = b"streamproc-probe"
MAX_RESPONSE = 1 << 20  # far above the answers asked for here: a larger size is garbage


@dataclass(frozen=True)
class Quorum:
    """The KRaft controller quorum as the active controller describes it (DescribeQuorum)."""

    leader_id: int
    leader_epoch: int
    high_watermark: int
    voters: dict[int, int]  # node id -> end offset of its copy of the metadata log
    observers: dict[int, int]

    def lag(self, node_id: int) -> int | None:
        offset = self.voters.get(node_id, self.observers.get(node_id))
        return None if offset is None else max(0, self.high_watermark - offset)

    def describe(self) -> str:
        voters = " ".join(str(v) for v in sorted(self.voters))
        lags = " ".join(str(self.lag(v)) for v in sorted(self.voters))
        return (f"leader {self.leader_id} (epoch {self.leader_epoch}), voters {voters}, "
                f"metadata lag {lags}")


def _request(host: str, port: int, body: bytes, timeout: float) -> bytes:
    """One Kafka request (size-prefixed) on a fresh connection; the response payload."""
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.settimeout(timeout)
        s.sendall(struct.pack(">i", len(body)) + body)
        (size,) = struct.unpack(">i", _recv_exact(s, 4))
        if size < 4 or size > MAX_RESPONSE:
            raise ConnectionError(f"implausible response size {size}")
        return _recv_exact(s, size)


def _recv_exact(s: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("connection closed")
        buf += chunk
    return bytes(buf)


def api_versions_ok(host: str, port: int, timeout: float) -> bool:
    """Send a Kafka ApiVersions v0 request; True on a well-formed, error-free answer.

    The broker only starts processing requests on its listener once it is unfenced, so an
    answer here means clients can produce and consume.
    """
    correlation = 0x5EED
    body = struct.pack(">hhih", 18, 0, correlation, len(CLIENT_ID)) + CLIENT_ID
    try:
        payload = _request(host, port, body, timeout)
    except OSError:
        return False
    if len(payload) < 6:
        return False
    got_correlation, error_code = struct.unpack(">ih", payload[:6])
    return got_correlation == correlation and error_code == 0


def wait_until_ready(
    bootstrap: str, timeout: float = DEFAULT_START_TIMEOUT, pid: int | None = None
) -> bool:
    """Poll ``host:port`` until the broker answers Kafka requests; False on timeout.

    With ``pid``, give up early (False) as soon as that process has exited.
    """
    host, port = bootstrap.rsplit(":", 1)
    deadline = time.monotonic() + timeout
    while True:
        if api_versions_ok(host, int(port), timeout=2.0):
            return True
        if pid is not None and not alive(pid):
            return False
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.25)


def _uvarint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


class _Reader:
    """Decoder of the few Kafka wire types DescribeQuorum v0 (a flexible version) uses."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise ValueError("truncated response")
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def int(self, fmt: str) -> int:
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]

    def uvarint(self) -> int:
        shift = value = 0
        while True:
            byte = self.take(1)[0]
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return value
            shift += 7

    def compact_string(self) -> str:
        return self.take(self.uvarint() - 1).decode("utf-8", "replace")

    def tagged_fields(self) -> None:
        for _ in range(self.uvarint()):
            self.uvarint()
            self.take(self.uvarint())

    def replicas(self) -> dict[int, int]:
        out = {}
        for _ in range(self.uvarint() - 1):
            replica, end_offset = self.int(">i"), self.int(">q")
            self.tagged_fields()
            out[replica] = end_offset
        return out


def describe_quorum_request(correlation: int = 0x51AB) -> bytes:
    """DescribeQuorum v0 (api key 55) for partition 0 of the metadata topic; request header
    v2 (flexible), so the client id is a plain nullable string followed by tagged fields."""
    name = METADATA_TOPIC.encode()
    header = struct.pack(">hhih", 55, 0, correlation, len(CLIENT_ID)) + CLIENT_ID + b"\0"
    topic = _uvarint(len(name) + 1) + name + _uvarint(2) + struct.pack(">i", 0) + b"\0" + b"\0"
    return header + _uvarint(2) + topic + b"\0"


def parse_describe_quorum(payload: bytes, correlation: int = 0x51AB) -> Quorum:
    """The answer to :func:`describe_quorum_request`; ValueError if it is an error."""
    r = _Reader(payload)
    if r.int(">i") != correlation:
        raise ValueError("correlation id mismatch")
    r.tagged_fields()  # response header v1
    if error := r.int(">h"):
        raise ValueError(f"DescribeQuorum error {error}")
    for _ in range(r.uvarint() - 1):
        topic = r.compact_string()
        for _ in range(r.uvarint() - 1):
            error, quorum = _partition(r)
            if topic == METADATA_TOPIC:
                if error:
                    raise ValueError(f"DescribeQuorum partition error {error}")
                return quorum
        r.tagged_fields()
    raise ValueError("no metadata partition in the answer")


def _partition(r: _Reader) -> tuple[int, Quorum]:
    """One partition of a DescribeQuorum answer: its error code and its quorum."""
    r.int(">i")  # partition index
    error = r.int(">h")
    leader, epoch, high_watermark = r.int(">i"), r.int(">i"), r.int(">q")
    voters, observers = r.replicas(), r.replicas()
    r.tagged_fields()
    return error, Quorum(leader, epoch, high_watermark, voters, observers)


def describe_quorum(bootstrap: str, timeout: float = 5.0) -> Quorum | None:
    """The controller quorum, asked through the first broker of ``bootstrap`` (``h:p,h:p``)
    that answers (brokers forward DescribeQuorum to the active controller); None if none."""
    for server in bootstrap.split(","):
        host, port = server.strip().rsplit(":", 1)
        try:
            payload = _request(host, int(port), describe_quorum_request(), timeout)
            return parse_describe_quorum(payload)
        except (OSError, ValueError):
            continue
    return None
