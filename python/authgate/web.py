"""What the ASGI, WSGI, Flask and Django integrations share: the request gate. The whole
pipeline — client address behind proxies, allowlist, the limit per client, API key, Bearer
or DPoP token, scopes, limits per app, user and route — and the refusal's response (status,
headers, JSON body) are the core's (``authgate_core::gate``), one native call per request,
so every runtime answers byte for byte alike."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Optional, Union

from authgate._authgate import (
    CLIENT_RATE_POLICY,
    ApiKeyManager,
    ClientIpResolver,
    CoreGate,
    DpopVerifier,
    GateRoute,
    IpAllowlist,
    KeySet,
    RateDecision,
    RateLimiter,
    RemoteJwks,
    SessionManager,
    Verifier,
    http_refusal,
)
from authgate._authgate import AuthContext as _AuthContext
from authgate._authgate import GateRefusal as GateRefusal
from authgate.errors import AuthError

HeaderLookup = Callable[[str], Optional[str]]


#: What an admitted request carries (a native, read-only object): ``claims`` (the token's, a
#: dict, or None), ``api_key`` (the ``ApiKeyRecord``, or None), ``client_ip``, ``identity``
#: (``user:<sub>``, else ``app:<app>``, else ``ip:<address>``), ``rate_limit`` (the decision
#: of the bucket with the fewest requests left), ``headers`` (to add to the response, lower-case
#: names) and ``dpop_jkt`` (the DPoP proof key's thumbprint, for a DPoP-bound token).
AuthContext = _AuthContext


class Gate:
    """The credentials a request must present; every check runs in the core
    (``authgate_core::gate``), in one native call per request.

    ``keys`` verifies ``Authorization: Bearer`` tokens (a ``SessionManager`` checks its own
    access tokens; a ``KeySet``, or a ``RemoteJwks`` for an identity provider's tokens,
    takes ``verify_options`` such as ``issuer`` and ``audience``; a ``Verifier`` has them
    built in). ``api_keys`` verifies the ``x-api-key`` header (``api_key_header``), for
    ``api_key_scope`` when given; ``api_key_in_authorization=True`` also reads the key from
    ``Authorization: Bearer`` (not with ``keys``). The keys admitted are those of the
    prefixes the manager accepts (by default only the one it issues, ``ag_live_``);
    ``api_key_prefixes`` narrows that list for this gate. Each credential is required when its
    verifier is given; with both, a request needs both (API key first). ``dpop`` (a
    ``DpopVerifier``) admits ``Authorization: DPoP`` tokens with their proof, and
    DPoP-bound tokens only that way; ``public_origin`` is the scheme and host clients
    address when a proxy changes them. ``scopes`` are needed by every request. A token
    bound to a client certificate (RFC 8705) needs it: from ``client_certificate=`` in
    ``authenticate``, or from ``client_certificate_header``, a header your TLS terminator
    sets (and always overwrites).

    A token that names an audience (``aud``) is refused unless ``audience`` names this API
    (or ``accept_any_audience=True`` opts out); with a ``RemoteJwks`` the audience is
    required at construction, since a provider signs tokens for many APIs. OpenID Connect
    ID tokens (``nonce``, ``at_hash``, ``c_hash`` or ``s_hash`` in the claims) are refused
    as access tokens (``InvalidTokenType``) unless ``accept_id_tokens=True``.

    ``allowlist`` refuses clients outside its networks (``IpNotAllowed``, 403) before any
    credential is read; ``client_ip`` finds the client behind your proxies (otherwise the
    socket's peer is the client; a Unix-socket peer counts as a local proxy). With a
    ``limiter``, failed requests are counted per client address (``client_rate_policy``,
    ``per_client``: 600/minute unless the limiter sets it; None turns it off; IPv6 clients
    per /``ipv6_prefix``) and a client that used its quota is refused before its credentials
    are checked; admitted requests are metered per app — the API key's app, which survives
    rolling, under the key's own policy when its record names one, else ``rate_policy``
    (the limiter's ``default``: 1000/minute) — else per user, else per client; and per user
    (the token's ``sub``) under ``user_rate_policy`` when given. A refusal is ``RateLimited``
    (429 with ``Retry-After`` and the RateLimit headers). An API key's credit is spent only
    when the request is admitted.
    """

    def __init__(
        self,
        *,
        keys: Union[KeySet, Verifier, SessionManager, RemoteJwks, None] = None,
        api_keys: Optional[ApiKeyManager] = None,
        api_key_scope: Optional[str] = None,
        api_key_header: str = "x-api-key",
        api_key_in_authorization: bool = False,
        realm: Optional[str] = None,
        allowlist: Optional[IpAllowlist] = None,
        client_ip: Optional[ClientIpResolver] = None,
        limiter: Optional[RateLimiter] = None,
        rate_policy: Optional[str] = None,
        client_rate_policy: Optional[str] = CLIENT_RATE_POLICY,
        user_rate_policy: Optional[str] = None,
        dpop: Optional[DpopVerifier] = None,
        public_origin: Optional[str] = None,
        scopes: Optional[list[str]] = None,
        ipv6_prefix: int = 64,
        client_certificate_header: Optional[str] = None,
        accept_id_tokens: bool = False,
        api_key_prefixes: Optional[list[str]] = None,
        **verify_options: Any,
    ) -> None:
        if keys is None and api_keys is None and limiter is None and allowlist is None:
            raise ValueError("a Gate needs keys (Bearer tokens), api_keys (x-api-key), a limiter or an allowlist")
        self._core = CoreGate(
            keys=keys,
            verify_options=verify_options or None,
            api_keys=api_keys,
            api_key_scope=api_key_scope,
            api_key_header=api_key_header,
            api_key_in_authorization=api_key_in_authorization,
            realm=realm,
            allowlist=allowlist,
            client_ip=client_ip,
            limiter=limiter,
            rate_policy=rate_policy,
            client_rate_policy=client_rate_policy,
            user_rate_policy=user_rate_policy,
            dpop=dpop,
            public_origin=public_origin,
            scopes=scopes,
            ipv6_prefix=ipv6_prefix,
            client_certificate_header=client_certificate_header,
            accept_id_tokens=accept_id_tokens,
            api_key_prefixes=api_key_prefixes,
        )
        self.keys = keys
        self.api_keys = api_keys
        self.realm = realm
        self.limiter = limiter
        self._names = tuple(self._core.header_names)
        self._routes: dict[Any, GateRoute] = {}
        #: A check may wait on the network (Redis, an identity provider's keys): async
        #: callers (the ASGI middleware) run it on a worker thread, off the event loop.
        self.offload = self._core.offload

    @property
    def header_names(self) -> tuple[str, ...]:
        """The request headers the gate reads (lower case)."""
        return self._names

    def route(
        self, name: str, *, scopes: Optional[list[str]] = None, limit: Optional[str] = None, cost: int = 1
    ) -> GateRoute:
        """A route's own rule, checked now: ``scopes`` beyond the gate's, and ``limit`` — a
        policy of the gate's limiter or a policy's text such as ``"5/minute"`` — metered per
        user, else per app, else per client, apart from other routes."""
        return self._core.route(name, scopes=scopes, limit=limit, cost=cost)

    def _read(self, header: HeaderLookup) -> list[tuple[str, str]]:
        """The ``(name, value)`` pairs of the headers the gate reads that the request has."""
        headers = []
        for name in self._names:
            value = header(name)
            if value is not None:
                headers.append((name, value))
        return headers

    def authenticate(
        self,
        header: HeaderLookup,
        peer: Optional[str] = None,
        *,
        method: str = "GET",
        url: str = "/",
        route: Optional[GateRoute] = None,
        client_certificate: Optional[bytes] = None,
    ) -> AuthContext:
        """Checks a request: ``header(name)`` returns a header's value or None, ``peer`` is
        the socket's address, ``method`` and ``url`` (absolute when known) are what a DPoP
        proof covers. Raises the ``AuthError`` of the first check that fails, with the
        refusal's ``response`` attached."""
        headers = self._read(header)
        return self._core.check(method, url, peer, headers, route, client_certificate)

    def check(
        self,
        header: HeaderLookup,
        peer: Optional[str] = None,
        *,
        method: str = "GET",
        url: str = "/",
        route: Optional[GateRoute] = None,
        client_certificate: Optional[bytes] = None,
    ) -> Union[AuthContext, GateRefusal]:
        """``authenticate`` with the refusal returned instead of raised: an ``AuthContext``,
        or a ``GateRefusal`` holding the response (``status``, ``headers``, ``body``, the same
        bytes as ``error_response``), ``code``, ``message``, ``retry_after``, ``rate_limit``
        and, when read, ``error`` (the ``AuthError`` ``authenticate`` raises). No exception is
        made on the refusal path (a refusal costs about 40% less); the ASGI and WSGI
        middleware call it, so a subclass that changes the gate's answers overrides ``check``.
        Never raises an ``AuthError`` (a bug in the gate is a 500 refusal); like
        ``authenticate``, it raises what ``header`` raises and ``TypeError`` for arguments of
        the wrong type. Each read of a ``GateRefusal`` attribute makes new objects."""
        headers = self._read(header)
        return self._core.decide(method, url, peer, headers, route, client_certificate)

    def authorize_route(self, context: AuthContext, route: GateRoute) -> AuthContext:
        """A route's own rule for a request this gate already admitted (the app-wide
        middleware ran it): only the route's scopes and limit, not the pipeline again (no
        second credit, no second use of a DPoP proof, no second count). Returns the context
        with the route's rate decision when it has fewer requests left; raises the refusal."""
        return self._core.check_route_for(context, route)

    def response_headers(self, context: AuthContext) -> list[tuple[str, str]]:
        """The headers an admitted request's response carries (the RateLimit headers, with
        lower-case names)."""
        return context.headers

    def error_response(self, error: AuthError) -> tuple[int, list[tuple[str, str]], bytes]:
        """``(status, headers, body)`` for a refused request, built by the core as every
        runtime sends it: JSON ``{"error", "message"}`` (and ``retry_after``), for 401/403 a
        ``WWW-Authenticate`` challenge, ``Retry-After`` for throttling, the RateLimit
        headers on a 429. The gate's own refusals carry it; for an ``AuthError`` raised
        elsewhere (in a route) it is built from the error. Never raises."""
        return refusal_for(error, self.realm)

    def route_for(
        self, name: str, *, scopes: Optional[list[str]] = None, limit: Optional[str] = None, cost: int = 1
    ) -> GateRoute:
        """``route`` cached by name, for adapters that learn the route's name per request."""
        key = (name, tuple(scopes or ()), limit, cost)
        route = self._routes.get(key)
        if route is None:
            route = self._routes[key] = self.route(name, scopes=scopes, limit=limit, cost=cost)
        return route


def refusal_for(error: BaseException, realm: Optional[str] = None) -> tuple[int, list[tuple[str, str]], bytes]:
    """``(status, headers, body)`` for ``error``: the response a gate attached to its
    refusal, or, for an ``AuthError`` raised elsewhere (in a route), the core's response for
    its code, message and retry-after (and RateLimit headers when it carries a decision).
    Never raises: anything else answers a fixed 500."""
    response = getattr(error, "response", None)
    if isinstance(response, tuple) and len(response) == 3:
        return response[0], list(response[1]), response[2]
    try:
        rate = getattr(error, "rate_limit", None)
        retry_after = getattr(error, "retry_after", None)
        violations = getattr(error, "violations", None)
        return http_refusal(
            str(getattr(error, "code", "internal")),
            str(error),
            retry_after if isinstance(retry_after, int) else None,
            realm,
            rate if isinstance(rate, RateDecision) else None,
            [str(v) for v in violations] if isinstance(violations, list) and violations else None,
        )
    except Exception:
        return http_refusal("internal", "internal error", None, None, None)
