#!/usr/bin/env python3
"""Keystroke echo latency through a terminal client.

usage: echo_latency.py [-n N] CMD...

Runs CMD on a pseudo-terminal of its own (as a person's terminal). CMD must
give a remote terminal whose line discipline echoes (`trex -t HOST cat`,
`ssh -tt HOST cat`) and print nothing before the remote `cat` starts but a
line holding "ready". Then it sends one byte N times, each once the previous
one's echo has arrived, and prints the median and the 99th percentile of the
round trips in microseconds: "MEDIAN P99". Exit 1 when an echo does not come
back within 10 s.
"""
import os
import pty
import select
import signal
import sys
import time


def read_until(fd, want, deadline):
    got = b""
    while want not in got:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            return None
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            return None
        if not chunk:
            return None
        got += chunk
    return got


def main():
    args = sys.argv[1:]
    n = 1000
    if len(args) >= 2 and args[0] == "-n":
        n, args = int(args[1]), args[2:]
    if not args:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    pid, fd = pty.fork()
    if pid == 0:
        os.environ.setdefault("TERM", "xterm")
        os.execvp(args[0], args)
    status = 1
    try:
        if read_until(fd, b"ready", time.monotonic() + 30) is None:
            print("echo_latency: no 'ready' from the command", file=sys.stderr)
            return 1
        time.sleep(0.2)  # let the remote `cat` start reading
        samples = []
        for i in range(n):
            byte = bytes([ord("a") + i % 26])
            t0 = time.perf_counter_ns()
            os.write(fd, byte)
            if read_until(fd, byte, time.monotonic() + 10) is None:
                print(f"echo_latency: no echo for keystroke {i + 1}", file=sys.stderr)
                return 1
            samples.append((time.perf_counter_ns() - t0) // 1000)
        samples.sort()
        print(samples[len(samples) // 2], samples[min(len(samples) - 1, len(samples) * 99 // 100)])
        status = 0
    finally:
        os.write(fd, b"\x03")  # Ctrl-C ends the remote cat
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            done, _ = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            read_until(fd, b"\x00", time.monotonic() + 0.1)  # drain
        else:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
    return status


if __name__ == "__main__":
    sys.exit(main())
