"""A one-service inetd for inetd-style servers in tests (popa3d): run as a child process.

    python3 inetd.py --port N [--nodelay] [--bind SRC:DST ...] -- PROGRAM [ARGS...]

First bind-mounts each ``SRC`` over ``DST`` (run it inside ``unshare --mount`` so the mounts
are private to it and its children and vanish with them), then listens on 127.0.0.1:N and
runs ``PROGRAM`` once per connection with the socket as its stdin and stdout, as inetd does;
stderr stays this process's (the fixture's log). ``--nodelay`` sets ``TCP_NODELAY`` on each
connection first (xinetd's ``flags = NODELAY``): a server that writes a reply in several
small pieces then does not wait for the client's delayed ACK (popa3d: 46 ms per RETR over
loopback without it, under 1 ms with it). Prints ``listening`` once ready. Children
are reaped by the kernel (SIGCHLD ignored); SIGTERM to the process group ends everything.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--bind", action="append", default=[], metavar="SRC:DST")
    parser.add_argument("--nodelay", action="store_true")
    parser.add_argument("program", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    program = args.program[1:] if args.program[:1] == ["--"] else args.program
    if not program:
        parser.error("no program to run")
    for pair in args.bind:
        src, _, dst = pair.partition(":")
        subprocess.run(["mount", "--bind", src, dst], check=True)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", args.port))
    listener.listen(64)
    print(f"listening on 127.0.0.1:{args.port}: {' '.join(program)}", flush=True)
    while True:
        conn, peer = listener.accept()
        print(f"connection from {peer[0]}:{peer[1]}", flush=True)
        if args.nodelay:
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            fd = conn.fileno()
            os.posix_spawn(
                program[0],
                program,
                dict(os.environ),
                file_actions=[
                    (os.POSIX_SPAWN_DUP2, fd, 0),
                    (os.POSIX_SPAWN_DUP2, fd, 1),
                ],
            )
        except OSError as exc:
            print(f"cannot run {program[0]}: {exc}", file=sys.stderr, flush=True)
        finally:
            conn.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
