"""Servers the tests start on loopback: a free port, and waiting until one listens."""

from __future__ import annotations

import socket
import subprocess
import time


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_listening(server: subprocess.Popen[bytes], port: int, *, timeout: float) -> None:
    """Return once 127.0.0.1:port accepts connections; kill the server and fail otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                raise RuntimeError(f"{server.args!r} is not listening on port {port}") from None
            time.sleep(0.2)
