"""A scripted client of the example service: the nine steps of `make demo`, printed as a
transcript. Run it against a running service: `python examples/client.py http://127.0.0.1:8000`.
"""

from __future__ import annotations

import json
import sys
from typing import Any, Optional

import httpx

import authgate

STEPS_RUN: list[str] = []


BOLD, PLAIN = ("\033[1m", "\033[0m") if sys.stdout.isatty() else ("", "")


def step(n: int, title: str) -> None:
    STEPS_RUN.append(title)
    print(f"\n{BOLD}{n}. {title}{PLAIN}")


def show(response: httpx.Response, *headers: str, body: bool = True) -> Any:
    """Prints one response: status, the named headers, a shortened JSON body."""
    line = f"   {response.request.method} {response.request.url.path} -> {response.status_code}"
    data = response.json() if response.headers.get("content-type", "").startswith("application/json") else None
    if body and data is not None:
        line += " " + shorten(data)
    print(line)
    for h in headers:
        if h in response.headers:
            print(f"      {h}: {response.headers[h]}")
    return data


def shorten(data: Any) -> str:
    """JSON with long strings (tokens) cut short."""
    if isinstance(data, dict):
        data = {
            k: (v[:20] + "…" if isinstance(v, str) and len(v) > 40 and " " not in v else v) for k, v in data.items()
        }
    return json.dumps(data, ensure_ascii=False)


def expect(response: httpx.Response, status: int, error: Optional[str] = None) -> None:
    if response.status_code != status or (error and response.json().get("error") != error):
        raise SystemExit(f"unexpected answer: {response.status_code} {response.text}")


def mfa_login(http: httpx.Client, h: dict[str, str], device: str, route: str, code: str) -> dict[str, str]:
    """Password, then the second factor: the headers of a signed-in request from `device`."""
    r = http.post("/login", json={"username": "alice", "password": "Correct-horse-7"}, headers=h)
    expect(r, 200)
    r = http.post(
        route, json={"code": code, "device_id": device}, headers={"authorization": f"Bearer {r.json()['mfa_token']}"}
    )
    show(r, body=False)
    expect(r, 200)
    return {**h, "authorization": f"Bearer {r.json()['access_token']}"}


def run(base: str) -> None:
    http = httpx.Client(base_url=base, timeout=10)

    step(1, "Create an app: its API key (shown once), a server key, a request-signing secret")
    r = http.post("/apps", json={"name": "Acme mobile"})
    app = show(r, body=False)
    expect(r, 201)
    print(f"   api_key      {app['api_key'][:16]}… (shown once; the service stores its SHA-256)")
    print(f"   server_key   {app['server_key'][:15]}…")
    print(f"   signing key  {app['app_id']} (hmac-sha256 secret kept by the app)")
    h = {"x-api-key": app["api_key"]}

    step(2, "Sign up: a weak password is refused with every broken rule, then a good one")
    r = http.post("/signup", json={"username": "alice", "password": "hunter2"}, headers=h)
    show(r)
    expect(r, 400, "weak_password")
    r = http.post("/signup", json={"username": "alice", "password": "Correct-horse-7"}, headers=h)
    show(r)
    expect(r, 201)

    step(3, "Log in with API key + password; MFA required: enroll TOTP and confirm a code")
    r = http.post("/login", json={"username": "alice", "password": "Correct-horse-7"}, headers=h)
    login = show(r)
    expect(r, 200)
    mfa = {"authorization": f"Bearer {login['mfa_token']}"}
    r = http.post("/mfa/enroll", headers=mfa)
    enrollment = show(r, body=False)
    expect(r, 200)
    print("   scan this with an authenticator app:")
    print("".join(f"      {line}\n" for line in enrollment["qr"].splitlines()), end="")
    print(f"   {enrollment['otpauth_uri'].split('?')[0]}?secret=…")
    # What the authenticator app does with the QR code:
    authenticator = authgate.Totp.from_uri(enrollment["otpauth_uri"])
    wrong = "000000" if authenticator.now() != "000000" else "111111"
    r = http.post("/mfa/confirm", json={"code": wrong}, headers=mfa)
    show(r)
    expect(r, 401, "invalid_code")
    r = http.post("/mfa/confirm", json={"code": authenticator.now(), "device_id": "laptop"}, headers=mfa)
    tokens = show(r, body=False)
    expect(r, 200)
    print(f"   recovery codes (shown once): {', '.join(tokens['recovery_codes'][:3])}, …")

    step(4, "Tokens received; a protected route needs x-api-key + Authorization: Bearer")
    print(f"   access_token  {tokens['access_token'][:24]}… (15 min)")
    print(f"   refresh_token {tokens['refresh_token'][:12]}… (rotates on every use)")
    bearer = {**h, "authorization": f"Bearer {tokens['access_token']}"}
    r = http.get("/me", headers=h)
    show(r, "www-authenticate")
    expect(r, 401)
    r = http.get("/me", headers=bearer)
    show(r, "ratelimit")
    expect(r, 200)

    step(5, "A signed request (RFC 9421) goes through; replayed or tampered, it is refused")
    signer = authgate.RequestSigner(
        app["app_id"], authgate.SignatureKey.hmac_sha256(bytes.fromhex(app["signing_secret"]))
    )
    url = f"{base}/orders"
    body = json.dumps({"item": "book", "qty": 2}).encode()
    signed = signer.sign("POST", url, {"content-type": "application/json"}, body)
    headers = {"content-type": "application/json", **signed}
    print(f"      Signature-Input: {signed['Signature-Input'][:90]}…")
    r = http.post("/orders", content=body, headers=headers)
    show(r)
    expect(r, 201)
    r = http.post("/orders", content=body, headers=headers)
    show(r)
    expect(r, 401, "replay_detected")
    fresh = signer.sign("POST", url, {"content-type": "application/json"}, body)
    r = http.post("/orders", content=body.replace(b"2", b"20"), headers={"content-type": "application/json", **fresh})
    show(r)
    expect(r, 401, "digest_mismatch")

    step(6, "Burst past the rate limit (search: 5 per minute): 429 with Retry-After")
    for _ in range(5):
        r = http.get("/search", params={"q": "books"}, headers=bearer)
        expect(r, 200)
    print(f"   5 searches -> 200, RateLimit: {r.headers['ratelimit']}")
    r = http.get("/search", params={"q": "books"}, headers=bearer)
    show(r, "retry-after", "ratelimit-policy", "ratelimit", "x-ratelimit-remaining")
    expect(r, 429, "rate_limited")

    step(7, "Refresh the tokens; present the old refresh token again: the session is revoked")
    r = http.post("/token/refresh", json={"refresh_token": tokens["refresh_token"]})
    rotated = show(r, body=False)
    expect(r, 200)
    print(f"   new refresh_token {rotated['refresh_token'][:12]}…")
    r = http.post("/token/refresh", json={"refresh_token": tokens["refresh_token"]})
    show(r)
    expect(r, 401, "refresh_token_reused")
    r = http.post("/token/refresh", json={"refresh_token": rotated["refresh_token"]})
    show(r)
    expect(r, 401, "session_revoked")

    step(8, "Log in on two devices, then log out of all devices: every session ends")
    # The phone answers with its authenticator's next code (the current one was used, and
    # a code works once); the tablet with a recovery code, as after losing the phone.
    phone = mfa_login(http, h, "phone", "/mfa/verify", authenticator.at_step(authenticator.step() + 1))
    tablet = mfa_login(http, h, "tablet", "/mfa/recover", tokens["recovery_codes"][0])
    r = http.get("/sessions", headers=phone)
    show(r)
    r = http.post("/logout-all", headers=phone)
    show(r)
    expect(r, 200)
    r = http.get("/me", headers=tablet)
    show(r)
    expect(r, 401, "session_revoked")

    step(9, "An SMS code (the service prints what it would send); wrong codes until the lock")
    signed_in = mfa_login(http, h, "laptop", "/mfa/recover", tokens["recovery_codes"][1])
    r = http.post("/sms/send", json={"phone": "+1 555 0100"}, headers=signed_in)
    show(r)
    expect(r, 200)
    for guess in ("000001", "000002", "000003", "000004"):
        r = http.post("/sms/verify", json={"code": guess}, headers=signed_in)
        show(r)
    expect(r, 429, "too_many_attempts")

    print(f"\nAll {len(STEPS_RUN)} steps behaved as expected.")


if __name__ == "__main__":
    run(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000")
