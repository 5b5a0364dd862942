"""``qtrade serve`` keeps an idle keep-alive connection open longer than uvicorn's default
5 s, so a client whose next webhook waits behind a burst is not cut off (ReadError)."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

from qtrade.commands.serve import KEEP_ALIVE_SECONDS
from tests.kit.service_builders import serve_process

IDLE_SECONDS = 5.5  # past uvicorn's default timeout_keep_alive of 5 s


def _health(sock: socket.socket, host: str) -> bytes:
    sock.sendall(f"GET /health HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
    sock.settimeout(10)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            return data  # the server closed the connection
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        body += sock.recv(4096)
    return head


def test_an_idle_keep_alive_connection_survives_past_five_seconds(tmp_path: Path) -> None:
    assert KEEP_ALIVE_SECONDS >= 60
    with serve_process(["--data-dir", str(tmp_path)], env={"QTRADE_API_TOKEN": "ka"}) as server:
        parts = urlsplit(server.base_url)
        assert parts.hostname is not None and parts.port is not None
        with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
            first = _health(sock, parts.netloc)
            time.sleep(IDLE_SECONDS)
            second = _health(sock, parts.netloc)
    assert first.startswith(b"HTTP/1.1 200")
    assert second.startswith(b"HTTP/1.1 200")
