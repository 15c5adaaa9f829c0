"""Type stubs of the Rust extension (checked against it with mypy.stubtest in the tests)."""

import builtins
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Final, Literal, Optional, Union, final

from authgate.errors import AuthError

_Seconds = Union[int, timedelta]
_Timestamp = Union[int, datetime]
_Strings = Union[str, Sequence[str]]
_Text = Union[str, bytes]
_KeyStatus = Literal["active", "verify_only", "retired"]
_SignatureAlgorithm = Literal["hmac-sha256", "ed25519"]
_DigestAlgorithm = Literal["sha-256", "sha-512"]
_Headers = Union[Mapping[str, str], Sequence[tuple[str, str]], Any]
_Body = Union[bytes, bytearray, str, None]
_OtpAlgorithm = str  # SHA1, SHA256 or SHA512 (case and a hyphen ignored)
_Secret = Union[str, bytes]

__all__ = [
    "DpopProof",
    "DpopVerifier",
    "RemoteJwks",
    "certificate_thumbprint",
    "check_certificate_binding",
    "create_dpop_proof",
    "generate_dpop_nonce",
    "jwk_thumbprint",
    "RateDecision",
    "RateLimiter",
    "RatePolicy",
    "AuthContext",
    "CoreGate",
    "GateRefusal",
    "GateRoute",
    "ClientIpResolver",
    "IpAllowlist",
    "IpAllowlists",
    "parse_network",
    "PasswordHasher",
    "PasswordPolicy",
    "PasswordViolation",
    "Challenges",
    "CodeDelivery",
    "Enrollment",
    "Hotp",
    "IssuedChallenge",
    "OtpAuthUri",
    "QrCode",
    "RecoveryCodes",
    "CodeLockout",
    "ThrottlePolicy",
    "Totp",
    "TotpManager",
    "base32_decode",
    "base32_encode",
    "generate_otp_secret",
    "parse_otpauth_uri",
    "RequestSigner",
    "RequestVerifier",
    "SignatureKey",
    "VerifiedSignature",
    "VerifiedWebhook",
    "WebhookKey",
    "WebhookVerifier",
    "content_digest",
    "sign_request",
    "sign_webhook",
    "verify_content_digest",
    "ACCESS_TOKEN_TYPE",
    "ALGORITHMS",
    "ApiKeyManager",
    "ApiKeyRecord",
    "ClientToken",
    "ClientTokens",
    "ClientTokenVerifier",
    "LegacyClientTokens",
    "DEFAULT_ABSOLUTE_LIFETIME_SECS",
    "DEFAULT_ACCESS_TTL_SECS",
    "DEFAULT_CLIENT_TOKEN_TTL_SECS",
    "DEFAULT_IDLE_TIMEOUT_SECS",
    "DEFAULT_LEEWAY_SECS",
    "CLIENT_RATE_POLICY",
    "DEFAULT_MAX_TOKEN_BYTES",
    "ERROR_CODES",
    "ERROR_FAMILIES",
    "Key",
    "KeySet",
    "LoginResult",
    "ManualClock",
    "MemoryStore",
    "RedisStore",
    "ParsedApiKey",
    "SessionInfo",
    "SessionManager",
    "TokenPair",
    "Verifier",
    "__version__",
    "bearer_token",
    "error_for_code",
    "http_error",
    "error_statuses",
    "http_refusal",
    "needs_refresh",
    "parse_api_key",
    "peek_unverified",
    "request_url",
    "gate_url",
    "scope_granted",
    "sign_with",
]

__version__: Final[str]
ERROR_CODES: Final[list[str]]
ERROR_FAMILIES: Final[dict[str, str]]
ALGORITHMS: Final[list[str]]
DEFAULT_LEEWAY_SECS: Final[int]
CLIENT_RATE_POLICY: Final[str]
DEFAULT_MAX_TOKEN_BYTES: Final[int]
DEFAULT_ACCESS_TTL_SECS: Final[int]
DEFAULT_IDLE_TIMEOUT_SECS: Final[int]
DEFAULT_ABSOLUTE_LIFETIME_SECS: Final[int]
DEFAULT_CLIENT_TOKEN_TTL_SECS: Final[int]
ACCESS_TOKEN_TYPE: Final[str]

@final
class Key:
    @staticmethod
    def hmac(secret: _Text, alg: str = "HS256", *, kid: Optional[str] = None) -> Key: ...
    @staticmethod
    def from_pem(pem: _Text, alg: str, *, kid: Optional[str] = None) -> Key: ...
    @staticmethod
    def from_jwk(jwk: Union[Mapping[str, Any], _Text], alg: Optional[str] = None) -> Key: ...
    @staticmethod
    def generate_pem(alg: str) -> str: ...
    @staticmethod
    def generate_hmac_secret(alg: str = "HS256") -> bytes: ...
    @property
    def kid(self) -> Optional[str]: ...
    @property
    def alg(self) -> str: ...
    @property
    def can_sign(self) -> bool: ...
    def public_jwk(self) -> Optional[dict[str, Any]]: ...
    def sign(self, message: _Text) -> bytes: ...
    def verify(self, message: _Text, signature: _Text) -> bool: ...

@final
class KeySet:
    def __new__(cls, keys: Optional[Sequence[Key]] = None) -> KeySet: ...
    def add(self, key: Key, status: _KeyStatus = "verify_only") -> None: ...
    def activate(self, kid: str) -> None: ...
    def retire(self, kid: str) -> None: ...
    def remove(self, kid: str) -> None: ...
    def list(self) -> builtins.list[tuple[Optional[str], str, str]]: ...
    def jwks(self) -> dict[str, Any]: ...
    def import_jwks(self, jwks: Union[Mapping[str, Any], _Text]) -> builtins.list[str]: ...
    def sign(self, claims: dict[str, Any], *, typ: Optional[str] = None) -> str: ...
    def verify(
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
        accept_any_audience: bool = False,
        now: Optional[_Timestamp] = None,
    ) -> dict[str, Any]: ...
    def verify_jws(self, token: _Text, *, algorithms: Optional[_Strings] = None) -> tuple[dict[str, Any], bytes]: ...
    def verifier(
        self,
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
        accept_any_audience: bool = False,
    ) -> Verifier: ...

@final
class Verifier:
    def verify(self, token: _Text, now: Optional[_Timestamp] = None) -> dict[str, Any]: ...

def peek_unverified(token: _Text) -> tuple[dict[str, Any], dict[str, Any]]: ...
def sign_with(key: Key, claims: dict[str, Any], *, typ: Optional[str] = None) -> str: ...

@final
class MemoryStore:
    def __new__(cls, capacity: Optional[int] = None) -> MemoryStore: ...
    @property
    def rate_limit_keys(self) -> int: ...
    @property
    def rate_limit_refusals(self) -> int: ...

@final
class RedisStore:
    def __new__(
        cls,
        url: str,
        *,
        prefix: Optional[str] = None,
        connect_timeout: Optional[float] = None,
        timeout: Optional[float] = None,
        max_idle: Optional[int] = None,
        ca_cert: Union[str, bytes, None] = None,
    ) -> RedisStore: ...
    def ping(self) -> None: ...
    @property
    def prefix(self) -> str: ...

_Store = Union[MemoryStore, RedisStore]

@final
class ManualClock:
    def __new__(cls, now: _Timestamp) -> ManualClock: ...
    def now(self) -> int: ...
    def set(self, now: _Timestamp) -> None: ...
    def advance(self, seconds: _Seconds) -> None: ...
    def advance_ms(self, ms: int) -> None: ...
    def now_ms(self) -> int: ...

@final
class TokenPair:
    @property
    def access_token(self) -> str: ...
    @property
    def refresh_token(self) -> str: ...
    @property
    def session_id(self) -> str: ...
    @property
    def access_expires_at(self) -> int: ...
    @property
    def refresh_expires_at(self) -> int: ...

@final
class LoginResult:
    @property
    def tokens(self) -> TokenPair: ...
    @property
    def new_device(self) -> bool: ...

@final
class SessionInfo:
    @property
    def session_id(self) -> str: ...
    @property
    def device_id(self) -> str: ...
    @property
    def device_name(self) -> Optional[str]: ...
    @property
    def created_at(self) -> int: ...
    @property
    def last_used_at(self) -> int: ...
    @property
    def expires_at(self) -> int: ...

@final
class SessionManager:
    def __new__(
        cls,
        keys: KeySet,
        *,
        issuer: Optional[str] = None,
        audience: Optional[str] = None,
        access_ttl: Optional[_Seconds] = None,
        idle_timeout: Optional[_Seconds] = None,
        absolute_lifetime: Optional[_Seconds] = None,
        max_sessions_per_user: Optional[int] = None,
        check_session_on_verify: Optional[bool] = None,
        leeway: Optional[_Seconds] = None,
        retry_grace: Optional[_Seconds] = None,
        client_id: Optional[str] = None,
        store: Optional[_Store] = None,
        clock: Optional[ManualClock] = None,
    ) -> SessionManager: ...
    def login(
        self, user_id: str, device_id: str, *, device_name: Optional[str] = None, scope: Optional[str] = None
    ) -> LoginResult: ...
    def refresh(self, refresh_token: str) -> TokenPair: ...
    def verify_access(self, token: str) -> dict[str, Any]: ...
    def revoke(self, session_id: str) -> bool: ...
    def revoke_all(self, user_id: str) -> int: ...
    def list(self, user_id: str) -> builtins.list[SessionInfo]: ...
    @property
    def remote_store(self) -> bool: ...

@final
class ApiKeyRecord:
    @property
    def id(self) -> str: ...
    @property
    def prefix(self) -> str: ...
    @property
    def last_four(self) -> str: ...
    @property
    def name(self) -> Optional[str]: ...
    @property
    def scopes(self) -> builtins.list[str]: ...
    @property
    def created_at(self) -> int: ...
    @property
    def expires_at(self) -> Optional[int]: ...
    @property
    def status(self) -> Literal["active", "disabled", "revoked"]: ...
    @property
    def credits(self) -> Optional[int]: ...
    @property
    def app(self) -> str: ...
    @property
    def owner(self) -> Optional[str]: ...
    @property
    def metadata(self) -> dict[str, Any]: ...
    @property
    def last_used_at(self) -> Optional[int]: ...
    @property
    def client_token_key(self) -> Optional[bytes]: ...
    @property
    def rate_limit_policy(self) -> Optional[str]: ...
    @property
    def replaced_by(self) -> Optional[str]: ...
    @property
    def grace_until(self) -> Optional[int]: ...
    @property
    def hash(self) -> bytes: ...

@final
class ParsedApiKey:
    @property
    def prefix(self) -> str: ...
    @property
    def id(self) -> str: ...
    @property
    def last_four(self) -> str: ...

def parse_api_key(key: str) -> ParsedApiKey: ...
def scope_granted(granted: Sequence[str], required: str) -> bool: ...

@final
class ApiKeyManager:
    def __new__(
        cls,
        *,
        store: Optional[_Store] = None,
        clock: Optional[ManualClock] = None,
        prefix: Optional[str] = None,
        accept_prefixes: Optional[_Strings] = None,
    ) -> ApiKeyManager: ...
    @property
    def prefix(self) -> str: ...
    @property
    def accept_prefixes(self) -> builtins.list[str]: ...
    def create(
        self,
        *,
        prefix: Optional[str] = None,
        name: Optional[str] = None,
        scopes: Optional[_Strings] = None,
        expires_at: Optional[_Timestamp] = None,
        credits: Optional[int] = None,
        rate_limit_policy: Optional[str] = None,
        owner: Optional[str] = None,
        metadata: Optional[Mapping[str, Any]] = None,
        client_tokens: bool = False,
    ) -> tuple[str, ApiKeyRecord]: ...
    def import_key(
        self,
        *,
        id: str,
        prefix: str,
        last_four: str,
        sha256: Union[str, bytes],
        name: Optional[str] = None,
        scopes: Optional[_Strings] = None,
        expires_at: Optional[_Timestamp] = None,
        credits: Optional[int] = None,
        rate_limit_policy: Optional[str] = None,
        owner: Optional[str] = None,
        metadata: Optional[Mapping[str, Any]] = None,
        client_token_key: Union[str, bytes, None] = None,
    ) -> ApiKeyRecord: ...
    def delete(self, id: str) -> bool: ...
    def verify(self, key: str, scope: Optional[str] = None) -> ApiKeyRecord: ...
    def get(self, id: str) -> Optional[ApiKeyRecord]: ...
    def list(self) -> builtins.list[ApiKeyRecord]: ...
    def revoke(self, id: str) -> None: ...
    def disable(self, id: str) -> None: ...
    def enable(self, id: str) -> None: ...
    def roll(self, id: str, grace: Optional[_Seconds] = None) -> tuple[str, ApiKeyRecord]: ...
    @property
    def remote_store(self) -> bool: ...

@final
class ClientToken:
    @property
    def user(self) -> str: ...
    @property
    def exp(self) -> int: ...

@final
class ClientTokens:
    def __new__(cls, server_key: str) -> ClientTokens: ...
    @property
    def public_key(self) -> bytes: ...
    def mint(self, user: str, *, ttl: Optional[_Seconds] = None, now: Optional[_Timestamp] = None) -> str: ...
    def verify(self, token: str, user: str, *, now: Optional[_Timestamp] = None) -> ClientToken: ...

@final
class ClientTokenVerifier:
    def __new__(cls, api_keys: ApiKeyManager) -> ClientTokenVerifier: ...
    def verify(self, token: str, user: str, *, now: Optional[_Timestamp] = None) -> ClientToken: ...

@final
class LegacyClientTokens:
    def __new__(
        cls, secret: Union[str, bytes], *, allow_missing_exp: bool = False, allow_short_secret: bool = False
    ) -> LegacyClientTokens: ...
    def mint(self, user: str, *, ttl: Optional[_Seconds] = None, now: Optional[_Timestamp] = None) -> str: ...
    def verify(self, token: str, user: str, *, now: Optional[_Timestamp] = None) -> ClientToken: ...

def needs_refresh(token: str, *, now: Optional[_Timestamp] = None, margin: Optional[_Seconds] = None) -> bool: ...
def bearer_token(header_value: str) -> str: ...
def request_url(scheme: str, host: str, target: str) -> str: ...
def gate_url(scheme: str, host: Optional[str], target: str) -> str: ...
def http_error(code: str, message: str, realm: Optional[str] = None) -> tuple[int, Optional[str]]: ...
def error_statuses() -> dict[str, int]: ...
def http_refusal(
    code: str,
    message: str,
    retry_after: Optional[int] = None,
    realm: Optional[str] = None,
    rate: Optional[RateDecision] = None,
    violations: Optional[list[str]] = None,
) -> tuple[int, list[tuple[str, str]], bytes]: ...
def error_for_code(code: str, message: str) -> Any: ...

@final
class GateRoute:
    @property
    def name(self) -> str: ...
    @property
    def scopes(self) -> builtins.list[str]: ...
    @property
    def limit(self) -> Optional[str]: ...

@final
class AuthContext:
    @property
    def claims(self) -> Optional[dict[str, Any]]: ...
    @property
    def api_key(self) -> Optional[ApiKeyRecord]: ...
    @property
    def client_ip(self) -> Optional[str]: ...
    @property
    def identity(self) -> str: ...
    @property
    def rate_limit(self) -> Optional[RateDecision]: ...
    @property
    def headers(self) -> builtins.list[tuple[str, str]]: ...
    @property
    def dpop_jkt(self) -> Optional[str]: ...

@final
class GateRefusal:
    @property
    def status(self) -> int: ...
    @property
    def headers(self) -> builtins.list[tuple[str, str]]: ...
    @property
    def body(self) -> bytes: ...
    @property
    def response(self) -> tuple[int, builtins.list[tuple[str, str]], bytes]: ...
    @property
    def code(self) -> str: ...
    @property
    def message(self) -> str: ...
    @property
    def retry_after(self) -> Optional[int]: ...
    @property
    def rate_limit(self) -> Optional[RateDecision]: ...
    @property
    def error(self) -> AuthError: ...

@final
class CoreGate:
    def __new__(
        cls,
        *,
        keys: Union[KeySet, Verifier, SessionManager, RemoteJwks, None] = None,
        verify_options: Optional[dict[str, Any]] = None,
        api_keys: Optional[ApiKeyManager] = None,
        api_key_scope: Optional[str] = None,
        api_key_header: str = "x-api-key",
        api_key_in_authorization: bool = False,
        realm: Optional[str] = None,
        allowlist: Optional[IpAllowlist] = None,
        client_ip: Optional[ClientIpResolver] = None,
        limiter: Optional[RateLimiter] = None,
        rate_policy: Optional[str] = None,
        client_rate_policy: Optional[str] = ...,
        user_rate_policy: Optional[str] = None,
        dpop: Optional[DpopVerifier] = None,
        public_origin: Optional[str] = None,
        scopes: Optional[builtins.list[str]] = None,
        ipv6_prefix: int = 64,
        client_certificate_header: Optional[str] = None,
        accept_id_tokens: bool = False,
        api_key_prefixes: Optional[list[str]] = None,
    ) -> CoreGate: ...
    def check_route_for(self, context: AuthContext, route: GateRoute) -> AuthContext: ...
    @property
    def header_names(self) -> builtins.list[str]: ...
    @property
    def offload(self) -> bool: ...
    def route(
        self, name: str, *, scopes: Optional[builtins.list[str]] = None, limit: Optional[str] = None, cost: int = 1
    ) -> GateRoute: ...
    def check(
        self,
        method: str,
        url: str,
        peer: Optional[str],
        headers: builtins.list[tuple[str, str]],
        route: Optional[GateRoute] = None,
        client_certificate: Optional[bytes] = None,
    ) -> AuthContext: ...
    def decide(
        self,
        method: str,
        url: str,
        peer: Optional[str],
        headers: builtins.list[tuple[str, str]],
        route: Optional[GateRoute] = None,
        client_certificate: Optional[bytes] = None,
    ) -> Union[AuthContext, GateRefusal]: ...

@final
class SignatureKey:
    @staticmethod
    def hmac_sha256(secret: Union[bytes, str]) -> SignatureKey: ...
    @staticmethod
    def ed25519_pem(pem: str) -> SignatureKey: ...
    @staticmethod
    def ed25519_public(public: bytes) -> SignatureKey: ...
    @staticmethod
    def ed25519_seed(seed: bytes) -> SignatureKey: ...
    @staticmethod
    def generate(algorithm: _SignatureAlgorithm) -> tuple[SignatureKey, bytes]: ...
    @property
    def algorithm(self) -> str: ...
    @property
    def can_sign(self) -> bool: ...
    @property
    def public_key_bytes(self) -> Optional[bytes]: ...

def sign_request(
    key: SignatureKey,
    method: str,
    url: str,
    headers: Optional[_Headers] = None,
    body: _Body = None,
    *,
    label: str = "sig1",
    components: _Strings,
    created: Optional[int] = None,
    expires: Optional[int] = None,
    keyid: Optional[str] = None,
    nonce: Optional[str] = None,
    alg: bool = False,
    tag: Optional[str] = None,
    digest: Optional[_DigestAlgorithm] = None,
) -> dict[str, str]: ...

@final
class RequestSigner:
    def __new__(
        cls,
        keyid: str,
        key: SignatureKey,
        *,
        label: str = ...,  # "sig1"
        components: Optional[_Strings] = None,
        digest: Optional[_DigestAlgorithm] = ...,  # "sha-256"
        expires_in: Optional[_Seconds] = None,
        nonce: bool = True,
        alg: bool = True,
        tag: Optional[str] = None,
        clock: Optional[ManualClock] = None,
    ) -> RequestSigner: ...
    def sign(self, method: str, url: str, headers: Optional[_Headers] = None, body: _Body = None) -> dict[str, str]: ...

@final
class VerifiedSignature:
    @property
    def label(self) -> str: ...
    @property
    def keyid(self) -> Optional[str]: ...
    @property
    def algorithm(self) -> str: ...
    @property
    def created(self) -> Optional[int]: ...
    @property
    def expires(self) -> Optional[int]: ...
    @property
    def nonce(self) -> Optional[str]: ...
    @property
    def tag(self) -> Optional[str]: ...
    @property
    def components(self) -> list[str]: ...

@final
class RequestVerifier:
    def __new__(
        cls,
        keys: Union[Mapping[str, SignatureKey], Callable[[str], Optional[SignatureKey]]],
        *,
        required_components: Optional[_Strings] = None,
        require_query_when_present: bool = True,
        require_digest_with_body: bool = True,
        require_created: bool = True,
        require_nonce: bool = True,
        require_keyid: bool = True,
        require_expires: bool = False,
        max_skew: Optional[_Seconds] = None,
        max_future_skew: Optional[_Seconds] = None,
        tag: Optional[str] = None,
        store: Optional[_Store] = None,
        clock: Optional[ManualClock] = None,
    ) -> RequestVerifier: ...
    def add_key(self, keyid: str, key: SignatureKey) -> None: ...
    def remove_key(self, keyid: str) -> bool: ...
    def verify(
        self,
        method: str,
        url: str,
        headers: _Headers,
        body: _Body = None,
        *,
        label: Optional[str] = None,
        keyid: Optional[str] = None,
    ) -> VerifiedSignature: ...

def content_digest(body: Union[bytes, bytearray, str], algorithm: _DigestAlgorithm = "sha-256") -> str: ...
def verify_content_digest(field: str, body: Union[bytes, bytearray, str]) -> None: ...

@final
class WebhookKey:
    def __new__(cls, key: str) -> WebhookKey: ...
    @staticmethod
    def generate_secret() -> str: ...
    @staticmethod
    def generate_keypair() -> tuple[str, str]: ...
    @property
    def version(self) -> str: ...
    @property
    def can_sign(self) -> bool: ...
    @property
    def public_key(self) -> Optional[str]: ...

def sign_webhook(keys: _Strings, id: str, timestamp: _Timestamp, payload: Union[bytes, bytearray, str]) -> str: ...

@final
class VerifiedWebhook:
    @property
    def id(self) -> str: ...
    @property
    def timestamp(self) -> int: ...
    @property
    def version(self) -> str: ...

@final
class WebhookVerifier:
    def __new__(
        cls,
        keys: _Strings,
        *,
        tolerance: Optional[_Seconds] = None,
        id_retention: Optional[_Seconds] = None,
        store: Optional[_Store] = None,
        check_replay: bool = True,
        clock: Optional[ManualClock] = None,
    ) -> WebhookVerifier: ...
    def verify(self, headers: _Headers, payload: Union[bytes, bytearray, str]) -> VerifiedWebhook: ...

def generate_otp_secret() -> str: ...
def base32_encode(data: _Text) -> str: ...
def base32_decode(text: str) -> bytes: ...

@final
class Totp:
    def __new__(
        cls,
        secret: _Secret,
        *,
        algorithm: _OtpAlgorithm = "SHA1",
        digits: int = 6,
        period: int = 30,
        allow_short_secret: bool = False,
    ) -> Totp: ...
    @staticmethod
    def from_uri(uri: str, *, allow_short_secret: bool = False) -> Totp: ...
    def now(self, time: Optional[_Timestamp] = None) -> str: ...
    def at(self, time: _Timestamp) -> str: ...
    def at_step(self, step: int) -> str: ...
    def step(self, time: Optional[_Timestamp] = None) -> int: ...
    def remaining_seconds(self, time: Optional[_Timestamp] = None) -> int: ...
    def verify(
        self,
        code: str,
        *,
        time: Optional[_Timestamp] = None,
        window: int = 1,
        last_step: Optional[int] = None,
    ) -> int: ...
    def provisioning_uri(self, account: str, *, issuer: Optional[str] = None) -> str: ...
    @property
    def secret(self) -> str: ...
    @property
    def algorithm(self) -> str: ...
    @property
    def digits(self) -> int: ...
    @property
    def period(self) -> int: ...

@final
class Hotp:
    def __new__(
        cls,
        secret: _Secret,
        *,
        algorithm: _OtpAlgorithm = "SHA1",
        digits: int = 6,
        allow_short_secret: bool = False,
    ) -> Hotp: ...
    def at(self, counter: int) -> str: ...
    def verify(self, code: str, counter: int, *, look_ahead: int = 5) -> int: ...
    @property
    def secret(self) -> str: ...

@final
class OtpAuthUri:
    @property
    def kind(self) -> Literal["totp", "hotp"]: ...
    @property
    def account(self) -> str: ...
    @property
    def issuer(self) -> Optional[str]: ...
    @property
    def secret(self) -> str: ...
    @property
    def algorithm(self) -> str: ...
    @property
    def digits(self) -> int: ...
    @property
    def period(self) -> int: ...
    @property
    def counter(self) -> Optional[int]: ...

def parse_otpauth_uri(uri: str, *, allow_short_secret: bool = False) -> OtpAuthUri: ...

@final
class QrCode:
    def __new__(cls, text: str) -> QrCode: ...
    def svg(self, scale: int = 8) -> str: ...
    def png(self, scale: int = 8) -> bytes: ...
    def text(self) -> str: ...
    @property
    def width(self) -> int: ...

@final
class ThrottlePolicy:
    def __new__(
        cls,
        *,
        free_failures: int = 5,
        base_delay: int = 30,
        max_delay: int = 3600,
        forget_after: int = 3600,
    ) -> ThrottlePolicy: ...
    @property
    def free_failures(self) -> int: ...
    @property
    def base_delay(self) -> int: ...
    @property
    def max_delay(self) -> int: ...
    @property
    def forget_after(self) -> int: ...

@final
class Enrollment:
    @property
    def account(self) -> str: ...
    @property
    def secret(self) -> str: ...
    @property
    def uri(self) -> str: ...
    @property
    def expires_at(self) -> int: ...
    def qr(self) -> QrCode: ...

@final
class TotpManager:
    def __new__(
        cls,
        store: Optional[_Store] = None,
        *,
        issuer: Optional[str] = None,
        algorithm: _OtpAlgorithm = "SHA1",
        digits: int = 6,
        period: int = 30,
        window: int = 1,
        throttle: Optional[ThrottlePolicy] = None,
        enrollment_ttl: Optional[_Seconds] = None,
        max_failures: Optional[int] = None,
        clock: Optional[ManualClock] = None,
    ) -> TotpManager: ...
    def begin_enrollment(self, account: str) -> Enrollment: ...
    def confirm_enrollment(self, account: str, code: str) -> str: ...
    def cancel_enrollment(self, account: str) -> bool: ...
    def verify(self, account: str, secret: _Secret, code: str) -> int: ...

@final
class CodeDelivery:
    @property
    def subject(self) -> str: ...
    @property
    def destination(self) -> str: ...
    @property
    def code(self) -> str: ...
    @property
    def expires_at(self) -> int: ...

@final
class IssuedChallenge:
    @property
    def expires_at(self) -> int: ...
    @property
    def resend_after(self) -> int: ...
    @property
    def attempts_left(self) -> int: ...

@final
class Challenges:
    def __new__(
        cls,
        sender: Callable[[CodeDelivery], object],
        store: Optional[_Store] = None,
        *,
        digits: int = 6,
        ttl: Optional[_Seconds] = None,
        max_attempts: int = 5,
        resend_cooldown: Optional[_Seconds] = None,
        hash_key: Optional[_Text] = None,
        max_failures: Optional[int] = None,
        clock: Optional[ManualClock] = None,
    ) -> Challenges: ...
    def issue(self, subject: str, destination: str) -> IssuedChallenge: ...
    def verify(self, subject: str, code: str) -> None: ...

@final
class RecoveryCodes:
    def __new__(
        cls,
        store: Optional[_Store] = None,
        *,
        count: int = 10,
        hash_key: Optional[_Text] = None,
        throttle: Optional[ThrottlePolicy] = None,
        max_failures: Optional[int] = None,
        clock: Optional[ManualClock] = None,
    ) -> RecoveryCodes: ...
    def generate(self, user: str) -> list[str]: ...
    def verify(self, user: str, code: str) -> int: ...
    def remaining(self, user: str) -> int: ...

@final
class CodeLockout:
    def __new__(cls, store: Optional[_Store] = None, *, clock: Optional[ManualClock] = None) -> CodeLockout: ...
    def failures(self, account: str) -> int: ...
    def unlock(self, account: str) -> bool: ...

_Policy = Union["RatePolicy", str]
_Ip = Any  # str, or an ipaddress.IPv4Address / IPv6Address

@final
class RatePolicy:
    def __new__(
        cls, limit: int, period: Union[int, float, timedelta], *, burst: Optional[int] = None
    ) -> RatePolicy: ...
    @staticmethod
    def parse(text: str) -> RatePolicy: ...
    @property
    def limit(self) -> int: ...
    @property
    def period_ms(self) -> int: ...
    @property
    def burst(self) -> int: ...

@final
class RateDecision:
    @property
    def allowed(self) -> bool: ...
    @property
    def outcome(self) -> Literal["allowed", "limited", "insufficient_capacity"]: ...
    @property
    def degraded(self) -> bool: ...
    @property
    def policy(self) -> str: ...
    @property
    def limit(self) -> int: ...
    @property
    def window(self) -> int: ...
    @property
    def burst(self) -> int: ...
    @property
    def remaining(self) -> int: ...
    @property
    def reset_after_ms(self) -> int: ...
    @property
    def retry_after_ms(self) -> Optional[int]: ...
    @property
    def retry_after(self) -> Optional[int]: ...
    @property
    def headers(self) -> dict[str, str]: ...
    @property
    def wire_headers(self) -> list[tuple[str, str]]: ...
    def __bool__(self) -> bool: ...

@final
class RateLimiter:
    def __new__(
        cls,
        store: Optional[_Store] = None,
        *,
        clock: Optional[ManualClock] = None,
        failure_mode: Literal["closed", "open"] = "closed",
    ) -> RateLimiter: ...
    @property
    def remote_store(self) -> bool: ...
    @property
    def failure_mode(self) -> Literal["closed", "open"]: ...
    @failure_mode.setter
    def failure_mode(self, mode: Literal["closed", "open"]) -> None: ...
    def set_policy(self, name: str, policy: _Policy) -> None: ...
    def remove_policy(self, name: str) -> bool: ...
    def policy(self, name: str) -> Optional[RatePolicy]: ...
    def set_override(self, policy: str, key: str, granted: _Policy) -> None: ...
    def remove_override(self, policy: str, key: str) -> bool: ...
    def check(self, key: str, *, policy: Optional[str] = None, cost: float = 1.0) -> RateDecision: ...
    def enforce(self, key: str, *, policy: Optional[str] = None, cost: float = 1.0) -> RateDecision: ...
    def peek(self, key: str, *, policy: Optional[str] = None) -> RateDecision: ...

def parse_network(text: str) -> str: ...

@final
class IpAllowlist:
    def __new__(cls, networks: Sequence[str], *, allow_any: bool = False) -> IpAllowlist: ...
    def contains(self, ip: _Ip) -> bool: ...
    def __contains__(self, ip: _Ip, /) -> bool: ...
    def check(self, ip: _Ip) -> None: ...
    @property
    def networks(self) -> list[str]: ...
    def __len__(self) -> int: ...

@final
class IpAllowlists:
    def __new__(cls) -> IpAllowlists: ...
    def set(self, name: str, networks: Sequence[str], *, allow_any: bool = False) -> None: ...
    def remove(self, name: str) -> bool: ...
    def check(self, name: str, ip: _Ip) -> None: ...

@final
class ClientIpResolver:
    def __new__(
        cls, trusted_proxies: Sequence[str], *, header: Literal["x-forwarded-for", "forwarded"] = "x-forwarded-for"
    ) -> ClientIpResolver: ...
    @property
    def header(self) -> Literal["x-forwarded-for", "forwarded"]: ...
    def resolve(self, peer: _Ip, headers: Union[str, Sequence[str], None] = None) -> str: ...

@final
class PasswordViolation:
    @property
    def code(self) -> str: ...
    @property
    def message(self) -> str: ...

@final
class PasswordPolicy:
    def __new__(
        cls,
        *,
        min_length: Optional[int] = None,
        max_length: Optional[int] = None,
        require_uppercase: Optional[bool] = None,
        require_lowercase: Optional[bool] = None,
        require_digit: Optional[bool] = None,
        require_symbol: Optional[bool] = None,
        common_passwords: Optional[bool] = None,
        blocklist: Sequence[str] = ...,
    ) -> PasswordPolicy: ...
    @staticmethod
    def nist(*, blocklist: Sequence[str] = ...) -> PasswordPolicy: ...
    def check(self, password: str, context: Sequence[str] = ...) -> list[PasswordViolation]: ...
    def enforce(self, password: str, context: Sequence[str] = ...) -> None: ...
    @property
    def common_passwords(self) -> bool: ...
    @property
    def min_length(self) -> int: ...
    @property
    def max_length(self) -> int: ...

@final
class PasswordHasher:
    def __new__(
        cls,
        *,
        memory_kib: Optional[int] = None,
        iterations: Optional[int] = None,
        parallelism: Optional[int] = None,
        pepper: Optional[bytes] = None,
    ) -> PasswordHasher: ...
    def hash(self, password: str) -> str: ...
    def verify(self, password: str, hash: str) -> bool: ...
    def needs_rehash(self, hash: str) -> bool: ...

def jwk_thumbprint(jwk: Union[Mapping[str, Any], _Text]) -> str: ...
def certificate_thumbprint(certificate: _Text) -> str: ...
def check_certificate_binding(claims: dict[str, Any], certificate: _Text) -> None: ...
def generate_dpop_nonce() -> str: ...
def create_dpop_proof(
    key: Key,
    method: str,
    uri: str,
    *,
    access_token: Optional[str] = None,
    nonce: Optional[str] = None,
    now: Optional[_Timestamp] = None,
) -> str: ...

@final
class DpopProof:
    @property
    def jkt(self) -> str: ...
    @property
    def jti(self) -> str: ...
    @property
    def iat(self) -> int: ...

@final
class DpopVerifier:
    def __new__(
        cls,
        *,
        max_age: Optional[_Seconds] = None,
        leeway: Optional[_Seconds] = None,
        nonce: Optional[str] = None,
        algorithms: Optional[_Strings] = None,
        store: Optional[_Store] = None,
        clock: Optional[ManualClock] = None,
    ) -> DpopVerifier: ...
    def verify(
        self,
        proof: _Text,
        method: str,
        uri: str,
        *,
        access_token: Optional[_Text] = None,
        access_claims: Optional[dict[str, Any]] = None,
        nonce: Optional[str] = None,
    ) -> DpopProof: ...
    @property
    def remote_store(self) -> bool: ...

_Timeout = Union[int, float, timedelta]

@final
class RemoteJwks:
    def __new__(
        cls,
        url: str,
        *,
        ttl: Optional[_Seconds] = None,
        cooldown: Optional[_Seconds] = None,
        max_stale: Optional[_Seconds] = None,
        timeout: Optional[_Timeout] = None,
        max_bytes: Optional[int] = None,
        ca_cert_pem: Optional[str] = None,
        allow_http: bool = False,
        clock: Optional[ManualClock] = None,
    ) -> RemoteJwks: ...
    @staticmethod
    def discover(
        issuer: str,
        *,
        ttl: Optional[_Seconds] = None,
        cooldown: Optional[_Seconds] = None,
        max_stale: Optional[_Seconds] = None,
        timeout: Optional[_Timeout] = None,
        max_bytes: Optional[int] = None,
        ca_cert_pem: Optional[str] = None,
        allow_http: bool = False,
        clock: Optional[ManualClock] = None,
    ) -> RemoteJwks: ...
    @property
    def url(self) -> str: ...
    def verify(
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
        accept_any_audience: bool = False,
        now: Optional[_Timestamp] = None,
    ) -> dict[str, Any]: ...
    def refresh(self) -> list[str]: ...
    def key_set(self) -> KeySet: ...
    def status(self) -> dict[str, Any]: ...
