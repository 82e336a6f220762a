#!/usr/bin/env python3
"""A frame-protocol worker for the pool tests that misbehaves on request.

Task bodies (anything else is answered with the upper-cased body):
  garbage        write 16 junk bytes instead of a reply
  oversize       write a result header declaring a 2 GiB payload
  twice          answer the task twice
  unknown        answer with a task id that was never sent
  pong           write an unsolicited pong, then answer
  exit0          exit with status 0 without answering
  crash          exit with status 3 without answering
  closeout       close stdout and keep running
  sleep:S        sleep S seconds, then answer
  stderr:N       write N lines to stderr, then answer "logged"
  fail           answer with a task error

Options:
  --fail-unless PATH   exit 1 at start unless PATH exists
  --no-pong            never answer the health-check ping
  --bad-pong           answer the ping with junk
  --stubborn           ignore Shutdown, end of input and SIGTERM
"""

import os
import signal
import struct
import sys
import time

HEADER = struct.Struct(">IB3s")
ID = struct.Struct(">Q")
TASK, RESULT, TASK_ERROR, PING, PONG, SHUTDOWN, SHUTDOWN_ACK = range(1, 8)


def frame(kind, payload=b""):
    return HEADER.pack(len(payload), kind, b"\0\0\0") + payload


def main(argv):
    out = sys.stdout.buffer
    inp = sys.stdin.buffer
    stubborn = "--stubborn" in argv
    if "--fail-unless" in argv:
        path = argv[argv.index("--fail-unless") + 1]
        if not os.path.exists(path):
            sys.stderr.write("flag file %s missing; exiting\n" % path)
            return 1
    if stubborn:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    buf = b""
    while True:
        chunk = os.read(0, 1 << 16)
        if not chunk:
            if stubborn:
                time.sleep(3600)
            return 0
        buf += chunk
        replies = []
        while len(buf) >= 8:
            length, kind, _ = HEADER.unpack_from(buf)
            if len(buf) < 8 + length:
                break
            payload, buf = buf[8 : 8 + length], buf[8 + length :]
            if kind == PING:
                if "--no-pong" in argv:
                    continue
                if "--bad-pong" in argv:
                    replies.append(b"\xff" * 12)
                    continue
                replies.append(frame(PONG, payload))
            elif kind == SHUTDOWN:
                if stubborn:
                    continue
                out.write(b"".join(replies) + frame(SHUTDOWN_ACK))
                out.flush()
                return 0
            elif kind == TASK:
                (tid,) = ID.unpack_from(payload)
                body = payload[8:]
                idb = ID.pack(tid)
                if body == b"garbage":
                    replies.append(b"\xde\xad\xbe\xef" * 4)
                elif body == b"oversize":
                    replies.append(HEADER.pack(0x7FFFFFF0, RESULT, b"\0\0\0") + idb)
                elif body == b"twice":
                    replies.append(frame(RESULT, idb + b"TWICE"))
                    replies.append(frame(RESULT, idb + b"TWICE"))
                elif body == b"unknown":
                    replies.append(frame(RESULT, ID.pack(tid ^ 0xFFFF) + b"?"))
                elif body == b"pong":
                    replies.append(frame(PONG, ID.pack(7)))
                    replies.append(frame(RESULT, idb + b"PONG"))
                elif body in (b"exit0", b"crash"):
                    out.write(b"".join(replies))
                    out.flush()
                    os._exit(0 if body == b"exit0" else 3)
                elif body == b"closeout":
                    out.write(b"".join(replies))
                    out.flush()
                    os.close(1)
                    time.sleep(3600)
                elif body.startswith(b"sleep:"):
                    time.sleep(float(body[6:]))
                    replies.append(frame(RESULT, idb + body.upper()))
                elif body.startswith(b"stderr:"):
                    for i in range(int(body[7:])):
                        sys.stderr.write("log line %d\n" % i)
                    sys.stderr.flush()
                    replies.append(frame(RESULT, idb + b"logged"))
                elif body == b"fail":
                    replies.append(frame(TASK_ERROR, idb + b"asked to fail"))
                else:
                    replies.append(frame(RESULT, idb + body.upper()))
        if replies:
            out.write(b"".join(replies))
            out.flush()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
