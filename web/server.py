"""The web server on the caller's event loop: uvicorn's ``Server`` on a socket bound here.

Binding the socket ourselves makes a taken port an ``OSError`` the caller can report in one
line (uvicorn would exit the process), and lets port 0 pick a free port. uvicorn's own signal
handling is switched off: ``cpd run`` owns SIGINT and SIGTERM and stops the server by setting
``should_exit``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Iterator
from typing import Any

import uvicorn

log = logging.getLogger(__name__)


class _Server(uvicorn.Server):
    """uvicorn's server without its signal handlers (the application's loop has them)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """Leave SIGINT and SIGTERM to the caller."""
        yield


class WebServer:
    """A running web server: its address, and ``stop()``."""

    def __init__(self, server: uvicorn.Server, task: asyncio.Task[Any], sock: socket.socket):
        self.server = server
        self.task = task
        self.socket = sock
        self.host, self.port = sock.getsockname()[:2]

    async def stop(self, timeout: float = 5.0) -> None:
        """Finish the requests in hand (within ``timeout``), then close."""
        self.server.should_exit = True
        try:
            await asyncio.wait_for(asyncio.shield(self.task), timeout)
        except TimeoutError:
            self.server.force_exit = True
            self.task.cancel()
            with contextlib.suppress(BaseException):
                await self.task
        finally:
            self.socket.close()


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # accepted connections inherit it: without it every response after the first on a
        # kept-alive connection waited ~40 ms (Nagle against the client's delayed ACK: the
        # headers and the body go out as two writes); asyncio sets it only on sockets it
        # accepts for servers it made itself
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((host, port))
        sock.listen(128)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


async def start_web(app: Any, host: str, port: int, started_within: float = 10.0) -> WebServer:
    """Serve ``app`` on ``host:port`` from a task on the running loop; returns once it
    accepts connections (OSError when the address cannot be used)."""
    sock = _bind(host, port)
    config = uvicorn.Config(
        app, log_config=None, lifespan="off", access_log=False, timeout_graceful_shutdown=3
    )
    server = _Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]), name="web")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + started_within
    while not server.started:
        if task.done():
            sock.close()
            task.result()
            raise OSError(f"the web server did not start on {host}:{port}")
        if loop.time() > deadline:
            server.should_exit = True
            raise OSError(f"the web server did not start on {host}:{port} in time")
        await asyncio.sleep(0.02)
    return WebServer(server, task, sock)
