//! Passwords: a policy that reports every broken rule (not only the first), and argon2id
//! hashing into PHC strings with OWASP's parameters, verification, `needs_rehash` when the
//! parameters change, and an optional pepper (argon2's secret input, kept outside the
//! database).

use std::cell::RefCell;
use std::collections::HashSet;
use std::sync::OnceLock;

use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use authgate_argon2_avx512::{self as argon2_avx512, WorkArea};

use unicode_normalization::UnicodeNormalization;

use crate::error::{err, Error, ErrorKind, Result};
use crate::util::random_bytes;

/// The most context words (user name, e-mail, …) a policy check takes.
pub const MAX_CONTEXT_WORDS: usize = 16;
/// The longest context word, in bytes.
pub const MAX_CONTEXT_WORD_BYTES: usize = 256;
/// Context words shorter than this (in characters) are ignored: too many passwords contain
/// two letters of a name by chance.
pub const MIN_CONTEXT_WORD_CHARS: usize = 3;

/// The password as it is hashed and checked: its NFKC form (NIST SP 800-63B §5.1.1.2), so
/// the same password typed on another keyboard or system (`é` as one code point or as `e`
/// plus a combining accent) is the same password.
pub fn normalize(password: &str) -> String {
    password.nfkc().collect()
}

static COMMON: &[u8] = include_bytes!("../data/common-passwords.txt.gz");

/// The body of a gzip member (RFC 1952): the header's optional fields skipped, the deflate
/// data inflated. `None` for anything else.
fn gunzip(data: &[u8]) -> Option<Vec<u8>> {
    let (&[0x1f, 0x8b, 8, flags], rest) = data.split_first_chunk::<4>()? else {
        return None;
    };
    let mut rest = rest.get(6..)?; // mtime, extra flags, OS
    if flags & 4 != 0 {
        let (len, tail) = rest.split_first_chunk::<2>()?;
        rest = tail.get(usize::from(u16::from_le_bytes(*len))..)?;
    }
    for bit in [8, 16] {
        if flags & bit != 0 {
            let end = rest.iter().position(|&b| b == 0)?;
            rest = &rest[end + 1..];
        }
    }
    if flags & 2 != 0 {
        rest = rest.get(2..)?;
    }
    let body = rest.get(..rest.len().checked_sub(8)?)?;
    miniz_oxide::inflate::decompress_to_vec(body).ok()
}

fn common_passwords() -> &'static HashSet<String> {
    static SET: OnceLock<HashSet<String>> = OnceLock::new();
    SET.get_or_init(|| {
        let text = gunzip(COMMON).unwrap_or_default();
        String::from_utf8_lossy(&text)
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect()
    })
}

/// Whether `password` (compared in its NFKC form, ignoring case) is on the built-in list of
/// 19,646 common passwords (Django's list; see `core/data/README.md`).
pub fn is_common_password(password: &str) -> bool {
    common_passwords().contains(&normalize(password).to_lowercase())
}

/// How many passwords the built-in list holds.
pub fn common_password_count() -> usize {
    common_passwords().len()
}

/// The longest password accepted, in bytes: longer input is refused before any hashing,
/// so nobody can make the server hash megabytes.
pub const MAX_PASSWORD_BYTES: usize = 4096;
/// OWASP's argon2id recommendation (Password Storage Cheat Sheet): 19 MiB, 2 passes, 1 lane.
pub const DEFAULT_MEMORY_KIB: u32 = 19 * 1024;
pub const DEFAULT_ITERATIONS: u32 = 2;
pub const DEFAULT_PARALLELISM: u32 = 1;
/// The largest parameters accepted, in a hash read or a hasher made: a hash claiming
/// more (4 TiB of memory, a billion passes) would exhaust the server, not protect anyone.
pub const MAX_MEMORY_KIB: u32 = 256 * 1024;
pub const MAX_ITERATIONS: u32 = 16;
pub const MAX_PARALLELISM: u32 = 16;
/// The shortest pepper accepted, in bytes.
pub const MIN_PEPPER_BYTES: usize = 16;
/// The longest PHC string read.
const MAX_PHC_BYTES: usize = 512;
/// Work areas up to this size (in 1 KiB blocks) are kept per thread and reused.
const REUSED_BLOCKS: usize = 64 * 1024;

thread_local! {
    /// argon2's work area (19 MiB with the defaults), kept per thread: allocating and
    /// faulting in fresh memory for every hash is about a third of its time.
    static WORK_AREA: RefCell<Option<WorkArea>> = const { RefCell::new(None) };
}

/// What argon2 is asked for: the algorithm, version and parameters, with the pepper.
struct Argon<'a> {
    algorithm: Algorithm,
    version: Version,
    params: &'a Params,
    pepper: Option<&'a [u8]>,
}

/// argon2 of `password` and `salt` into `out`, in this thread's reused work area (in huge
/// pages where Linux gives them). argon2id version 19, what authgate hashes with, runs the
/// AVX-512 compression where the CPU has it; everything else runs RustCrypto's `argon2`
/// (a test holds the two to the same output).
fn compute(argon: &Argon<'_>, password: &[u8], salt: &[u8], out: &mut [u8]) -> Result<()> {
    let need = argon.params.block_count();
    let no_memory = || Error::new(ErrorKind::Internal, "no memory for argon2's work area");
    if need > REUSED_BLOCKS {
        let mut area = WorkArea::new(need).ok_or_else(no_memory)?;
        return run(argon, password, salt, out, &mut area);
    }
    WORK_AREA.with(|cell| {
        let mut held = cell.borrow_mut();
        if held.as_ref().is_none_or(|area| area.len() < need) {
            *held = None;
            *held = Some(WorkArea::new(need).ok_or_else(no_memory)?);
        }
        let area = held.as_mut().ok_or_else(no_memory)?;
        run(argon, password, salt, out, &mut area[..need])
    })
}

fn run(
    argon: &Argon<'_>,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
    area: &mut [Block],
) -> Result<()> {
    let params = argon.params;
    if argon.algorithm == Algorithm::Argon2id
        && argon.version == Version::V0x13
        && argon2_avx512::hash_into(params, argon.pepper, password, salt, out, area).is_ok()
    {
        return Ok(());
    }
    let failed = |_| Error::new(ErrorKind::InvalidInput, "argon2 refused its inputs");
    let crate_argon = match argon.pepper {
        Some(p) => Argon2::new_with_secret(p, argon.algorithm, argon.version, params.clone())
            .map_err(|_| Error::new(ErrorKind::InvalidInput, "the pepper is too long"))?,
        None => Argon2::new(argon.algorithm, argon.version, params.clone()),
    };
    crate_argon
        .hash_password_into_with_memory(password, salt, out, area)
        .map_err(failed)
}

/// One broken rule: a stable code and a sentence for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// `too_short`, `too_long`, `missing_uppercase`, `missing_lowercase`, `missing_digit`,
    /// `missing_symbol`, `common_password` or `contains_user_info`.
    pub code: &'static str,
    pub message: String,
}

/// What a password must satisfy. `Default` is what our users' platforms ask for: at
/// least 8 characters, one capital letter and one digit; [`PasswordPolicy::nist`] is
/// NIST SP 800-63B: length only, plus a blocklist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordPolicy {
    /// In characters (Unicode code points).
    pub min_length: usize,
    pub max_length: usize,
    pub require_uppercase: bool,
    pub require_lowercase: bool,
    pub require_digit: bool,
    /// Anything that is not a letter or a digit.
    pub require_symbol: bool,
    /// Refuse the built-in list of common passwords (on in [`PasswordPolicy::nist`]).
    pub common_passwords: bool,
    /// Refused passwords (common or breached), compared ignoring case.
    blocklist: HashSet<String>,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        PasswordPolicy {
            min_length: 8,
            max_length: 128,
            require_uppercase: true,
            require_lowercase: false,
            require_digit: true,
            require_symbol: false,
            common_passwords: false,
            blocklist: HashSet::new(),
        }
    }
}

impl PasswordPolicy {
    /// NIST SP 800-63B: at least 8 characters, at most 64, no composition rules, and the
    /// built-in list of common passwords refused.
    pub fn nist() -> Self {
        PasswordPolicy {
            min_length: 8,
            max_length: 64,
            require_uppercase: false,
            require_digit: false,
            common_passwords: true,
            ..PasswordPolicy::default()
        }
    }

    /// The same policy refusing the built-in list of common passwords too.
    pub fn with_common_passwords(mut self) -> Self {
        self.common_passwords = true;
        self
    }

    /// Adds passwords to refuse (e.g. the app's list of common or breached ones).
    pub fn with_blocklist<I, S>(mut self, passwords: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.blocklist.extend(
            passwords
                .into_iter()
                .map(|p| normalize(p.as_ref()).to_lowercase()),
        );
        self
    }

    /// Every rule `password` breaks, in a fixed order; empty when it passes. The password
    /// is checked in its NFKC form ([`normalize`]), as it is hashed.
    pub fn check(&self, password: &str) -> Vec<Violation> {
        self.check_form(&normalize(password))
    }

    /// [`PasswordPolicy::check`], also refusing (`contains_user_info`) a password that
    /// contains, ignoring case, one of the `context` words — the user's name, username,
    /// e-mail address (its local part counts too) — of at least 3 characters. At most
    /// 16 words of at most 256 bytes (`invalid_input` otherwise).
    pub fn check_with_context<S: AsRef<str>>(
        &self,
        password: &str,
        context: &[S],
    ) -> Result<Vec<Violation>> {
        if context.len() > MAX_CONTEXT_WORDS
            || context
                .iter()
                .any(|w| w.as_ref().len() > MAX_CONTEXT_WORD_BYTES)
        {
            return err(
                ErrorKind::InvalidInput,
                format!(
                    "at most {MAX_CONTEXT_WORDS} context words of at most {MAX_CONTEXT_WORD_BYTES} bytes"
                ),
            );
        }
        let form = normalize(password);
        let mut out = self.check_form(&form);
        let lower = form.to_lowercase();
        let mut words = Vec::new();
        for w in context {
            let w = normalize(w.as_ref()).trim().to_lowercase();
            if let Some((local, _)) = w.split_once('@') {
                words.push(local.to_string());
            }
            words.push(w);
        }
        let hit = words
            .iter()
            .any(|w| w.chars().count() >= MIN_CONTEXT_WORD_CHARS && lower.contains(w.as_str()));
        if hit {
            out.push(Violation {
                code: "contains_user_info",
                message: "do not use your name, username or e-mail address in the password".into(),
            });
        }
        Ok(out)
    }

    /// [`PasswordPolicy::enforce`] with [`PasswordPolicy::check_with_context`]'s words.
    pub fn enforce_with_context<S: AsRef<str>>(&self, password: &str, context: &[S]) -> Result<()> {
        weak(self.check_with_context(password, context)?)
    }

    fn check_form(&self, password: &str) -> Vec<Violation> {
        let mut out = Vec::new();
        let mut v = |code: &'static str, message: String| out.push(Violation { code, message });
        let chars = password.chars().count();
        if chars < self.min_length {
            v(
                "too_short",
                format!("use at least {} characters", self.min_length),
            );
        }
        if chars > self.max_length || password.len() > MAX_PASSWORD_BYTES {
            v(
                "too_long",
                format!("use at most {} characters", self.max_length),
            );
        }
        if self.require_uppercase && !password.chars().any(char::is_uppercase) {
            v("missing_uppercase", "add a capital letter".into());
        }
        if self.require_lowercase && !password.chars().any(char::is_lowercase) {
            v("missing_lowercase", "add a lower-case letter".into());
        }
        if self.require_digit && !password.chars().any(|c| c.is_ascii_digit()) {
            v("missing_digit", "add a digit".into());
        }
        if self.require_symbol && password.chars().all(char::is_alphanumeric) {
            v("missing_symbol", "add a symbol".into());
        }
        let common = || {
            let lower = password.to_lowercase();
            self.blocklist.contains(&lower)
                || (self.common_passwords && common_passwords().contains(&lower))
        };
        if (!self.blocklist.is_empty() || self.common_passwords) && common() {
            v(
                "common_password",
                "this password is too common: choose another".into(),
            );
        }
        out
    }

    /// `Ok` when `password` passes; otherwise `weak_password`, naming every broken rule.
    pub fn enforce(&self, password: &str) -> Result<()> {
        weak(self.check(password))
    }
}

fn weak(broken: Vec<Violation>) -> Result<()> {
    if broken.is_empty() {
        return Ok(());
    }
    let codes: Vec<&'static str> = broken.iter().map(|b| b.code).collect();
    Err(Error::new(
        ErrorKind::WeakPassword,
        format!("the password breaks the policy: {}", codes.join(", ")),
    )
    .with_violations(codes))
}

/// The rules of a policy as bindings receive them: every `None` keeps the default
/// policy's value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PasswordRules {
    pub min_length: Option<usize>,
    pub max_length: Option<usize>,
    pub require_uppercase: Option<bool>,
    pub require_lowercase: Option<bool>,
    pub require_digit: Option<bool>,
    pub require_symbol: Option<bool>,
    pub common_passwords: Option<bool>,
    pub blocklist: Vec<String>,
}

impl From<PasswordRules> for PasswordPolicy {
    fn from(r: PasswordRules) -> Self {
        let d = PasswordPolicy::default();
        PasswordPolicy {
            min_length: r.min_length.unwrap_or(d.min_length),
            max_length: r.max_length.unwrap_or(d.max_length),
            require_uppercase: r.require_uppercase.unwrap_or(d.require_uppercase),
            require_lowercase: r.require_lowercase.unwrap_or(d.require_lowercase),
            require_digit: r.require_digit.unwrap_or(d.require_digit),
            require_symbol: r.require_symbol.unwrap_or(d.require_symbol),
            common_passwords: r.common_passwords.unwrap_or(d.common_passwords),
            blocklist: HashSet::new(),
        }
        .with_blocklist(r.blocklist)
    }
}

/// Hashes and verifies passwords with argon2id.
#[derive(Clone)]
pub struct PasswordHasher {
    params: Params,
    pepper: Option<Vec<u8>>,
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("memory_kib", &self.params.m_cost())
            .field("iterations", &self.params.t_cost())
            .field("parallelism", &self.params.p_cost())
            .field("pepper", &self.pepper.is_some())
            .finish()
    }
}

impl Default for PasswordHasher {
    fn default() -> Self {
        PasswordHasher {
            params: Params::new(
                DEFAULT_MEMORY_KIB,
                DEFAULT_ITERATIONS,
                DEFAULT_PARALLELISM,
                None,
            )
            .unwrap_or_default(),
            pepper: None,
        }
    }
}

fn invalid_hash() -> Error {
    Error::new(
        ErrorKind::InvalidInput,
        "the password hash is not an argon2 PHC string",
    )
}

fn check_password(password: &str) -> Result<()> {
    if password.len() > MAX_PASSWORD_BYTES {
        return err(
            ErrorKind::InvalidInput,
            format!("a password is at most {MAX_PASSWORD_BYTES} bytes"),
        );
    }
    Ok(())
}

impl PasswordHasher {
    /// With other argon2id parameters (memory in KiB, passes, lanes) and an optional pepper
    /// of at least 16 bytes. OWASP's minimum is 19 MiB with 2 passes, or 46 MiB with 1.
    pub fn new(
        memory_kib: u32,
        iterations: u32,
        parallelism: u32,
        pepper: Option<&[u8]>,
    ) -> Result<Self> {
        let params = Params::new(memory_kib, iterations, parallelism, None)
            .map_err(|e| {
                Error::new(
                    ErrorKind::InvalidInput,
                    format!("argon2 parameters out of range: {e}"),
                )
            })
            .and_then(bounded)?;
        if let Some(p) = pepper {
            if p.len() < MIN_PEPPER_BYTES {
                return err(
                    ErrorKind::WeakKey,
                    format!("a pepper must be at least {MIN_PEPPER_BYTES} bytes"),
                );
            }
        }
        Ok(PasswordHasher {
            params,
            pepper: pepper.map(<[u8]>::to_vec),
        })
    }

    /// The default parameters with a pepper.
    pub fn with_pepper(pepper: &[u8]) -> Result<Self> {
        PasswordHasher::new(
            DEFAULT_MEMORY_KIB,
            DEFAULT_ITERATIONS,
            DEFAULT_PARALLELISM,
            Some(pepper),
        )
    }

    fn argon2<'a>(
        &'a self,
        algorithm: Algorithm,
        version: Version,
        params: &'a Params,
    ) -> Argon<'a> {
        Argon {
            algorithm,
            version,
            params,
            pepper: self.pepper.as_deref(),
        }
    }

    /// The PHC string of `password` (its NFKC form: see [`normalize`]) with a new 16-byte
    /// salt from the OS CSPRNG: `$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`.
    pub fn hash(&self, password: &str) -> Result<String> {
        check_password(password)?;
        let password = normalize(password);
        let mut salt = [0u8; 16];
        random_bytes(&mut salt)?;
        let internal = |_| Error::new(ErrorKind::Internal, "could not encode the hash");
        let salt_text = SaltString::encode_b64(&salt).map_err(internal)?;
        let mut out = [0u8; 32];
        let argon = self.argon2(Algorithm::Argon2id, Version::V0x13, &self.params);
        compute(&argon, password.as_bytes(), &salt, &mut out)?;
        let phc = PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(&self.params).map_err(internal)?,
            salt: Some(salt_text.as_salt()),
            hash: Some(Output::new(&out).map_err(internal)?),
        };
        Ok(phc.to_string())
    }

    /// Whether `password` matches the PHC string `hash` (compared in constant time). The
    /// password is compared in its NFKC form ([`normalize`]); for hashes made before
    /// authgate normalised, a password whose typed form differs from its NFKC form is also
    /// tried as typed. The hash's own parameters are used, so hashes made before a
    /// parameter change still verify. Accepted for migration: `argon2i` and `argon2d`,
    /// version 16 (`v=16`, or no `v=`, which the reference implementation reads as 16);
    /// [`PasswordHasher::needs_rehash`] is true for them. Anything else — a missing `m`, `t`
    /// or `p`, an unknown parameter or version, no salt or output — is `invalid_input`
    /// naming the problem.
    pub fn verify(&self, password: &str, hash: &str) -> Result<bool> {
        check_password(password)?;
        let phc = parse_phc(hash)?;
        let form = normalize(password);
        if self.matches(&phc, form.as_bytes())? {
            return Ok(true);
        }
        if form != password {
            return self.matches(&phc, password.as_bytes());
        }
        Ok(false)
    }

    fn matches(&self, phc: &Phc<'_>, password: &[u8]) -> Result<bool> {
        let mut salt_buf = [0u8; 64];
        let salt = phc
            .salt
            .decode_b64(&mut salt_buf)
            .map_err(|_| malformed("its salt is not valid base64 of 8 to 64 bytes"))?;
        let mut out = [0u8; 64];
        let out = out
            .get_mut(..phc.output.len())
            .ok_or_else(|| malformed("its output is longer than 64 bytes"))?;
        let argon = self.argon2(phc.algorithm, phc.version, &phc.params);
        compute(&argon, password, salt, out)?;
        // `Output`'s equality is constant-time.
        Ok(Output::new(out).map_err(|_| malformed("its output is too short"))? == phc.output)
    }

    /// Whether `hash` was made with other parameters than this hasher's (or not with
    /// argon2id version 19): hash the password again after the next successful login.
    pub fn needs_rehash(&self, hash: &str) -> Result<bool> {
        let phc = parse_phc(hash)?;
        Ok(phc.algorithm != Algorithm::Argon2id
            || phc.version != Version::V0x13
            || phc.params.m_cost() != self.params.m_cost()
            || phc.params.t_cost() != self.params.t_cost()
            || phc.params.p_cost() != self.params.p_cost())
    }
}

fn bounded(params: Params) -> Result<Params> {
    if params.m_cost() > MAX_MEMORY_KIB
        || params.t_cost() > MAX_ITERATIONS
        || params.p_cost() > MAX_PARALLELISM
    {
        return err(
            ErrorKind::InvalidInput,
            format!(
                "argon2 parameters above the maximum ({MAX_MEMORY_KIB} KiB, {MAX_ITERATIONS} passes, {MAX_PARALLELISM} lanes)"
            ),
        );
    }
    Ok(params)
}

/// A PHC string, checked field by field.
struct Phc<'a> {
    algorithm: Algorithm,
    version: Version,
    params: Params,
    salt: argon2::password_hash::Salt<'a>,
    output: Output,
}

fn malformed(problem: &str) -> Error {
    Error::new(
        ErrorKind::InvalidInput,
        format!("the password hash is malformed: {problem}"),
    )
}

fn parse_phc(hash: &str) -> Result<Phc<'_>> {
    if hash.len() > MAX_PHC_BYTES {
        return Err(malformed("it is longer than 512 bytes"));
    }
    if !hash.starts_with('$') {
        return Err(invalid_hash());
    }
    let parsed = PasswordHash::new(hash)
        .map_err(|_| malformed("it is not `$argon2id$v=19$m=…,t=…,p=…$<salt>$<hash>`"))?;
    let algorithm = match parsed.algorithm.as_str() {
        "argon2id" => Algorithm::Argon2id,
        "argon2i" => Algorithm::Argon2i,
        "argon2d" => Algorithm::Argon2d,
        _ => {
            return Err(malformed(
                "its algorithm is not argon2id, argon2i or argon2d",
            ))
        }
    };
    // No `v=`: the reference implementation's first format, version 16.
    let version = match parsed.version {
        None | Some(0x10) => Version::V0x10,
        Some(0x13) => Version::V0x13,
        Some(_) => return Err(malformed("its version is not 19 (or 16)")),
    };
    for (name, _) in parsed.params.iter() {
        if !matches!(name.as_str(), "m" | "t" | "p") {
            return Err(malformed("it has a parameter other than m, t and p"));
        }
    }
    for name in ["m", "t", "p"] {
        if parsed.params.get(name).is_none() {
            return Err(match name {
                "m" => malformed("it has no `m` (memory) parameter"),
                "t" => malformed("it has no `t` (passes) parameter"),
                _ => malformed("it has no `p` (lanes) parameter"),
            });
        }
    }
    let params = Params::try_from(&parsed)
        .map_err(|_| malformed("its parameters are out of argon2's range"))
        .and_then(bounded)?;
    let salt = parsed.salt.ok_or_else(|| malformed("it has no salt"))?;
    let output = parsed.hash.ok_or_else(|| malformed("it has no output"))?;
    Ok(Phc {
        algorithm,
        version,
        params,
        salt,
        output,
    })
}
