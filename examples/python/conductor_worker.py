#!/usr/bin/env python3
"""A conductor pool worker in pure Python (stdlib only, Python 3.8+).

Speaks the frame protocol specified in docs/protocol.md on stdin/stdout.
Copy this file next to your code and call ``serve``::

    from conductor_worker import serve

    def handle(body: bytes) -> bytes:
        return body.upper()

    serve(handle)

The handler gets each task body as ``bytes`` and returns the result as
``bytes`` (a ``str`` is encoded as UTF-8). If it raises, the pool receives a
task error for that task and the worker keeps serving.

While serving, ``sys.stdout`` is redirected to ``sys.stderr`` so that stray
``print`` calls cannot corrupt the protocol stream.

Run directly, this file is a demo worker that upper-cases task bodies::

    python3 conductor_worker.py            # frame mode (the default)
    python3 conductor_worker.py --lines    # line mode: one line in, one line out
    python3 conductor_worker.py --reverse  # testing aid, see serve(reverse_replies)

Demo bodies starting with ``fail`` produce a task error, ``sleep:SECONDS``
sleeps before answering, and ``crash`` exits the process with status 3.
Exit status: 0 on shutdown or end of input, 2 on a protocol error.
"""

import os
import struct
import sys
import time

TASK = 1
RESULT = 2
TASK_ERROR = 3
PING = 4
PONG = 5
SHUTDOWN = 6
SHUTDOWN_ACK = 7

HEADER = struct.Struct(">IB3s")  # payload length, type, reserved
HEADER_LEN = HEADER.size  # 8
ID = struct.Struct(">Q")  # task id or nonce
DEFAULT_MAX_FRAME_LEN = 64 * 1024 * 1024
READ_CHUNK = 64 * 1024

_NAMES = {
    TASK: "task",
    RESULT: "result",
    TASK_ERROR: "task error",
    PING: "ping",
    PONG: "pong",
    SHUTDOWN: "shutdown",
    SHUTDOWN_ACK: "shutdown ack",
}


class ProtocolError(Exception):
    """The pool sent bytes that violate the protocol."""


def encode(msg_type, payload=b""):
    """Return one frame: 8-byte header followed by ``payload``."""
    return HEADER.pack(len(payload), msg_type, b"\0\0\0") + payload


def _check_header(length, msg_type, reserved, max_frame_len):
    """Validate a header the same way the Rust decoder does."""
    if reserved != b"\0\0\0":
        raise ProtocolError(
            "reserved header bytes must be zero, got %s" % list(reserved)
        )
    if msg_type not in _NAMES:
        raise ProtocolError("unknown message type %d" % msg_type)
    if length > max_frame_len:
        raise ProtocolError(
            "frame length %d exceeds maximum %d" % (length, max_frame_len)
        )
    if msg_type not in (TASK, PING, SHUTDOWN):
        raise ProtocolError(
            "worker received a %s frame; workers only accept task, ping and shutdown"
            % _NAMES[msg_type]
        )
    if msg_type == TASK and length < ID.size:
        raise ProtocolError(
            "task frame payload is %d bytes; it must hold an 8-byte task id" % length
        )
    if msg_type == PING and length != ID.size:
        raise ProtocolError(
            "ping frame payload is %d bytes; it must be exactly 8 bytes" % length
        )
    if msg_type == SHUTDOWN and length != 0:
        raise ProtocolError(
            "shutdown frame payload is %d bytes; it must be exactly 0 bytes" % length
        )


def _run_task(handler, task_id, body):
    """Run the handler on one task and return the reply frame."""
    try:
        result = handler(body)
        if isinstance(result, str):
            result = result.encode("utf-8")
        return encode(RESULT, ID.pack(task_id) + bytes(result))
    except Exception as exc:  # noqa: BLE001 - any handler failure is a task error
        message = "%s: %s" % (type(exc).__name__, exc)
        return encode(TASK_ERROR, ID.pack(task_id) + message.encode("utf-8", "replace"))


def _read_some(stream):
    """Read whatever is available (at least one byte), or b"" at EOF."""
    read1 = getattr(stream, "read1", None)
    if read1 is not None:
        return read1(READ_CHUNK)
    return stream.read(READ_CHUNK)


def serve(
    handler,
    status=None,
    stdin=None,
    stdout=None,
    max_frame_len=DEFAULT_MAX_FRAME_LEN,
    reverse_replies=False,
):
    """Serve tasks until shutdown or end of input.

    handler: ``callable(bytes) -> bytes | str``, called once per task.
    status: optional ``callable() -> bytes`` whose value is sent in each pong.
    stdin, stdout: binary streams (default: the process's stdin and stdout).
    max_frame_len: largest accepted payload, like the Rust decoder's maximum.
    reverse_replies: testing aid; send the replies of each batch of tasks in
        reverse order, to check that the pool matches replies by id.

    Replies are flushed whenever no further complete frame is buffered, so
    pipelined tasks are answered in batches. Returns after acknowledging a
    shutdown or at end of input between frames. Raises ``ProtocolError`` on
    a protocol violation or if input ends in the middle of a frame.
    """
    inp = stdin if stdin is not None else sys.stdin.buffer
    if stdout is None:
        out = sys.stdout.buffer
        sys.stdout.flush()
        sys.stdout = sys.stderr  # keep print() away from the protocol stream
    else:
        out = stdout

    buf = bytearray()
    while True:
        replies = []
        pos = 0
        shutdown = False
        while len(buf) - pos >= HEADER_LEN:
            length, msg_type, reserved = HEADER.unpack_from(buf, pos)
            _check_header(length, msg_type, reserved, max_frame_len)
            end = pos + HEADER_LEN + length
            if len(buf) < end:
                break
            payload = bytes(buf[pos + HEADER_LEN : end])
            pos = end
            if msg_type == TASK:
                (task_id,) = ID.unpack_from(payload)
                replies.append(_run_task(handler, task_id, payload[ID.size :]))
            elif msg_type == PING:
                extra = status() if status is not None else b""
                replies.append(encode(PONG, payload + bytes(extra)))
            else:  # SHUTDOWN
                shutdown = True
                break
        del buf[:pos]
        if reverse_replies:
            replies.reverse()
        if shutdown:
            replies.append(encode(SHUTDOWN_ACK))
        if replies:
            out.write(b"".join(replies))
            out.flush()
        if shutdown:
            return
        chunk = _read_some(inp)
        if not chunk:
            if buf:
                raise ProtocolError(
                    "stream ended in the middle of a frame (%d bytes buffered)" % len(buf)
                )
            return
        buf += chunk


def serve_lines(handler, stdin=None, stdout=None):
    """Line mode: answer each input line with one output line.

    The handler gets the line without its newline and must return a result
    without newlines. If it raises, an empty line is written so that results
    stay aligned with tasks (line mode has no way to report errors).
    """
    inp = stdin if stdin is not None else sys.stdin.buffer
    if stdout is None:
        out = sys.stdout.buffer
        sys.stdout.flush()
        sys.stdout = sys.stderr
    else:
        out = stdout
    while True:
        line = inp.readline()
        if not line:
            return
        try:
            result = handler(line[:-1] if line.endswith(b"\n") else line)
            if isinstance(result, str):
                result = result.encode("utf-8")
            result = bytes(result).replace(b"\n", b" ")
        except Exception as exc:  # noqa: BLE001
            sys.stderr.write("task failed: %s: %s\n" % (type(exc).__name__, exc))
            result = b""
        out.write(result + b"\n")
        out.flush()


def _demo_handler(body):
    """Upper-case the body; ``fail``/``sleep:S``/``crash`` bodies test failures."""
    if body.startswith(b"fail"):
        raise ValueError("task asked to fail: %r" % body)
    if body.startswith(b"sleep:"):
        time.sleep(float(body[len(b"sleep:") :]))
    if body.startswith(b"crash"):
        sys.stderr.flush()
        os._exit(3)
    return body.upper()


def _main(argv):
    tasks_done = [0]

    def handler(body):
        tasks_done[0] += 1
        return _demo_handler(body)

    def status():
        return ("tasks=%d" % tasks_done[0]).encode("ascii")

    known = {"--lines", "--reverse"}
    unknown = [arg for arg in argv if arg not in known]
    if unknown:
        sys.stderr.write("usage: conductor_worker.py [--lines] [--reverse]\n")
        return 64
    try:
        if "--lines" in argv:
            serve_lines(handler)
        else:
            serve(handler, status=status, reverse_replies="--reverse" in argv)
    except ProtocolError as exc:
        sys.stderr.write("conductor_worker: protocol error: %s\n" % exc)
        return 2
    except BrokenPipeError:
        return 0  # the pool went away; nothing left to answer
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
