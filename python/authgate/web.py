"""What the ASGI and WSGI integrations share: which credentials a request must carry, and
the JSON error response. Every check is a call into the core: API-key verification,
Bearer parsing, JWT or session verification, the HTTP status and the RFC 6750 challenge."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable, Optional, Union

from authgate._authgate import ApiKeyManager, ApiKeyRecord, KeySet, SessionManager, bearer_token, http_error
from authgate.errors import AuthError, InvalidApiKey, MalformedToken

HeaderLookup = Callable[[str], Optional[str]]


@dataclass(frozen=True)
class AuthContext:
    """What an authenticated request carries: the token's claims and/or the API key's record."""

    claims: Optional[dict[str, Any]] = None
    api_key: Optional[ApiKeyRecord] = None


class Gate:
    """The credentials a request must present.

    ``keys`` verifies ``Authorization: Bearer`` tokens (a ``SessionManager`` checks its own
    access tokens; a ``KeySet`` takes ``verify_options`` such as ``issuer`` and
    ``audience``). ``api_keys`` verifies the ``x-api-key`` header, optionally for
    ``api_key_scope``. Each credential is required when its verifier is given; with both,
    a request needs both (API key first).
    """

    def __init__(
        self,
        *,
        keys: Union[KeySet, SessionManager, None] = None,
        api_keys: Optional[ApiKeyManager] = None,
        api_key_scope: Optional[str] = None,
        api_key_header: str = "x-api-key",
        realm: Optional[str] = None,
        **verify_options: Any,
    ) -> None:
        if keys is None and api_keys is None:
            raise ValueError("a Gate needs keys (Bearer tokens), api_keys (x-api-key), or both")
        if verify_options and not isinstance(keys, KeySet):
            raise ValueError("verify options apply to a KeySet; a SessionManager has its own")
        self.keys = keys
        self.api_keys = api_keys
        self.api_key_scope = api_key_scope
        self.api_key_header = api_key_header.lower()
        self.realm = realm
        self.verify_options = verify_options

    def authenticate(self, header: HeaderLookup) -> AuthContext:
        """Checks the request's headers (``header(name)`` returns a value or None).
        Raises the ``AuthError`` of the first credential that fails."""
        record = None
        if self.api_keys is not None:
            presented = header(self.api_key_header)
            if not presented:
                raise InvalidApiKey(f"the request has no {self.api_key_header} header")
            record = self.api_keys.verify(presented, self.api_key_scope)
        claims = None
        if self.keys is not None:
            authorization = header("authorization")
            if not authorization:
                raise MalformedToken("the request has no Authorization: Bearer token")
            token = bearer_token(authorization)
            if isinstance(self.keys, SessionManager):
                claims = self.keys.verify_access(token)
            else:
                claims = self.keys.verify(token, **self.verify_options)
        return AuthContext(claims=claims, api_key=record)

    def error_response(self, error: AuthError) -> tuple[int, list[tuple[str, str]], bytes]:
        """``(status, headers, body)`` for a refused request: JSON ``{"error", "message"}``
        and, for 401/403, a ``WWW-Authenticate`` challenge; ``Retry-After`` for throttling."""
        status, challenge = http_error(error.code, str(error), self.realm)
        headers = [("content-type", "application/json")]
        if challenge is not None:
            headers.append(("www-authenticate", challenge))
        if error.retry_after is not None:
            headers.append(("retry-after", str(error.retry_after)))
        body = json.dumps({"error": error.code, "message": str(error)}).encode()
        return status, headers, body
