"""asyncio variants of the classes that keep state in a store.

With a `RedisStore`, every check is a network round trip. The methods here run the same
Rust call on a worker thread — the call releases the GIL while it waits on Redis — so
the event loop keeps serving other requests meanwhile. Nothing is re-implemented: each
wrapper holds the synchronous object (`.sync`) and awaits its methods.

    limiter = AsyncRateLimiter(RateLimiter(RedisStore("redis://localhost:6379")))
    decision = await limiter.check("app-42")

Configuration (policies, keys, overrides) stays on `.sync`: it never touches the store.
"""

from __future__ import annotations

import asyncio
import builtins
import functools
from collections.abc import Callable
from concurrent.futures import Executor
from typing import TYPE_CHECKING, Any, Optional, TypeVar, Union

from authgate._authgate import (
    ApiKeyManager,
    ApiKeyRecord,
    Challenges,
    DpopProof,
    DpopVerifier,
    Enrollment,
    IssuedChallenge,
    LoginResult,
    RateDecision,
    RateLimiter,
    RecoveryCodes,
    RemoteJwks,
    RequestVerifier,
    SessionInfo,
    SessionManager,
    TokenPair,
    TotpManager,
    VerifiedSignature,
    VerifiedWebhook,
    WebhookVerifier,
)

if TYPE_CHECKING:
    from authgate._authgate import _Body, _Headers, _Seconds, _Secret, _Strings, _Text, _Timestamp

__all__ = [
    "AsyncApiKeyManager",
    "AsyncChallenges",
    "AsyncDpopVerifier",
    "AsyncRateLimiter",
    "AsyncRecoveryCodes",
    "AsyncRemoteJwks",
    "AsyncRequestVerifier",
    "AsyncSessionManager",
    "AsyncTotpManager",
    "AsyncWebhookVerifier",
]

T = TypeVar("T")


class _Offloaded:
    """Holds the synchronous object and the executor its calls run on (the loop's default
    one unless given)."""

    def __init__(self, sync: Any, executor: Optional[Executor]) -> None:
        self._sync = sync
        self._executor = executor

    async def _run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(fn, *args, **kwargs))


class AsyncRateLimiter(_Offloaded):
    def __init__(self, limiter: RateLimiter, *, executor: Optional[Executor] = None) -> None:
        super().__init__(limiter, executor)
        self.sync: RateLimiter = limiter

    async def check(self, key: str, *, policy: Optional[str] = None, cost: float = 1.0) -> RateDecision:
        return await self._run(self.sync.check, key, policy=policy, cost=cost)

    async def enforce(self, key: str, *, policy: Optional[str] = None, cost: float = 1.0) -> RateDecision:
        return await self._run(self.sync.enforce, key, policy=policy, cost=cost)

    async def peek(self, key: str, *, policy: Optional[str] = None) -> RateDecision:
        return await self._run(self.sync.peek, key, policy=policy)


class AsyncSessionManager(_Offloaded):
    def __init__(self, manager: SessionManager, *, executor: Optional[Executor] = None) -> None:
        super().__init__(manager, executor)
        self.sync: SessionManager = manager

    async def login(
        self, user_id: str, device_id: str, *, device_name: Optional[str] = None, scope: Optional[str] = None
    ) -> LoginResult:
        return await self._run(self.sync.login, user_id, device_id, device_name=device_name, scope=scope)

    async def refresh(self, refresh_token: str) -> TokenPair:
        return await self._run(self.sync.refresh, refresh_token)

    async def verify_access(self, token: str) -> dict[str, Any]:
        return await self._run(self.sync.verify_access, token)

    async def revoke(self, session_id: str) -> bool:
        return await self._run(self.sync.revoke, session_id)

    async def revoke_all(self, user_id: str) -> int:
        return await self._run(self.sync.revoke_all, user_id)

    async def list(self, user_id: str) -> builtins.list[SessionInfo]:
        return await self._run(self.sync.list, user_id)


class AsyncApiKeyManager(_Offloaded):
    def __init__(self, manager: ApiKeyManager, *, executor: Optional[Executor] = None) -> None:
        super().__init__(manager, executor)
        self.sync: ApiKeyManager = manager

    async def create(
        self,
        *,
        prefix: Optional[str] = None,
        name: Optional[str] = None,
        scopes: Optional[_Strings] = None,
        expires_at: Optional[_Timestamp] = None,
        credits: Optional[int] = None,
        rate_limit_policy: Optional[str] = None,
    ) -> tuple[str, ApiKeyRecord]:
        return await self._run(
            self.sync.create,
            prefix=prefix,
            name=name,
            scopes=scopes,
            expires_at=expires_at,
            credits=credits,
            rate_limit_policy=rate_limit_policy,
        )

    async def verify(self, key: str, scope: Optional[str] = None) -> ApiKeyRecord:
        return await self._run(self.sync.verify, key, scope)

    async def get(self, id: str) -> Optional[ApiKeyRecord]:
        return await self._run(self.sync.get, id)

    async def list(self) -> builtins.list[ApiKeyRecord]:
        return await self._run(self.sync.list)

    async def revoke(self, id: str) -> None:
        await self._run(self.sync.revoke, id)

    async def disable(self, id: str) -> None:
        await self._run(self.sync.disable, id)

    async def enable(self, id: str) -> None:
        await self._run(self.sync.enable, id)

    async def roll(self, id: str, grace: Optional[_Seconds] = None) -> tuple[str, ApiKeyRecord]:
        return await self._run(self.sync.roll, id, grace)


class AsyncRequestVerifier(_Offloaded):
    def __init__(self, verifier: RequestVerifier, *, executor: Optional[Executor] = None) -> None:
        super().__init__(verifier, executor)
        self.sync: RequestVerifier = verifier

    async def verify(
        self,
        method: str,
        url: str,
        headers: _Headers,
        body: _Body = None,
        *,
        label: Optional[str] = None,
        keyid: Optional[str] = None,
    ) -> VerifiedSignature:
        return await self._run(self.sync.verify, method, url, headers, body, label=label, keyid=keyid)


class AsyncWebhookVerifier(_Offloaded):
    def __init__(self, verifier: WebhookVerifier, *, executor: Optional[Executor] = None) -> None:
        super().__init__(verifier, executor)
        self.sync: WebhookVerifier = verifier

    async def verify(self, headers: _Headers, payload: Union[bytes, bytearray, str]) -> VerifiedWebhook:
        return await self._run(self.sync.verify, headers, payload)


class AsyncTotpManager(_Offloaded):
    def __init__(self, manager: TotpManager, *, executor: Optional[Executor] = None) -> None:
        super().__init__(manager, executor)
        self.sync: TotpManager = manager

    async def begin_enrollment(self, account: str) -> Enrollment:
        return await self._run(self.sync.begin_enrollment, account)

    async def confirm_enrollment(self, account: str, code: str) -> str:
        return await self._run(self.sync.confirm_enrollment, account, code)

    async def cancel_enrollment(self, account: str) -> bool:
        return await self._run(self.sync.cancel_enrollment, account)

    async def verify(self, account: str, secret: _Secret, code: str) -> int:
        return await self._run(self.sync.verify, account, secret, code)


class AsyncChallenges(_Offloaded):
    """The sender stays a plain function; it runs on the worker thread."""

    def __init__(self, challenges: Challenges, *, executor: Optional[Executor] = None) -> None:
        super().__init__(challenges, executor)
        self.sync: Challenges = challenges

    async def issue(self, subject: str, destination: str) -> IssuedChallenge:
        return await self._run(self.sync.issue, subject, destination)

    async def verify(self, subject: str, code: str) -> None:
        await self._run(self.sync.verify, subject, code)


class AsyncRecoveryCodes(_Offloaded):
    def __init__(self, codes: RecoveryCodes, *, executor: Optional[Executor] = None) -> None:
        super().__init__(codes, executor)
        self.sync: RecoveryCodes = codes

    async def generate(self, user: str) -> builtins.list[str]:
        return await self._run(self.sync.generate, user)

    async def verify(self, user: str, code: str) -> int:
        return await self._run(self.sync.verify, user, code)

    async def remaining(self, user: str) -> int:
        return await self._run(self.sync.remaining, user)


class AsyncRemoteJwks(_Offloaded):
    """`RemoteJwks` whose fetches (on a new kid, after the TTL) run off the event loop."""

    def __init__(self, jwks: RemoteJwks, *, executor: Optional[Executor] = None) -> None:
        super().__init__(jwks, executor)
        self.sync: RemoteJwks = jwks

    async def verify(
        self,
        token: _Text,
        *,
        issuer: Optional[_Strings] = None,
        audience: Optional[_Strings] = None,
        subject: Optional[str] = None,
        required_claims: Optional[_Strings] = None,
        required_scopes: Optional[_Strings] = None,
        token_type: Optional[str] = None,
        algorithms: Optional[_Strings] = None,
        leeway: Optional[_Seconds] = None,
        max_token_bytes: Optional[int] = None,
        now: Optional[_Timestamp] = None,
    ) -> dict[str, Any]:
        return await self._run(
            self.sync.verify,
            token,
            issuer=issuer,
            audience=audience,
            subject=subject,
            required_claims=required_claims,
            required_scopes=required_scopes,
            token_type=token_type,
            algorithms=algorithms,
            leeway=leeway,
            max_token_bytes=max_token_bytes,
            now=now,
        )

    async def refresh(self) -> builtins.list[str]:
        return await self._run(self.sync.refresh)

    def status(self) -> dict[str, Any]:
        """What is cached (no I/O: answered on the loop)."""
        return self.sync.status()


class AsyncDpopVerifier(_Offloaded):
    """`DpopVerifier` whose replay check (a Redis round trip with a `RedisStore`) runs off
    the event loop."""

    def __init__(self, verifier: DpopVerifier, *, executor: Optional[Executor] = None) -> None:
        super().__init__(verifier, executor)
        self.sync: DpopVerifier = verifier

    async def verify(
        self,
        proof: _Text,
        method: str,
        uri: str,
        *,
        access_token: Optional[_Text] = None,
        access_claims: Optional[dict[str, Any]] = None,
        nonce: Optional[str] = None,
    ) -> DpopProof:
        return await self._run(
            self.sync.verify, proof, method, uri, access_token=access_token, access_claims=access_claims, nonce=nonce
        )
