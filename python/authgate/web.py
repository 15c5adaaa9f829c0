"""What the ASGI and WSGI integrations share: which client may call (IP allowlist, rate
limit), which credentials a request must carry, and the JSON error response. Every check is
a call into the core: the client address behind proxies, the allowlist, API-key
verification, Bearer parsing, JWT or session verification, the rate limit, the HTTP status
and the RFC 6750 challenge."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional, Union

from authgate._authgate import (
    CLIENT_RATE_POLICY,
    ApiKeyManager,
    ApiKeyRecord,
    ClientIpResolver,
    IpAllowlist,
    KeySet,
    RateDecision,
    RateLimiter,
    RemoteJwks,
    SessionManager,
    bearer_token,
    http_refusal,
)
from authgate.errors import AuthError, IpNotAllowed, MissingApiKey, MissingToken, RateLimited

HeaderLookup = Callable[[str], Optional[str]]


@dataclass(frozen=True)
class AuthContext:
    """What an admitted request carries: the token's claims and/or the API key's record, the
    client's address, and the rate-limit decision (whose ``headers`` go on the response)."""

    claims: Optional[dict[str, Any]] = None
    api_key: Optional[ApiKeyRecord] = None
    client_ip: Optional[str] = None
    rate_limit: Optional[RateDecision] = None


class Gate:
    """The credentials a request must present.

    ``keys`` verifies ``Authorization: Bearer`` tokens (a ``SessionManager`` checks its own
    access tokens; a ``KeySet``, or a ``RemoteJwks`` for an identity provider's tokens,
    takes ``verify_options`` such as ``issuer`` and ``audience``). ``api_keys`` verifies the ``x-api-key`` header, optionally for
    ``api_key_scope``. Each credential is required when its verifier is given; with both,
    a request needs both (API key first).

    ``allowlist`` refuses clients outside its networks (``IpNotAllowed``, 403) before any
    credential is read; ``client_ip`` finds the client behind your proxies (otherwise the
    socket's peer is the client). ``limiter`` takes one request from the bucket of the API
    key's id (``app:<id>``) or, without an API key, of the client address (``ip:<addr>``),
    under ``rate_policy`` (its ``default`` policy: 1000 per minute); a refusal is
    ``RateLimited`` (429 with ``Retry-After`` and the RateLimit headers).
    """

    def __init__(
        self,
        *,
        keys: Union[KeySet, SessionManager, RemoteJwks, None] = None,
        api_keys: Optional[ApiKeyManager] = None,
        api_key_scope: Optional[str] = None,
        api_key_header: str = "x-api-key",
        realm: Optional[str] = None,
        allowlist: Optional[IpAllowlist] = None,
        client_ip: Optional[ClientIpResolver] = None,
        limiter: Optional[RateLimiter] = None,
        rate_policy: Optional[str] = None,
        client_rate_policy: Optional[str] = CLIENT_RATE_POLICY,
        **verify_options: Any,
    ) -> None:
        if keys is None and api_keys is None and limiter is None and allowlist is None:
            raise ValueError("a Gate needs keys (Bearer tokens), api_keys (x-api-key), a limiter or an allowlist")
        if verify_options and not isinstance(keys, (KeySet, RemoteJwks)):
            raise ValueError("verify options apply to a KeySet or a RemoteJwks; a SessionManager has its own")
        self.keys = keys
        self.api_keys = api_keys
        self.api_key_scope = api_key_scope
        self.api_key_header = api_key_header.lower()
        self.realm = realm
        self.verify_options = verify_options
        self.allowlist = allowlist
        self.client_ip = client_ip
        self.limiter = limiter
        self.rate_policy = rate_policy
        #: With a limiter, every request is first metered per client address under this
        #: policy (``per_client``: 600/minute unless the limiter sets it), before any
        #: credential is read — so forged tokens and unknown keys count too. None: off.
        self.client_rate_policy = client_rate_policy
        #: Checks go to a store across the network (Redis): async callers (the ASGI
        #: middleware) run them on a worker thread, so the event loop never waits on Redis.
        #: A RemoteJwks may fetch its keys over the network: the same applies.
        self.offload = isinstance(keys, RemoteJwks) or any(
            getattr(part, "remote_store", False) for part in (keys, api_keys, limiter)
        )

    def authenticate(self, header: HeaderLookup, peer: Optional[str] = None) -> AuthContext:
        """Checks a request: ``header(name)`` returns a header's value or None, ``peer`` is
        the socket's address. Raises the ``AuthError`` of the first check that fails."""
        client = self._client(header, peer)
        if self.allowlist is not None:
            if client is None:
                raise IpNotAllowed("the client's address is unknown")
            self.allowlist.check(client)
        if self.limiter is not None and self.client_rate_policy is not None:
            self._enforce(f"ip:{client or 'unknown'}", self.client_rate_policy)
        record = None
        if self.api_keys is not None:
            presented = header(self.api_key_header)
            if not presented:
                raise MissingApiKey(f"the request has no {self.api_key_header} header")
            record = self.api_keys.verify(presented, self.api_key_scope)
        claims = None
        if self.keys is not None:
            authorization = header("authorization")
            if not authorization:
                raise MissingToken("the request has no Authorization: Bearer token")
            token = bearer_token(authorization)
            if isinstance(self.keys, SessionManager):
                claims = self.keys.verify_access(token)
            else:
                claims = self.keys.verify(token, **self.verify_options)
        rate = None
        if self.limiter is not None:
            key = f"app:{record.id}" if record is not None else f"ip:{client or 'unknown'}"
            rate = self._enforce(key, self.rate_policy)
        return AuthContext(claims=claims, api_key=record, client_ip=client, rate_limit=rate)

    def _enforce(self, key: str, policy: Optional[str]) -> RateDecision:
        assert self.limiter is not None
        try:
            return self.limiter.enforce(key, policy=policy)
        except RateLimited as error:
            # The bucket's state (nothing was taken) for the RateLimit headers of the 429.
            error.rate_limit = self.limiter.peek(key, policy=policy)  # type: ignore[attr-defined]
            raise

    def _client(self, header: HeaderLookup, peer: Optional[str]) -> Optional[str]:
        if peer is None or self.client_ip is None:
            return peer
        return self.client_ip.resolve(peer, header(self.client_ip.header))

    def response_headers(self, context: AuthContext) -> list[tuple[str, str]]:
        """The headers an admitted request's response carries (the RateLimit headers, with
        lower-case names)."""
        return context.rate_limit.wire_headers if context.rate_limit is not None else []

    def error_response(self, error: AuthError) -> tuple[int, list[tuple[str, str]], bytes]:
        """``(status, headers, body)`` for a refused request, built by the core as every
        runtime sends it: JSON ``{"error", "message"}`` (and ``retry_after``), for 401/403 a
        ``WWW-Authenticate`` challenge, ``Retry-After`` for throttling, the RateLimit
        headers on a 429."""
        rate: Optional[RateDecision] = getattr(error, "rate_limit", None)
        return http_refusal(error.code, str(error), error.retry_after, self.realm, rate)
