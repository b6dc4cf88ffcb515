#!/usr/bin/env python3
"""Time to first byte of a command's stdout (standard library only).

usage: first_byte.py [--stamped] COMMAND [ARG...]

Starts COMMAND with stdin from /dev/null and stdout on a pipe, timestamps
(monotonic clock) just before the spawn and when the first byte of stdout can
be read, then drains the rest and waits for the command. Prints the delay in
microseconds on stdout and exits with the command's status (1 if it produced
no output at all). Used by tools/bench.sh; not a test.

--stamped: the command's first line is the wall-clock time in nanoseconds at
which the (remote, same machine) command wrote it, e.g. `date +%s%N`; the
delay printed is from that write to the line's arrival here: the latency of
the output stream itself, without the client's start-up or handshake.
"""
import os
import subprocess
import sys
import time


def main() -> int:
    argv = sys.argv[1:]
    stamped = bool(argv) and argv[0] == "--stamped"
    if stamped:
        argv = argv[1:]
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if argv else 2
    start = time.monotonic_ns()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, bufsize=0)
    fd = proc.stdout.fileno()
    first = os.read(fd, 1)
    arrived = time.monotonic_ns()
    line = first
    while stamped and first and not line.endswith(b"\n"):
        more = os.read(fd, 64)
        if not more:
            break
        line += more
    arrived_wall = time.time_ns()
    while os.read(fd, 65536):
        pass
    status = proc.wait()
    if not first:
        print("first_byte.py: no output from " + " ".join(argv), file=sys.stderr)
        return status or 1
    if stamped:
        try:
            written = int(line.split(b"\n")[0])
        except ValueError:
            print("first_byte.py: first line is not a time stamp: %r" % line, file=sys.stderr)
            return 1
        print((arrived_wall - written) // 1000)
    else:
        print((arrived - start) // 1000)
    return status if status >= 0 else 128 - status


if __name__ == "__main__":
    sys.exit(main())
