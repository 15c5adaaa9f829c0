//! Reading arguments and files, writing secret files.

use std::io::Read;
use std::path::Path;

use crate::Failure;

/// The most read from a file or stdin: far more than any key, token or test payload.
const MAX_INPUT_BYTES: u64 = 16 * 1024 * 1024;

/// Whether an argument reads stdin: `-`, or `@path` naming the file stdin is (however it
/// is spelled: `@/dev/stdin`, `@/dev//stdin`, `@/proc/thread-self/fd/0`, a FIFO stdin
/// reads), which two arguments cannot share.
pub fn reads_stdin(arg: &str) -> bool {
    if arg == "-" {
        return true;
    }
    let Some(path) = arg.strip_prefix('@') else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let id = |p: &str| std::fs::metadata(p).ok().map(|m| (m.dev(), m.ino()));
        match (id(path), id("/dev/stdin")) {
            (Some(a), Some(b)) => return a == b,
            (None, _) => return false,
            (Some(_), None) => {}
        }
    }
    matches!(path, "/dev/stdin" | "/dev/fd/0" | "/proc/self/fd/0")
}

/// A value given as text, `-` (stdin) or `@path` (a file's contents).
pub fn value(arg: &str) -> Result<Vec<u8>, Failure> {
    if arg == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .take(MAX_INPUT_BYTES)
            .read_to_end(&mut buf)
            .map_err(|e| Failure::Io(format!("reading stdin: {e}")))?;
        return Ok(buf);
    }
    match arg.strip_prefix('@') {
        Some(path) => file(Path::new(path)),
        None => Ok(arg.as_bytes().to_vec()),
    }
}

/// A secret given as `hex:…`, `base64:…` (standard or URL-safe alphabet, padding optional),
/// `@path`, `-` (stdin) or text (its UTF-8 bytes, as PyJWT and jose take a string secret).
/// From a file or stdin, a UTF-8 text secret loses one trailing line ending (`\n` or
/// `\r\n`); other bytes are kept whole. Text that looks like hex gets a note on stderr:
/// `openssl rand -hex` output is taken as text unless written `hex:…`.
pub fn secret(arg: &str, what: &str) -> Result<Vec<u8>, Failure> {
    let bad = |encoding: &str| Failure::Input(format!("the {what} is not valid {encoding}"));
    if let Some(hex) = arg.strip_prefix("hex:") {
        return decode_hex(hex.trim()).ok_or_else(|| bad("hex"));
    }
    if let Some(b64) = arg
        .strip_prefix("base64:")
        .or_else(|| arg.strip_prefix("base64url:"))
    {
        let b64: String = b64
            .trim()
            .trim_end_matches('=')
            .chars()
            .map(|c| match c {
                '+' => '-',
                '/' => '_',
                c => c,
            })
            .collect();
        return authgate_core::util::b64url_decode(b64.as_bytes()).ok_or_else(|| bad("base64"));
    }
    let mut bytes = value(arg)?;
    if arg == "-" || arg.starts_with('@') {
        // A text file or `echo` leaves a line ending after the secret; it is not part of
        // it. Bytes that are not UTF-8 (a binary key file) are taken whole.
        if std::str::from_utf8(&bytes).is_ok() && bytes.ends_with(b"\n") {
            bytes.pop();
            if bytes.ends_with(b"\r") {
                bytes.pop();
            }
        }
    }
    let looks_hex =
        bytes.len() >= 32 && bytes.len() % 2 == 0 && bytes.iter().all(u8::is_ascii_hexdigit);
    if looks_hex {
        crate::note(&format!(
            "note: the {what} is used as text (its {} characters as bytes); if it is hex, \
             write hex:… to use the {} bytes it encodes",
            bytes.len(),
            bytes.len() / 2
        ));
    }
    Ok(bytes)
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Like [`value`], as UTF-8 text without a trailing newline (as `echo` and files leave it).
pub fn text(arg: &str, what: &str) -> Result<String, Failure> {
    let bytes = value(arg)?;
    let text = String::from_utf8(bytes)
        .map_err(|_| Failure::Input(format!("the {what} is not UTF-8 text")))?;
    Ok(text.trim_end_matches(['\n', '\r']).to_string())
}

pub fn file(path: &Path) -> Result<Vec<u8>, Failure> {
    let f =
        std::fs::File::open(path).map_err(|e| Failure::Io(format!("{}: {e}", path.display())))?;
    let mut buf = Vec::new();
    f.take(MAX_INPUT_BYTES)
        .read_to_end(&mut buf)
        .map_err(|e| Failure::Io(format!("{}: {e}", path.display())))?;
    Ok(buf)
}

pub fn file_text(path: &Path, what: &str) -> Result<String, Failure> {
    String::from_utf8(file(path)?)
        .map_err(|_| Failure::Input(format!("the {what} is not UTF-8 text")))
}

/// Writes a secret to a new file readable by its owner only; refuses to overwrite one.
pub fn write_secret(path: &Path, content: &str) -> Result<(), Failure> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options
        .open(path)
        .map_err(|e| Failure::Io(format!("{}: {e}", path.display())))?;
    f.write_all(content.as_bytes())
        .map_err(|e| Failure::Io(format!("{}: {e}", path.display())))
}

/// Seconds from `90`, `90s`, `15m`, `12h` or `7d` (for clap).
pub fn duration(text: &str) -> Result<u64, String> {
    let (digits, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("`{text}` is not a duration like 90, 90s, 15m, 12h or 7d"))?;
    let unit = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("`{text}`: the unit must be s, m, h or d")),
    };
    n.checked_mul(unit)
        .ok_or_else(|| format!("`{text}` is too long"))
}

pub fn now() -> u64 {
    use authgate_core::clock::{Clock, SystemClock};
    SystemClock.now()
}

#[cfg(test)]
mod tests {
    use super::duration;

    #[test]
    fn durations() {
        assert_eq!(duration("90"), Ok(90));
        assert_eq!(duration("15m"), Ok(900));
        assert_eq!(duration("2h"), Ok(7200));
        assert_eq!(duration("7d"), Ok(604_800));
        assert!(duration("").is_err());
        assert!(duration("5w").is_err());
        assert!(duration("m").is_err());
        assert!(duration("99999999999999999999d").is_err());
    }
}
