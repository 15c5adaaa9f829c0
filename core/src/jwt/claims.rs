//! Claims: one strict pass over the payload picks out the registered claims with their
//! exact types (RFC 7519 §4.1), then [`Validation`] checks them. No check is skipped
//! silently: a registered claim of the wrong type is an error, never ignored.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::algorithm::Algorithm;
use super::skim::Stop;
use crate::error::{err, Error, ErrorKind, Result};

/// Default clock-skew allowance for `exp`, `nbf` and `iat`, in seconds.
pub const DEFAULT_LEEWAY_SECS: u64 = 30;
/// Default upper bound on the size of a token, in bytes.
pub const DEFAULT_MAX_TOKEN_BYTES: usize = 8 * 1024;
/// The largest NumericDate accepted: 9999-12-31T23:59:59Z. Larger values are hostile.
pub const MAX_NUMERIC_DATE: u64 = 253_402_300_799;
/// At most this many required claims can be listed (they are tracked in a bitmask).
pub const MAX_REQUIRED_CLAIMS: usize = 64;

/// What a verified token must satisfy besides its signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validation {
    /// Clock-skew allowance in seconds for `exp`, `nbf` and `iat`.
    pub leeway: u64,
    /// Accepted issuers; when non-empty the token must have a matching `iss`.
    pub issuers: Vec<String>,
    /// Accepted audiences; when non-empty the token's `aud` must contain one of them.
    /// When empty, a token that carries `aud` is refused (`invalid_audience`, as PyJWT
    /// does) unless `accept_any_audience` is set: a token minted for another API must not
    /// pass because this verifier forgot to name its own.
    pub audiences: Vec<String>,
    /// The named opt-out for verifiers that check no audience: with `audiences` empty, a
    /// token's `aud` is then not looked at. Ignored when `audiences` is set.
    pub accept_any_audience: bool,
    /// When set, `sub` must equal it.
    pub subject: Option<String>,
    /// Claims that must be present (default: `exp`).
    pub required_claims: Vec<String>,
    /// Scopes that must all be present in the space-separated `scope` claim.
    pub required_scopes: Vec<String>,
    /// When set, the `typ` header must match (case-insensitive, `application/` optional).
    pub token_type: Option<String>,
    /// When non-empty, only these algorithms are accepted (each key is bound to one anyway).
    pub algorithms: Vec<Algorithm>,
    /// Tokens longer than this are refused before any parsing.
    pub max_token_bytes: usize,
}

impl Default for Validation {
    fn default() -> Self {
        Validation {
            leeway: DEFAULT_LEEWAY_SECS,
            issuers: Vec::new(),
            audiences: Vec::new(),
            accept_any_audience: false,
            subject: None,
            required_claims: vec!["exp".to_string()],
            required_scopes: Vec::new(),
            token_type: None,
            algorithms: Vec::new(),
            max_token_bytes: DEFAULT_MAX_TOKEN_BYTES,
        }
    }
}

/// A string claim: a span of the payload when it had no escapes, else its own copy.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Text {
    Span(usize, usize),
    Owned(Box<str>),
}

impl Text {
    /// A span when `value` lies inside `payload` (it had no escapes), else a copy.
    fn of(value: &str, payload: &str) -> Text {
        let start = (value.as_ptr() as usize).wrapping_sub(payload.as_ptr() as usize);
        if start <= payload.len() && payload.len() - start >= value.len() {
            Text::Span(start, start + value.len())
        } else {
            Text::Owned(value.into())
        }
    }

    fn get<'a>(&'a self, json: &'a str) -> &'a str {
        match self {
            Text::Span(a, b) => &json[*a..*b],
            Text::Owned(s) => s,
        }
    }
}

/// The verified claims of a token: the registered claims, typed, and the whole payload.
/// String claims point into the payload, so verification copies nothing it need not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    json: String,
    exp: Option<u64>,
    nbf: Option<u64>,
    iat: Option<u64>,
    iss: Option<Text>,
    sub: Option<Text>,
    jti: Option<Text>,
    scope: Option<Text>,
    aud: Option<Audience>,
}

/// `aud` as found: one string (the common case, no allocation) or an array.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Audience {
    One(Text),
    Many(Vec<Text>),
}

impl Claims {
    /// The payload as JSON text, exactly as signed.
    pub fn json(&self) -> &str {
        &self.json
    }

    /// All claims as a JSON object.
    pub fn to_map(&self) -> Map<String, Value> {
        // The payload was already parsed as an object once; this cannot fail.
        serde_json::from_str(&self.json).unwrap_or_default()
    }

    /// One claim by name (registered or not).
    pub fn get(&self, name: &str) -> Option<Value> {
        self.to_map().remove(name)
    }

    pub fn exp(&self) -> Option<u64> {
        self.exp
    }
    pub fn nbf(&self) -> Option<u64> {
        self.nbf
    }
    pub fn iat(&self) -> Option<u64> {
        self.iat
    }
    pub fn iss(&self) -> Option<&str> {
        self.iss.as_ref().map(|t| t.get(&self.json))
    }
    pub fn sub(&self) -> Option<&str> {
        self.sub.as_ref().map(|t| t.get(&self.json))
    }
    pub fn jti(&self) -> Option<&str> {
        self.jti.as_ref().map(|t| t.get(&self.json))
    }
    pub fn scope(&self) -> Option<&str> {
        self.scope.as_ref().map(|t| t.get(&self.json))
    }
    /// `aud` as a list, whether the token had a string or an array.
    pub fn aud(&self) -> Option<Vec<&str>> {
        self.aud.as_ref().map(|a| match a {
            Audience::One(t) => vec![t.get(&self.json)],
            Audience::Many(ts) => ts.iter().map(|t| t.get(&self.json)).collect(),
        })
    }

    /// The scopes in the space-separated `scope` claim (RFC 9068 / RFC 8693).
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.scope()
            .unwrap_or("")
            .split(' ')
            .filter(|s| !s.is_empty())
    }

    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes().any(|s| s == scope)
    }

    pub fn has_all_scopes<S: AsRef<str>>(&self, scopes: &[S]) -> bool {
        scopes.iter().all(|s| self.has_scope(s.as_ref()))
    }
}

/// A registered claim's value as handed to a [`ClaimSink`], already type-checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegisteredValue<'a> {
    /// `exp`, `nbf`, `iat`.
    Time(u64),
    /// `iss`, `sub`, `jti`, `scope`.
    Text(&'a str),
    /// `aud`, as written: one string, or an array.
    Audience(&'a [Cow<'a, str>], bool),
}

/// Receives every claim during verification's single parse of the payload, so a binding
/// can build its own object (a Python dict, a JavaScript object) without parsing the
/// payload a second time. The output only counts if verification succeeds.
pub trait ClaimSink {
    /// True for a sink whose `other` only skips the value, as [`NoSink`]'s does: the core
    /// then skips unregistered claims with its own scanner and never calls `other` (same
    /// verdicts and errors, see `skim.rs`). Leave it false in a sink that reads claims.
    #[doc(hidden)]
    const SKIPS_OTHERS: bool = false;
    /// A registered claim (`iss`, `sub`, `aud`, `exp`, `nbf`, `iat`, `jti`, `scope`).
    fn registered(&mut self, name: &str, value: RegisteredValue<'_>);
    /// Any other claim: the sink deserializes (or skips) the value itself.
    fn other<'de, D: Deserializer<'de>>(&mut self, name: &str, value: D) -> Result<(), D::Error>;
}

/// The sink of plain verification: other claims are skipped, not built.
pub struct NoSink;

impl ClaimSink for NoSink {
    const SKIPS_OTHERS: bool = true;
    fn registered(&mut self, _: &str, _: RegisteredValue<'_>) {}
    fn other<'de, D: Deserializer<'de>>(&mut self, _: &str, value: D) -> Result<(), D::Error> {
        Skip.deserialize(value)
    }
}

/// Skips a claim's value through `deserialize_any`, so serde_json's nesting limit applies
/// exactly as it does to sinks that build the value (a binding's dict or object): every
/// runtime refuses the same tokens (see [`MAX_NESTING`]). `IgnoredAny` skips without a limit.
pub(super) struct Skip;

impl<'de> DeserializeSeed<'de> for Skip {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(Skip)
    }
}

impl<'de> Visitor<'de> for Skip {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(Skip)?.is_some() {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while map.next_key::<IgnoredAny>()?.is_some() {
            map.next_value_seed(Skip)?;
        }
        Ok(())
    }
}

/// The deepest nesting a token's claims may have: the payload object and 126 levels of
/// arrays or objects inside it (serde_json's recursion limit of 128, which the core and
/// every binding's claim builder share). Deeper is `malformed_token` in every runtime.
pub const MAX_NESTING: usize = 127;

/// Captures one unregistered string claim (`sid`, `user`) during the single parse while
/// forwarding every claim to `inner`, so reading it needs no second parse of the payload.
pub(crate) struct CaptureText<'s, S> {
    name: &'static str,
    /// `Some(Ok(text))` when found as a string, `Some(Err(()))` when of another type.
    pub value: Option<std::result::Result<String, ()>>,
    inner: &'s mut S,
}

impl<'s, S: ClaimSink> CaptureText<'s, S> {
    pub fn new(name: &'static str, inner: &'s mut S) -> Self {
        CaptureText {
            name,
            value: None,
            inner,
        }
    }

    /// The captured string, or `invalid_claim` / `missing_claim`.
    pub fn take(self) -> Result<String> {
        match self.value {
            Some(Ok(text)) => Ok(text),
            Some(Err(())) => err(
                ErrorKind::InvalidClaim,
                format!("claim `{}` must be a string", self.name),
            ),
            None => err(
                ErrorKind::MissingClaim,
                format!("claim `{}` is missing", self.name),
            ),
        }
    }
}

impl<S: ClaimSink> ClaimSink for CaptureText<'_, S> {
    fn registered(&mut self, name: &str, value: RegisteredValue<'_>) {
        self.inner.registered(name, value)
    }

    fn other<'de, D: Deserializer<'de>>(&mut self, name: &str, value: D) -> Result<(), D::Error> {
        if name != self.name {
            return self.inner.other(name, value);
        }
        let value = Value::deserialize(value)?;
        self.value = Some(match &value {
            Value::String(text) => Ok(text.clone()),
            _ => Err(()),
        });
        self.inner.other(name, value).map_err(de::Error::custom)
    }
}

struct OtherSeed<'s, 'n, S> {
    sink: &'s mut S,
    name: &'n str,
}

impl<'de, S: ClaimSink> DeserializeSeed<'de> for OtherSeed<'_, '_, S> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        self.sink.other(self.name, d)
    }
}

// ---- parsing -------------------------------------------------------------------------

/// A registered claim's value as found: the right type, or what was wrong with it.
enum Found<T> {
    Ok(T),
    Bad(&'static str),
}

struct TimeVisitor;
struct StrVisitor;
struct AudVisitor;

fn bad_kind(v: &de::Unexpected<'_>) -> &'static str {
    match v {
        de::Unexpected::Str(_) => "a string",
        de::Unexpected::Float(_) => "a fraction",
        de::Unexpected::Signed(_) => "negative",
        de::Unexpected::Bool(_) => "a boolean",
        de::Unexpected::Unit => "null",
        de::Unexpected::Seq => "an array",
        de::Unexpected::Map => "an object",
        _ => "of the wrong type",
    }
}

/// Implements every "wrong type" visit for a visitor whose value is `Found<_>`: the value
/// is consumed and reported, never an error that would hide which claim was wrong.
macro_rules! reject_other_types {
    () => {
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
            Ok(Found::Bad(bad_kind(&de::Unexpected::Bool(v))))
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok(Found::Bad("negative"))
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok(Found::Bad("a fraction or too large"))
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Found::Bad("null"))
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok(Found::Bad("an object"))
        }
    };
}

impl<'de> Visitor<'de> for TimeVisitor {
    type Value = Found<u64>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an integer NumericDate")
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(if v <= MAX_NUMERIC_DATE {
            Found::Ok(v)
        } else {
            Found::Bad("out of range")
        })
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(Found::Bad("a string"))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Found::Bad("an array"))
    }
    reject_other_types!();
}

impl<'de> Visitor<'de> for StrVisitor {
    type Value = Found<Cow<'de, str>>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Found::Ok(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Found::Ok(Cow::Owned(v.to_owned())))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Found::Bad("a number"))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Found::Bad("an array"))
    }
    reject_other_types!();
}

/// `aud` borrowed from the payload.
enum RawAudience<'a> {
    One(Cow<'a, str>),
    Many(Vec<Cow<'a, str>>),
}

impl RawAudience<'_> {
    fn contains_any(&self, accepted: &[String]) -> bool {
        match self {
            RawAudience::One(a) => accepted.iter().any(|x| x == a),
            RawAudience::Many(list) => list.iter().any(|a| accepted.iter().any(|x| x == a)),
        }
    }
}

impl<'de> Visitor<'de> for AudVisitor {
    type Value = Found<RawAudience<'de>>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string or an array of strings")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Found::Ok(RawAudience::One(Cow::Borrowed(v))))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Found::Ok(RawAudience::One(Cow::Owned(v.to_owned()))))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Found::Bad("a number"))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        let mut bad = None;
        while let Some(item) = seq.next_element_seed(StrSeed)? {
            match item {
                Found::Ok(s) => out.push(s),
                Found::Bad(_) => bad = Some("an array holding a non-string"),
            }
        }
        Ok(bad.map_or(Found::Ok(RawAudience::Many(out)), Found::Bad))
    }
    reject_other_types!();
}

macro_rules! seed {
    ($seed:ident, $visitor:ident, $value:ty) => {
        struct $seed;
        impl<'de> DeserializeSeed<'de> for $seed {
            type Value = Found<$value>;
            fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                d.deserialize_any($visitor)
            }
        }
    };
}
seed!(TimeSeed, TimeVisitor, u64);
seed!(StrSeed, StrVisitor, Cow<'de, str>);
seed!(AudSeed, AudVisitor, RawAudience<'de>);

/// Registered claims borrowed from the payload, before validation.
#[derive(Default)]
pub(super) struct Registered<'a> {
    iss: Option<Cow<'a, str>>,
    sub: Option<Cow<'a, str>>,
    aud: Option<RawAudience<'a>>,
    exp: Option<u64>,
    nbf: Option<u64>,
    iat: Option<u64>,
    jti: Option<Cow<'a, str>>,
    scope: Option<Cow<'a, str>>,
    /// Bit i is set when `required[i]` was present.
    pub required_found: u64,
}

/// The single pass over the payload object. It fills `out` in place (no large value is
/// moved through serde's return path). A problem with a claim is recorded in `problem`
/// (so the caller gets a precise error) and parsing stops.
struct ClaimsSeed<'v, 'p, 'r, 'a, 's, S> {
    required: &'v [String],
    problem: &'p mut Option<Error>,
    out: &'r mut Registered<'a>,
    sink: &'s mut S,
}

/// Index of a registered claim name, for duplicate tracking.
pub(super) fn registered_index(name: &str) -> Option<usize> {
    Some(match name {
        "iss" => 0,
        "sub" => 1,
        "aud" => 2,
        "exp" => 3,
        "nbf" => 4,
        "iat" => 5,
        "jti" => 6,
        "scope" => 7,
        _ => return None,
    })
}

/// Reads registered claim number `index` (see [`registered_index`]) into `out` and tells
/// the sink; a value of the wrong type comes back as the `invalid_claim` error to report.
pub(super) struct RegisteredSeed<'n, 'r, 'a, 's, S> {
    pub index: usize,
    pub name: &'n str,
    pub out: &'r mut Registered<'a>,
    pub sink: &'s mut S,
}

impl<'de, S: ClaimSink> DeserializeSeed<'de> for RegisteredSeed<'_, '_, 'de, '_, S> {
    type Value = Option<Error>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<Error>, D::Error> {
        let (r, name, index) = (self.out, self.name, self.index);
        let bad = match index {
            3..=5 => match TimeSeed.deserialize(d)? {
                Found::Ok(t) => {
                    self.sink.registered(name, RegisteredValue::Time(t));
                    *[&mut r.exp, &mut r.nbf, &mut r.iat][index - 3] = Some(t);
                    None
                }
                Found::Bad(why) => Some((why, "an integer NumericDate")),
            },
            2 => match AudSeed.deserialize(d)? {
                Found::Ok(a) => {
                    let value = match &a {
                        RawAudience::One(one) => {
                            RegisteredValue::Audience(std::slice::from_ref(one), false)
                        }
                        RawAudience::Many(list) => RegisteredValue::Audience(list, true),
                    };
                    self.sink.registered(name, value);
                    r.aud = Some(a);
                    None
                }
                Found::Bad(why) => Some((why, "a string or an array of strings")),
            },
            _ => match StrSeed.deserialize(d)? {
                Found::Ok(s) => {
                    self.sink.registered(name, RegisteredValue::Text(&s));
                    let slot = match index {
                        0 => &mut r.iss,
                        1 => &mut r.sub,
                        6 => &mut r.jti,
                        _ => &mut r.scope,
                    };
                    *slot = Some(s);
                    None
                }
                Found::Bad(why) => Some((why, "a string")),
            },
        };
        Ok(bad.map(|(why, expected)| {
            Error::new(
                ErrorKind::InvalidClaim,
                format!("claim `{name}` must be {expected}, but is {why}"),
            )
        }))
    }
}

impl<'de, S: ClaimSink> Visitor<'de> for ClaimsSeed<'_, '_, '_, 'de, '_, S> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object of claims")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let r = self.out;
        let mut seen = 0u8;
        while let Some(name) = map.next_key::<Cow<'de, str>>()? {
            for (i, req) in self.required.iter().enumerate() {
                if *req == name {
                    r.required_found |= 1 << i;
                }
            }
            let Some(index) = registered_index(&name) else {
                map.next_value_seed(OtherSeed {
                    sink: &mut *self.sink,
                    name: &name,
                })?;
                continue;
            };
            // A repeated registered claim invites parser differentials: refuse it.
            if seen & (1 << index) != 0 {
                *self.problem = Some(Error::new(
                    ErrorKind::MalformedToken,
                    format!("claim `{name}` appears more than once"),
                ));
                return Err(de::Error::custom("duplicate claim"));
            }
            seen |= 1 << index;
            if let Some(problem) = map.next_value_seed(RegisteredSeed {
                index,
                name: &name,
                out: &mut *r,
                sink: &mut *self.sink,
            })? {
                *self.problem = Some(problem);
                return Err(de::Error::custom("invalid claim"));
            }
        }
        Ok(())
    }
}

impl<'de, S: ClaimSink> DeserializeSeed<'de> for ClaimsSeed<'_, '_, '_, 'de, '_, S> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

fn parse<'a, S: ClaimSink>(
    payload: &'a str,
    required: &[String],
    out: &mut Registered<'a>,
    sink: &mut S,
) -> Result<()> {
    let nested = || {
        Error::new(
            ErrorKind::MalformedToken,
            format!("the claims nest deeper than {MAX_NESTING} levels"),
        )
    };
    let not_object = || {
        Error::new(
            ErrorKind::MalformedToken,
            "the payload is not a JSON object",
        )
    };
    if S::SKIPS_OTHERS {
        return super::skim::parse(payload, required, out, sink).map_err(|stop| match stop {
            Stop::Malformed => not_object(),
            Stop::TooDeep => nested(),
            Stop::Problem(e) => e,
        });
    }
    let mut problem = None;
    let mut de = serde_json::Deserializer::from_str(payload);
    let parsed = ClaimsSeed {
        required,
        problem: &mut problem,
        out,
        sink,
    }
    .deserialize(&mut de)
    .and_then(|()| de.end());
    match (parsed, problem) {
        (_, Some(problem)) => Err(problem),
        (Ok(()), None) => Ok(()),
        (Err(e), None) if e.to_string().starts_with("recursion limit exceeded") => Err(nested()),
        (Err(_), None) => Err(not_object()),
    }
}

/// Checks a payload against `v` at time `now` and returns its claims.
pub(crate) fn validate(payload: String, v: &Validation, now: u64) -> Result<Claims> {
    validate_into(payload, v, now, &mut NoSink)
}

/// [`validate`], handing every claim to `sink` during the one parse.
pub(crate) fn validate_into<S: ClaimSink>(
    payload: String,
    v: &Validation,
    now: u64,
    sink: &mut S,
) -> Result<Claims> {
    if v.required_claims.len() > MAX_REQUIRED_CLAIMS {
        return err(ErrorKind::InvalidInput, "too many required claims");
    }
    let mut r = Registered::default();
    parse(&payload, &v.required_claims, &mut r, sink)?;
    for (i, name) in v.required_claims.iter().enumerate() {
        if r.required_found & (1 << i) == 0 {
            return err(
                ErrorKind::MissingClaim,
                format!("required claim `{name}` is missing"),
            );
        }
    }
    if let Some(exp) = r.exp {
        if now >= exp.saturating_add(v.leeway) {
            return err(ErrorKind::TokenExpired, "the token has expired");
        }
    }
    if let Some(nbf) = r.nbf {
        if nbf > now.saturating_add(v.leeway) {
            return err(
                ErrorKind::TokenNotYetValid,
                "the token is not valid yet (nbf)",
            );
        }
    }
    if let Some(iat) = r.iat {
        if iat > now.saturating_add(v.leeway) {
            return err(
                ErrorKind::TokenNotYetValid,
                "the token was issued in the future (iat)",
            );
        }
    }
    if !v.issuers.is_empty() {
        match &r.iss {
            None => {
                return err(
                    ErrorKind::MissingClaim,
                    "an issuer is required but `iss` is missing",
                )
            }
            Some(iss) if !v.issuers.iter().any(|i| i == iss) => {
                return err(ErrorKind::InvalidIssuer, "the issuer is not accepted")
            }
            _ => {}
        }
    }
    if v.audiences.is_empty() {
        if r.aud.is_some() && !v.accept_any_audience {
            return err(
                ErrorKind::InvalidAudience,
                "the token names an audience but none is configured here: name this \
                 service's audience (or opt out with accept_any_audience)",
            );
        }
    } else {
        match &r.aud {
            None => {
                return err(
                    ErrorKind::MissingClaim,
                    "an audience is required but `aud` is missing",
                )
            }
            Some(aud) if !aud.contains_any(&v.audiences) => {
                return err(
                    ErrorKind::InvalidAudience,
                    "the token is not for this audience",
                )
            }
            _ => {}
        }
    }
    if let Some(subject) = &v.subject {
        if r.sub.as_deref() != Some(subject.as_str()) {
            return err(ErrorKind::InvalidClaim, "the subject does not match");
        }
    }
    let text = |c: &Option<Cow<str>>| c.as_ref().map(|v| Text::of(v, &payload));
    let claims = Claims {
        iss: text(&r.iss),
        sub: text(&r.sub),
        jti: text(&r.jti),
        scope: text(&r.scope),
        aud: r.aud.as_ref().map(|a| match a {
            RawAudience::One(v) => Audience::One(Text::of(v, &payload)),
            RawAudience::Many(vs) => {
                Audience::Many(vs.iter().map(|v| Text::of(v, &payload)).collect())
            }
        }),
        exp: r.exp,
        nbf: r.nbf,
        iat: r.iat,
        json: String::new(),
    };
    drop(r);
    // Moving the String does not move its heap buffer, so the spans stay valid.
    let claims = Claims {
        json: payload,
        ..claims
    };
    if !claims.has_all_scopes(&v.required_scopes) {
        return err(
            ErrorKind::InsufficientScope,
            "the token lacks a required scope",
        );
    }
    Ok(claims)
}

/// Checks that claims about to be signed have the types verification will demand, so
/// this library never mints a token it would itself reject as malformed.
pub(crate) fn check_before_signing(claims: &Map<String, Value>) -> Result<()> {
    for name in ["exp", "nbf", "iat"] {
        if let Some(value) = claims.get(name) {
            match value.as_u64() {
                Some(t) if t <= MAX_NUMERIC_DATE => {}
                _ => {
                    return err(
                        ErrorKind::InvalidClaim,
                        format!("claim `{name}` must be an integer NumericDate"),
                    )
                }
            }
        }
    }
    for name in ["iss", "sub", "jti", "scope"] {
        if matches!(claims.get(name), Some(v) if !v.is_string()) {
            return err(
                ErrorKind::InvalidClaim,
                format!("claim `{name}` must be a string"),
            );
        }
    }
    match claims.get("aud") {
        None | Some(Value::String(_)) => Ok(()),
        Some(Value::Array(items)) if items.iter().all(Value::is_string) => Ok(()),
        Some(_) => err(
            ErrorKind::InvalidClaim,
            "claim `aud` must be a string or array of strings",
        ),
    }
}

/// The `typ` header check of RFC 7515 §4.1.9: case-insensitive, `application/` optional.
pub(crate) fn typ_matches(found: Option<&str>, expected: &str) -> bool {
    fn bare(t: &str) -> &str {
        match t.get(..12) {
            Some(p) if p.eq_ignore_ascii_case("application/") => &t[12..],
            _ => t,
        }
    }
    found.is_some_and(|f| bare(f).eq_ignore_ascii_case(bare(expected)))
}

/// Parses the claims of a token without verifying anything, for display ("peek").
pub(crate) fn peek(payload: String) -> Result<Claims> {
    let v = Validation {
        required_claims: Vec::new(),
        leeway: u64::MAX,
        accept_any_audience: true,
        ..Validation::default()
    };
    validate(payload, &v, 0)
}

/// The JOSE header fields the verifier reads. A member that is present must have its type:
/// `"kid": null`, `"typ": null` and `"crit": null` are malformed, not "absent" (RFC 7515
/// §4.1 defines each as a string or an array; a null one is no header a signer meant).
#[derive(Deserialize)]
pub(crate) struct Header<'a> {
    #[serde(borrow)]
    pub alg: Cow<'a, str>,
    #[serde(borrow, default, deserialize_with = "present_text")]
    pub typ: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "present_text")]
    pub kid: Option<Cow<'a, str>>,
    #[serde(default, deserialize_with = "present_any")]
    pub crit: Option<IgnoredAny>,
}

/// A string member that is present: `null` is an error (serde's `Option` would read it as absent).
fn present_text<'de: 'a, 'a, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Cow<'a, str>>, D::Error> {
    struct Text;
    impl<'de> serde::de::Visitor<'de> for Text {
        type Value = Cow<'de, str>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a string")
        }
        // Borrowed from the header when it has no escapes: no allocation on the hot path.
        fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Cow<'de, str>, E> {
            Ok(Cow::Borrowed(v))
        }
        fn visit_str<E>(self, v: &str) -> Result<Cow<'de, str>, E> {
            Ok(Cow::Owned(v.to_string()))
        }
        fn visit_string<E>(self, v: String) -> Result<Cow<'de, str>, E> {
            Ok(Cow::Owned(v))
        }
    }
    d.deserialize_str(Text).map(Some)
}

/// A member of any type that is present: `null` is an error.
fn present_any<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<IgnoredAny>, D::Error> {
    struct NotNull;
    impl<'de> serde::de::Visitor<'de> for NotNull {
        type Value = IgnoredAny;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a value other than null")
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<IgnoredAny, E> {
            Err(E::custom("null"))
        }
        fn visit_none<E: serde::de::Error>(self) -> Result<IgnoredAny, E> {
            Err(E::custom("null"))
        }
        fn visit_bool<E>(self, _: bool) -> Result<IgnoredAny, E> {
            Ok(IgnoredAny)
        }
        fn visit_i64<E>(self, _: i64) -> Result<IgnoredAny, E> {
            Ok(IgnoredAny)
        }
        fn visit_u64<E>(self, _: u64) -> Result<IgnoredAny, E> {
            Ok(IgnoredAny)
        }
        fn visit_f64<E>(self, _: f64) -> Result<IgnoredAny, E> {
            Ok(IgnoredAny)
        }
        fn visit_str<E>(self, _: &str) -> Result<IgnoredAny, E> {
            Ok(IgnoredAny)
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<IgnoredAny, A::Error> {
            IgnoredAny.visit_seq(seq)
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<IgnoredAny, A::Error> {
            IgnoredAny.visit_map(map)
        }
    }
    d.deserialize_any(NotNull).map(Some)
}
