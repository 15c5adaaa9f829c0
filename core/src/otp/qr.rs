//! QR codes of provisioning URIs, as SVG, PNG and terminal text. The `qrcode` crate lays
//! out the modules; the three renderings are written here so the core needs no image
//! library.

use std::fmt::Write as _;

use crate::error::{err, ErrorKind, Result};

/// Light modules around the code, as the QR specification requires.
const QUIET_ZONE: usize = 4;
/// A narrower margin for terminals, where space is short and contrast is high.
const TEXT_QUIET_ZONE: usize = 2;
/// The largest pixels-per-module accepted for PNG and SVG.
pub const MAX_SCALE: u32 = 64;

/// A QR code's modules (`true` = dark), at error-correction level M.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrCode {
    width: usize,
    dark: Vec<bool>,
}

fn check_scale(scale: u32) -> Result<usize> {
    if !(1..=MAX_SCALE).contains(&scale) {
        return err(
            ErrorKind::InvalidInput,
            format!("the scale must be 1 to {MAX_SCALE} pixels per module"),
        );
    }
    Ok(scale as usize)
}

impl QrCode {
    pub fn new(text: &str) -> Result<Self> {
        let code = qrcode::QrCode::with_error_correction_level(text, qrcode::EcLevel::M).or_else(
            |_| {
                err(
                    ErrorKind::InvalidInput,
                    "the text is too long for a QR code",
                )
            },
        )?;
        Ok(QrCode {
            width: code.width(),
            dark: code
                .to_colors()
                .into_iter()
                .map(|c| c == qrcode::Color::Dark)
                .collect(),
        })
    }

    /// Modules per side, without the quiet zone.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Whether the module at (`x`, `y`) is dark; the quiet zone and beyond are light.
    pub fn is_dark(&self, x: usize, y: usize) -> bool {
        x < self.width && y < self.width && self.dark[y * self.width + x]
    }

    /// With `margin` light modules on every side: is (`x`, `y`) dark?
    fn dark_with_margin(&self, x: usize, y: usize, margin: usize) -> bool {
        x >= margin && y >= margin && self.is_dark(x - margin, y - margin)
    }

    /// An SVG document, `scale` pixels per module, black on white, one path per code.
    pub fn to_svg(&self, scale: u32) -> Result<String> {
        let scale = check_scale(scale)?;
        let side = self.width + 2 * QUIET_ZONE;
        let mut path = String::new();
        for y in 0..self.width {
            let mut x = 0;
            while x < self.width {
                if !self.is_dark(x, y) {
                    x += 1;
                    continue;
                }
                let start = x;
                while x < self.width && self.is_dark(x, y) {
                    x += 1;
                }
                let _ = write!(
                    path,
                    "M{},{}h{}v1h-{}z",
                    start + QUIET_ZONE,
                    y + QUIET_ZONE,
                    x - start,
                    x - start
                );
            }
        }
        let px = side * scale;
        Ok(format!(
            concat!(
                r#"<svg xmlns="http://www.w3.org/2000/svg" width="{px}" height="{px}" "#,
                r#"viewBox="0 0 {side} {side}" shape-rendering="crispEdges">"#,
                r##"<rect width="{side}" height="{side}" fill="#fff"/>"##,
                r##"<path d="{path}" fill="#000"/></svg>"##
            ),
            px = px,
            side = side,
            path = path
        ))
    }

    /// A PNG image (1-bit grayscale), `scale` pixels per module.
    pub fn to_png(&self, scale: u32) -> Result<Vec<u8>> {
        let scale = check_scale(scale)?;
        let side = self.width + 2 * QUIET_ZONE;
        let px = side * scale;
        let row_bytes = px.div_ceil(8);
        let mut raw = Vec::with_capacity((row_bytes + 1) * px);
        let mut row = vec![0u8; row_bytes];
        for y in 0..side {
            row.fill(0);
            for x in 0..px {
                // Grayscale 1-bit: 1 is white.
                if !self.dark_with_margin(x / scale, y, QUIET_ZONE) {
                    row[x / 8] |= 0x80 >> (x % 8);
                }
            }
            for _ in 0..scale {
                raw.push(0); // filter type: none
                raw.extend_from_slice(&row);
            }
        }
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut header = Vec::with_capacity(13);
        header.extend_from_slice(&(px as u32).to_be_bytes());
        header.extend_from_slice(&(px as u32).to_be_bytes());
        // Bit depth 1, colour type 0 (grayscale), deflate, adaptive filtering, no interlace.
        header.extend_from_slice(&[1, 0, 0, 0, 0]);
        png_chunk(&mut png, b"IHDR", &header);
        png_chunk(
            &mut png,
            b"IDAT",
            &miniz_oxide::deflate::compress_to_vec_zlib(&raw, 9),
        );
        png_chunk(&mut png, b"IEND", &[]);
        Ok(png)
    }

    /// Text for a terminal: two module rows per line with half-block characters. Light
    /// modules are drawn, so the code reads correctly on a dark terminal background.
    pub fn to_text(&self) -> String {
        let side = self.width + 2 * TEXT_QUIET_ZONE;
        let light = |x: usize, y: usize| y < side && !self.dark_with_margin(x, y, TEXT_QUIET_ZONE);
        let mut out = String::with_capacity((side + 1) * side.div_ceil(2) * 3);
        for y in (0..side).step_by(2) {
            for x in 0..side {
                out.push(match (light(x, y), light(x, y + 1)) {
                    (true, true) => '█',
                    (true, false) => '▀',
                    (false, true) => '▄',
                    (false, false) => ' ',
                });
            }
            out.push('\n');
        }
        out
    }
}

fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// CRC-32 (ISO 3309, as PNG uses), bitwise: images here are small.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_check_value() {
        // The standard check value of CRC-32 over "123456789".
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }
}
