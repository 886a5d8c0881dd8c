"""A TCP proxy on loopback that puts a server at a distance: each byte arrives half a round trip late, and each
direction carries at most so many bytes a second. The bench puts it in front of Dovecot to see the service
against a mailbox across a network (Exchange Online is never on loopback).

Run as a script (its own process, so its copying does not take the bench's GIL):
``python distance_proxy.py TARGET_PORT RTT_MS MBYTES_PER_S``; it prints the port it listens on, then serves
until killed.
"""

from __future__ import annotations

import contextlib
import queue
import socket
import sys
import threading
import time

CHUNK = 65536


def _reader(source: socket.socket, pending: queue.SimpleQueue[tuple[float, bytes]], delay: float) -> None:
    while True:
        try:
            data = source.recv(CHUNK)
        except OSError:
            data = b""
        pending.put((time.monotonic() + delay, data))
        if not data:
            return


def _writer(sink: socket.socket, pending: queue.SimpleQueue[tuple[float, bytes]], rate: float) -> None:
    free_at = 0.0  # when the link has sent what it was given (the bandwidth)
    while True:
        due, data = pending.get()
        if not data:
            with contextlib.suppress(OSError):
                sink.shutdown(socket.SHUT_WR)
            return
        start = max(due, free_at)
        wait = start - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        free_at = start + len(data) / rate
        try:
            sink.sendall(data)
        except OSError:
            return


def _direction(source: socket.socket, sink: socket.socket, delay: float, rate: float) -> None:
    pending: queue.SimpleQueue[tuple[float, bytes]] = queue.SimpleQueue()
    threading.Thread(target=_reader, args=(source, pending, delay), daemon=True).start()
    threading.Thread(target=_writer, args=(sink, pending, rate), daemon=True).start()


def serve(target_port: int, rtt_ms: float, mbytes_per_s: float) -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    print(listener.getsockname()[1], flush=True)
    delay, rate = rtt_ms / 2000, mbytes_per_s * 1_000_000
    while True:
        client, _ = listener.accept()
        server = socket.create_connection(("127.0.0.1", target_port))
        for sock in (client, server):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        _direction(client, server, delay, rate)
        _direction(server, client, delay, rate)


if __name__ == "__main__":
    serve(int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]))
