//! Passwords: a policy that reports every broken rule (not only the first), and argon2id
//! hashing into PHC strings with OWASP's parameters, verification, `needs_rehash` when the
//! parameters change, and an optional pepper (argon2's secret input, kept outside the
//! database).

use std::cell::RefCell;
use std::collections::HashSet;

use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};

use crate::error::{err, Error, ErrorKind, Result};
use crate::util::random_bytes;

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
    static WORK_AREA: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// argon2 of `password` and `salt` into `out`, in this thread's reused work area.
fn compute(argon: &Argon2<'_>, password: &[u8], salt: &[u8], out: &mut [u8]) -> Result<()> {
    let need = argon.params().block_count();
    let failed = |_| Error::new(ErrorKind::InvalidInput, "argon2 refused its inputs");
    if need > REUSED_BLOCKS {
        let mut area = vec![Block::default(); need];
        return argon
            .hash_password_into_with_memory(password, salt, out, &mut area[..])
            .map_err(failed);
    }
    WORK_AREA.with(|cell| {
        let mut area = cell.borrow_mut();
        if area.len() < need {
            area.resize(need, Block::default());
        }
        argon
            .hash_password_into_with_memory(password, salt, out, &mut area[..need])
            .map_err(failed)
    })
}

/// One broken rule: a stable code and a sentence for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// `too_short`, `too_long`, `missing_uppercase`, `missing_lowercase`, `missing_digit`,
    /// `missing_symbol` or `common_password`.
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
            blocklist: HashSet::new(),
        }
    }
}

impl PasswordPolicy {
    /// NIST SP 800-63B: at least 8 characters, at most 64, no composition rules.
    pub fn nist() -> Self {
        PasswordPolicy {
            min_length: 8,
            max_length: 64,
            require_uppercase: false,
            require_digit: false,
            ..PasswordPolicy::default()
        }
    }

    /// Adds passwords to refuse (e.g. the app's list of common or breached ones).
    pub fn with_blocklist<I, S>(mut self, passwords: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.blocklist
            .extend(passwords.into_iter().map(|p| p.as_ref().to_lowercase()));
        self
    }

    /// Every rule `password` breaks, in a fixed order; empty when it passes.
    pub fn check(&self, password: &str) -> Vec<Violation> {
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
        if !self.blocklist.is_empty() && self.blocklist.contains(&password.to_lowercase()) {
            v(
                "common_password",
                "this password is too common: choose another".into(),
            );
        }
        out
    }

    /// `Ok` when `password` passes; otherwise `weak_password`, naming every broken rule.
    pub fn enforce(&self, password: &str) -> Result<()> {
        let broken = self.check(password);
        if broken.is_empty() {
            return Ok(());
        }
        let codes: Vec<&str> = broken.iter().map(|b| b.code).collect();
        err(
            ErrorKind::WeakPassword,
            format!("the password breaks the policy: {}", codes.join(", ")),
        )
    }
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

    fn argon2(&self, algorithm: Algorithm, version: Version, params: Params) -> Result<Argon2<'_>> {
        match &self.pepper {
            Some(p) => Argon2::new_with_secret(p, algorithm, version, params)
                .map_err(|_| Error::new(ErrorKind::InvalidInput, "the pepper is too long")),
            None => Ok(Argon2::new(algorithm, version, params)),
        }
    }

    /// The PHC string of `password` with a new 16-byte salt from the OS CSPRNG:
    /// `$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`.
    pub fn hash(&self, password: &str) -> Result<String> {
        check_password(password)?;
        let mut salt = [0u8; 16];
        random_bytes(&mut salt)?;
        let internal = |_| Error::new(ErrorKind::Internal, "could not encode the hash");
        let salt_text = SaltString::encode_b64(&salt).map_err(internal)?;
        let mut out = [0u8; 32];
        let argon = self.argon2(Algorithm::Argon2id, Version::V0x13, self.params.clone())?;
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
    /// hash's own parameters are used, so hashes made before a parameter change still
    /// verify. A string that is not an argon2 PHC string is `invalid_input`.
    pub fn verify(&self, password: &str, hash: &str) -> Result<bool> {
        check_password(password)?;
        let parsed = parse_phc(hash)?;
        let params = Params::try_from(&parsed)
            .map_err(|_| invalid_hash())
            .and_then(bounded)?;
        let algorithm = Algorithm::try_from(parsed.algorithm).map_err(|_| invalid_hash())?;
        let version = parsed
            .version
            .map_or(Ok(Version::V0x13), Version::try_from)
            .map_err(|_| invalid_hash())?;
        let (salt, expected) = match (parsed.salt, parsed.hash) {
            (Some(salt), Some(hash)) => (salt, hash),
            _ => return Err(invalid_hash()),
        };
        let mut salt_buf = [0u8; 64];
        let salt = salt.decode_b64(&mut salt_buf).map_err(|_| invalid_hash())?;
        let mut out = [0u8; 64];
        let out = out.get_mut(..expected.len()).ok_or_else(invalid_hash)?;
        let argon = self.argon2(algorithm, version, params)?;
        compute(&argon, password.as_bytes(), salt, out).map_err(|_| invalid_hash())?;
        // `Output`'s equality is constant-time.
        Ok(Output::new(out).map_err(|_| invalid_hash())? == expected)
    }

    /// Whether `hash` was made with other parameters than this hasher's (or not with
    /// argon2id v19): hash the password again after the next successful login.
    pub fn needs_rehash(&self, hash: &str) -> Result<bool> {
        let parsed = parse_phc(hash)?;
        let params = Params::try_from(&parsed).map_err(|_| invalid_hash())?;
        Ok(parsed.algorithm != Algorithm::Argon2id.ident()
            || parsed.version != Some(Version::V0x13.into())
            || params.m_cost() != self.params.m_cost()
            || params.t_cost() != self.params.t_cost()
            || params.p_cost() != self.params.p_cost())
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

fn parse_phc(hash: &str) -> Result<PasswordHash<'_>> {
    if hash.len() > MAX_PHC_BYTES {
        return Err(invalid_hash());
    }
    let parsed = PasswordHash::new(hash).map_err(|_| invalid_hash())?;
    if Algorithm::try_from(parsed.algorithm).is_err() {
        return Err(invalid_hash());
    }
    Ok(parsed)
}
