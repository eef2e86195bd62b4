"""Live status at scale: one `python run.py` process, N streams open on it; prints figures.

Starts run.py on embedded servers of its own (no demo seed), books one room for a guest,
then measures, in the same run:

  - a plain GET /api/v1/hotels from another client: p50 and p95 over 200 calls with no
    stream open (the baseline), then with N streams open (the ratio is what streams cost);
  - the time for one payment's `confirmed` event to reach all N listeners;
  - the server's memory (RSS) before and with the N streams, and its threads;
  - how long after N clients hang up the open-streams gauge is back to 0.

Usage: .venv/bin/python bench/live.py [--streams 200]
"""

import argparse
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pymongo  # noqa: E402

from bench.common import call, guests, server_env, stock  # noqa: E402
from plumbing.embedded import free_port, mongo_uri  # noqa: E402


def start(data_dir, secret, streams):
    ports = {
        k: free_port()
        for k in ("PORT", "EMBEDDED_MONGO_PORT", "EMBEDDED_REDIS_PORT", "EMBEDDED_SMTP_PORT")
    }
    env = server_env(
        data_dir,
        secret,
        ports,
        SEED_DEMO="0",
        BOOKING_RATE_LIMIT="1000000/minute",
        LIVE_STREAMS=streams,
        LIVE_STREAMS_PER_USER=streams,
        LIVE_STREAM_SECONDS=600,
    )
    log = open(Path(data_dir) / "server.log", "w")  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "run.py")], cwd=ROOT, env=env, stdout=log, stderr=log
    )
    deadline = time.monotonic() + 120
    while call(ports["PORT"], "GET", "/health", timeout=2)[0] != 200:
        if time.monotonic() > deadline or process.poll() is not None:
            sys.exit("server did not start; see " + str(Path(data_dir) / "server.log"))
        time.sleep(0.3)
    return process, ports


def latencies(port, count=200):
    timings = []
    for _ in range(count):
        began = time.perf_counter()
        status, _body = call(port, "GET", "/api/v1/hotels")
        timings.append(time.perf_counter() - began)
        assert status == 200, status
    timings.sort()
    return statistics.median(timings) * 1000, timings[int(len(timings) * 0.95)] * 1000


def rss_mb(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def threads(pid):
    return len(os.listdir(f"/proc/{pid}/task"))


def read_until(sock, marker, buffer=b""):
    while marker not in buffer:
        chunk = sock.recv(65536)
        if not chunk:
            raise RuntimeError("a stream closed")
        buffer += chunk
    return buffer[buffer.index(marker) + len(marker) :]


def gauge(port):
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:  # noqa: S310
        for line in answer.read().decode().splitlines():
            if line.startswith("innkeeper_live_streams "):
                return float(line.split()[1])
    return float("nan")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=200)
    args = parser.parse_args()
    secret = secrets.token_urlsafe(48)
    with tempfile.TemporaryDirectory() as data_dir:
        process, ports = start(data_dir, secret, args.streams)
        port = ports["PORT"]
        try:
            db = pymongo.MongoClient(mongo_uri(ports["EMBEDDED_MONGO_PORT"]))["innkeeper"]
            _room_type, body = stock(db, rooms=2)
            ((_user, token),) = guests(db, 1, secret)
            status, booking = call(port, "POST", "/api/v1/bookings", body, token)
            assert status == 201, booking
            path = f"/api/v1/bookings/{booking['_id']}/events"
            call(port, "GET", "/api/v1/hotels")  # warm
            base_p50, base_p95 = latencies(port)
            base_rss = rss_mb(process.pid)
            sockets, rest = [], []
            began = time.perf_counter()
            for _ in range(args.streams):
                sock = socket.create_connection(("127.0.0.1", port), timeout=30)
                head = f"GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n"
                sock.sendall(head.encode())
                sockets.append(sock)
            rest = [read_until(sock, b"event: status") for sock in sockets]
            opened = time.perf_counter() - began
            open_p50, open_p95 = latencies(port)
            open_rss, open_threads = rss_mb(process.pid), threads(process.pid)
            began = time.perf_counter()
            paid = call(
                port,
                "POST",
                "/api/v1/payments",
                {"booking": booking["_id"], "payment_method": "pm_card_visa"},
                token,
            )
            assert paid[0] == 201, paid
            for sock, buffer in zip(sockets, rest, strict=True):
                read_until(sock, b"event: confirmed", buffer)
            fanned = time.perf_counter() - began
            held = gauge(port)
            began = time.perf_counter()
            for sock in sockets:
                sock.close()
            while gauge(port) > 0 and time.perf_counter() - began < 30:
                time.sleep(0.05)
            released = time.perf_counter() - began
        finally:
            process.terminate()
            process.wait(30)
    n = args.streams
    print(f"live status, one run.py process, {n} streams on one booking")
    print(f"  streams held (gauge)          {held:.0f}   opened in {opened:.2f} s")
    print(f"  GET /hotels, no stream open   p50 {base_p50:.1f} ms  p95 {base_p95:.1f} ms")
    print(
        f"  GET /hotels, {n} streams open  p50 {open_p50:.1f} ms  p95 {open_p95:.1f} ms"
        f"  ({open_p50 / base_p50:.2f}x the baseline p50)"
    )
    print(f"  one payment's event to all {n}   {fanned * 1000:.0f} ms")
    print(
        f"  server RSS                     {base_rss:.0f} MB -> {open_rss:.0f} MB "
        f"({(open_rss - base_rss) / n * 1024:.0f} kB a stream), {open_threads} threads"
    )
    print(f"  slots back after {n} hang-ups   {released:.2f} s")


if __name__ == "__main__":
    main()
