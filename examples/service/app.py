"""A small API protected by authgate: apps with API keys, users with passwords and TOTP,
sessions with rotating refresh tokens, signed requests, a rate limit and SMS codes.

    uvicorn --app-dir examples/service app:app          (REDIS_URL=redis://… to share state)

Everything security-related is one authgate call; the rest is FastAPI. The user table is
a dict to keep the example short: use your database.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any, Optional, Union

from fastapi import Depends, FastAPI, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

import authgate
from authgate.asgi import install_error_handlers, require_auth
from authgate.web import AuthContext, Gate

# ---- state: one store for everything (Redis when several servers share it) ----
store: Union[authgate.MemoryStore, authgate.RedisStore] = (
    authgate.RedisStore(os.environ["REDIS_URL"], prefix=os.environ.get("REDIS_PREFIX", "demo:"))
    if os.environ.get("REDIS_URL")
    else authgate.MemoryStore()
)
# In production the signing key is loaded from your secret store and rotated (KeySet.add/retire).
keys = authgate.KeySet([authgate.Key.hmac(authgate.Key.generate_hmac_secret(), kid="demo-1")])
sessions = authgate.SessionManager(keys, issuer="authgate-demo", check_session_on_verify=True, store=store)
api_keys = authgate.ApiKeyManager(store=store)  # issues and accepts ag_live_ keys only
server_keys = authgate.ApiKeyManager(store=store, prefix="ag_srv_")  # a separate kind
limiter = authgate.RateLimiter(store)
# Password guessing: per username (one account) and per client address (one attacker).
limiter.set_policy("login_user", "5/minute")
limiter.set_policy("login_ip", "30/minute")
totp = authgate.TotpManager(store, issuer="authgate demo")
recovery = authgate.RecoveryCodes(store)
password_policy = authgate.PasswordPolicy()
passwords = authgate.PasswordHasher()
signing_keys: dict[str, authgate.SignatureKey] = {}  # app id -> its request-signing key
requests = authgate.RequestVerifier(lambda keyid: signing_keys.get(keyid), store=store)


def send_sms(delivery: authgate.CodeDelivery) -> None:
    # A real service calls its SMS provider here.
    print(f"[sms to {delivery.destination}] your code is {delivery.code}", flush=True)


sms = authgate.Challenges(send_sms, store, max_attempts=3)


@dataclass
class User:
    password_hash: str
    totp_secret: Optional[str] = None


users: dict[str, User] = {}

# ---- who may call what ----
app_only = Gate(api_keys=api_keys)  # x-api-key
signed_in = Gate(api_keys=api_keys, keys=sessions, limiter=limiter)  # x-api-key + Bearer, 1000/min per app

app = FastAPI(title="authgate demo")
# Every AuthError raised in a route (and every require_auth refusal) answers with the core's
# refusal: status, headers and {"error", "message", …} — the bytes the Node service sends.
install_error_handlers(app)


class AppError(Exception):
    """The service's own refusals, in the same JSON shape as authgate's."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code = status, code


@app.exception_handler(AppError)
def app_error(_request: Request, error: AppError) -> JSONResponse:
    return JSONResponse({"error": error.code, "message": str(error)}, status_code=error.status)


class NewApp(BaseModel):
    name: str


@app.post("/apps", status_code=201)
def create_app(body: NewApp) -> dict[str, str]:
    """Admin: a new app gets an API key and a server key (each shown once) and a secret to
    sign requests with. Put this route behind your admin authentication."""
    api_key, record = api_keys.create(name=body.name, scopes=["orders"])
    server_key, _ = server_keys.create(name=f"{body.name} (server)")
    signing_key, secret = authgate.SignatureKey.generate("hmac-sha256")
    signing_keys[record.id] = signing_key
    return {"app_id": record.id, "api_key": api_key, "server_key": server_key, "signing_secret": secret.hex()}


class Credentials(BaseModel):
    username: str
    password: str


@app.post("/signup", status_code=201)
def signup(body: Credentials, _: AuthContext = Depends(require_auth(app_only))) -> dict[str, str]:
    if body.username in users:  # never overwrite an account (and its second factor)
        raise AppError(409, "username_taken", "this username is taken")
    password_policy.enforce(body.password)  # WeakPassword lists every broken rule
    users.setdefault(body.username, User(passwords.hash(body.password)))
    return {"username": body.username}


def mfa_token(username: str) -> str:
    # Good for five minutes and for the MFA step only (its own token type).
    return keys.sign({"sub": username, "exp": int(time.time()) + 300}, typ="mfa+jwt")


def mfa_user(authorization: str = Header()) -> str:
    claims = keys.verify(authgate.bearer_token(authorization), token_type="mfa+jwt")
    return str(claims["sub"])


@app.post("/login")
def login(request: Request, body: Credentials, _: AuthContext = Depends(require_auth(app_only))) -> dict[str, str]:
    # Throttled per client address and per username before any password is checked
    # (RateLimited answers 429 with Retry-After through the exception handler).
    limiter.enforce(request.client.host if request.client else "unknown", policy="login_ip")
    limiter.enforce(body.username, policy="login_user")
    user = users.get(body.username)
    # Verify a hash even for unknown users, so timing does not tell which names exist.
    stored = user.password_hash if user else DUMMY_HASH
    if not passwords.verify(body.password, stored) or user is None:
        raise AppError(401, "invalid_credentials", "wrong username or password")
    step = "verify" if user.totp_secret else "enroll"
    return {"mfa": step, "mfa_token": mfa_token(body.username)}


class Enroll(BaseModel):
    # To replace an enrolled authenticator: a code from the current one (the password
    # alone must never be enough to move the second factor).
    current_code: Optional[str] = None


@app.post("/mfa/enroll")
def mfa_enroll(body: Optional[Enroll] = None, username: str = Depends(mfa_user)) -> dict[str, str]:
    secret = users[username].totp_secret
    if secret is not None:
        if body is None or body.current_code is None:
            raise AppError(
                409, "already_enrolled", "an authenticator is enrolled: send current_code from it to replace it"
            )
        totp.verify(username, secret, body.current_code)  # throttled, capped, replay-checked
    enrollment = totp.begin_enrollment(username)
    return {"otpauth_uri": enrollment.uri, "qr": enrollment.qr().text()}


class Code(BaseModel):
    code: str
    device_id: str = "browser"


def tokens(username: str, device_id: str) -> dict[str, Any]:
    pair = sessions.login(username, device_id).tokens
    return {
        "access_token": pair.access_token,
        "refresh_token": pair.refresh_token,
        "expires_at": pair.access_expires_at,
    }


@app.post("/mfa/confirm")
def mfa_confirm(body: Code, username: str = Depends(mfa_user)) -> dict[str, Any]:
    users[username].totp_secret = totp.confirm_enrollment(username, body.code)
    # Recovery codes for a lost phone: shown once, stored as keyed hashes.
    return {**tokens(username, body.device_id), "recovery_codes": recovery.generate(username)}


@app.post("/mfa/verify")
def mfa_verify(body: Code, username: str = Depends(mfa_user)) -> dict[str, Any]:
    secret = users[username].totp_secret
    if secret is None:
        raise authgate.InvalidCode("no authenticator is enrolled")
    totp.verify(username, secret, body.code)  # replays and guessing are refused
    return tokens(username, body.device_id)


@app.post("/mfa/recover")
def mfa_recover(body: Code, username: str = Depends(mfa_user)) -> dict[str, Any]:
    left = recovery.verify(username, body.code)  # each code works once
    return {**tokens(username, body.device_id), "recovery_codes_left": left}


@app.get("/me")
def me(auth: AuthContext = Depends(require_auth(signed_in))) -> dict[str, Any]:
    assert auth.claims is not None and auth.api_key is not None
    return {"user": auth.claims["sub"], "app": auth.api_key.name, "sessions": len(sessions.list(auth.claims["sub"]))}


@app.get("/search")  # this route's own limit: 5 per minute per user, apart from the others
def search(q: str, auth: AuthContext = Depends(require_auth(signed_in, limit="5/minute"))) -> dict[str, Any]:
    return {"q": q, "results": []}


@app.post("/orders", status_code=201)
async def create_order(request: Request) -> dict[str, Any]:
    """Only signed requests (RFC 9421): the body is covered by Content-Digest, and each
    signature's nonce is accepted once."""
    body = await request.body()
    verified = requests.verify(request.method, str(request.url), list(request.headers.items()), body)
    return {"order": "created", "signed_by": verified.keyid}


class Refresh(BaseModel):
    refresh_token: str


@app.post("/token/refresh")
def refresh(body: Refresh) -> dict[str, Any]:
    pair = sessions.refresh(body.refresh_token)  # a reused refresh token revokes the session
    return {"access_token": pair.access_token, "refresh_token": pair.refresh_token}


@app.get("/sessions")
def list_sessions(auth: AuthContext = Depends(require_auth(signed_in))) -> list[dict[str, Any]]:
    assert auth.claims is not None
    return [{"device": s.device_id, "last_used_at": s.last_used_at} for s in sessions.list(auth.claims["sub"])]


@app.post("/logout-all")
def logout_all(auth: AuthContext = Depends(require_auth(signed_in))) -> dict[str, int]:
    assert auth.claims is not None
    return {"revoked": sessions.revoke_all(auth.claims["sub"])}


class Phone(BaseModel):
    phone: str


@app.post("/sms/send")
def sms_send(body: Phone, auth: AuthContext = Depends(require_auth(signed_in))) -> dict[str, Any]:
    assert auth.claims is not None
    issued = sms.issue(auth.claims["sub"], body.phone)
    return {"expires_at": issued.expires_at, "attempts_left": issued.attempts_left}


@app.post("/sms/verify")
def sms_verify(body: Code, auth: AuthContext = Depends(require_auth(signed_in))) -> dict[str, str]:
    assert auth.claims is not None
    sms.verify(auth.claims["sub"], body.code)
    return {"phone": "verified"}


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok", "store": type(store).__name__}


DUMMY_HASH = passwords.hash("not a real password, only for timing")
