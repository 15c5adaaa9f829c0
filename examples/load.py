"""`make load`: drives the example service with wrk on loopback — the signed-in route (API key
+ Bearer token + rate limit + session check) at high concurrency for a bounded time — and
reports throughput, latency percentiles, every status seen, and the service's memory after
warm-up and at the end. Runs on the in-memory stores, and on Redis when REDIS_URL is set.
Fails if any response is neither 200 nor the expected 429, on socket errors, or if memory
grows after warm-up by more than 10% + 5 MiB."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from demo import free_port  # noqa: E402

SECONDS = int(os.environ.get("LOAD_SECONDS", "20"))
CONNECTIONS = int(os.environ.get("LOAD_CONNECTIONS", "64"))

# Counts every status across wrk's threads, and prints them as JSON at the end.
STATUS_SCRIPT = """
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) statuses = {} end
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end
function done(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    local s = t:get("statuses")
    for code, n in pairs(s) do total[code] = (total[code] or 0) + n end
  end
  local parts = {}
  for code, n in pairs(total) do table.insert(parts, string.format('"%d": %d', code, n)) end
  io.write("STATUSES {" .. table.concat(parts, ", ") .. "}\\n")
  io.write(string.format("LATENCY {\\"p50\\": %d, \\"p90\\": %d, \\"p99\\": %d, \\"p999\\": %d, \\"max\\": %d}\\n",
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9), latency.max))
end
"""


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def sign_in(base: str) -> dict[str, str]:
    http = httpx.Client(base_url=base, timeout=10)
    app = http.post("/apps", json={"name": "load"}).json()
    h = {"x-api-key": app["api_key"]}
    http.post("/signup", json={"username": "load", "password": "Correct-horse-7"}, headers=h).raise_for_status()
    mfa = {
        "authorization": f"Bearer {http.post('/login', json={'username': 'load', 'password': 'Correct-horse-7'}, headers=h).json()['mfa_token']}"
    }
    import authgate

    totp = authgate.Totp.from_uri(http.post("/mfa/enroll", headers=mfa).json()["otpauth_uri"])
    tokens = http.post("/mfa/confirm", json={"code": totp.now()}, headers=mfa).json()
    return {**h, "authorization": f"Bearer {tokens['access_token']}"}


def main() -> int:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "REDIS_PREFIX": f"load:{os.getpid()}:{int(time.time())}:"}
    service = subprocess.Popen(
        [
            sys.executable,
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
            "--no-access-log",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    try:
        for _ in range(300):
            try:
                store = httpx.get(f"{base}/health", timeout=1).json()["store"]
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        headers = sign_in(base)
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
            f.write(STATUS_SCRIPT)
        args = ["wrk", "-t", "2", "-c", str(CONNECTIONS), "--timeout", "5s", "-s", f.name]
        for k, v in headers.items():
            args += ["-H", f"{k}: {v}"]
        # Warm-up, then the measured run; memory is read after each.
        subprocess.run(args + ["-d", "5s", f"{base}/me"], capture_output=True, check=True)
        warm = rss_mib(service.pid)
        out = subprocess.run(
            args + ["-d", f"{SECONDS}s", f"{base}/me"], capture_output=True, text=True, check=True
        ).stdout
        end = rss_mib(service.pid)
        os.unlink(f.name)
        statuses = json.loads(re.search(r"STATUSES (\{.*\})", out).group(1))  # type: ignore[union-attr]
        latency = json.loads(re.search(r"LATENCY (\{.*\})", out).group(1))  # type: ignore[union-attr]
        rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
        errors = re.search(r"Socket errors: (.*)", out)
        result = {
            "store": store,
            "seconds": SECONDS,
            "connections": CONNECTIONS,
            "requests_per_sec": rps,
            "statuses": statuses,
            "latency_ms": {k: round(v / 1000, 2) for k, v in latency.items()},
            "socket_errors": errors.group(1) if errors else None,
            "rss_mib_after_warmup": round(warm, 1),
            "rss_mib_at_end": round(end, 1),
        }
        print(json.dumps(result))
        unexpected = {code: n for code, n in statuses.items() if code not in ("200", "429")}
        if unexpected or errors:
            print(f"unexpected responses: {unexpected} {errors.group(1) if errors else ''}", file=sys.stderr)
            return 1
        # After warm-up, memory must stay flat: a little allocator slack, not a leak.
        if end > warm * 1.1 + 5:
            print(f"memory grew after warm-up: {warm:.1f} -> {end:.1f} MiB", file=sys.stderr)
            return 1
        return 0
    finally:
        service.terminate()
        service.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
