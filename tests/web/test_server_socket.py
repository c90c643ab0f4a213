"""The web server's connections send at once (TCP_NODELAY): without it every response after
the first on a kept-alive connection waited ~40 ms for the client's delayed ACK."""

from __future__ import annotations

import socket
import time

import httpx

from tests.web.conftest import Web


def test_kept_alive_connections_are_not_held_back_by_nagle(web: Web) -> None:
    listening = web.server.server.socket
    assert listening.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    with httpx.Client(base_url=web.url, timeout=10) as client:
        client.get("/healthz")
        took = []
        for _ in range(5):
            started = time.perf_counter()
            assert client.get("/healthz").status_code == 200
            took.append(time.perf_counter() - started)
    assert min(took) < 0.035, took  # ~0.04 s each when Nagle met the delayed ACK
