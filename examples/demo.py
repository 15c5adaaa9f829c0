"""`make demo`: starts the example service on a free loopback port (in-memory stores, or
Redis when REDIS_URL is set), runs the scripted client against it, and stops it.

    python examples/demo.py                  the Python service (FastAPI, examples/service/app.py)
    python examples/demo.py --runtime node   the Node service (Express, examples/service/app.mjs)
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import client  # noqa: E402  (examples/client.py)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def relay(stream: subprocess.Popen[str]) -> None:
    """Shows what the service prints (the SMS it would send), marked as the service's."""
    assert stream.stdout is not None
    for line in stream.stdout:
        print(f"   [service] {line.rstrip()}", flush=True)


def main() -> int:
    runtime = "node" if "--runtime=node" in sys.argv or sys.argv[-2:] == ["--runtime", "node"] else "python"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    # Each run keeps its Redis state under its own prefix: the user table is in this
    # process only, so a second run must not meet the first one's codes and sessions.
    env = {**os.environ, "REDIS_PREFIX": f"demo:{os.getpid()}:{int(time.time())}:"}
    if runtime == "node":
        command = ["node", str(HERE / "service" / "app.mjs")]
        env.update(PORT=str(port), HOST="127.0.0.1")
        source = "examples/service/app.mjs (Node, Express)"
    else:
        command = [
            sys.executable,
            "-u",
            "-m",
            "uvicorn",
            "--app-dir",
            str(HERE / "service"),
            "app:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ]
        source = "examples/service/app.py (Python, FastAPI)"
    service = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    threading.Thread(target=relay, args=(service,), daemon=True).start()
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                health = httpx.get(f"{base}/health", timeout=1).json()
                break
            except httpx.HTTPError:
                if service.poll() is not None or time.monotonic() > deadline:
                    print("the example service did not start", file=sys.stderr)
                    return 1
                time.sleep(0.1)
        where = f"Redis at {os.environ['REDIS_URL']}" if os.environ.get("REDIS_URL") else "in-memory stores"
        print(f"authgate demo: {source} on {base} ({health['store']}, {where})")
        started = time.monotonic()
        client.run(base)
        print(f"({time.monotonic() - started:.1f} s)")
        return 0
    finally:
        service.terminate()
        try:
            service.wait(timeout=10)
        except subprocess.TimeoutExpired:
            service.kill()


if __name__ == "__main__":
    sys.exit(main())
