//! `redirector qr URL --out FILE.svg|png`: a QR code for a link, for sellers to print.
//!
//! Error correction level M (15 % of the code may be damaged), a quiet zone of four
//! modules as the standard asks. SVG is drawn as one path; PNG is a 1-bit greyscale
//! image written here (zlib "stored" blocks: a QR code is small, and this keeps the
//! tool free of an image library).

use qrcode::{Color, EcLevel, QrCode};

const QUIET: usize = 4;

/// The code's modules, dark = true, with the quiet zone, row by row.
fn modules(data: &str) -> Result<(usize, Vec<bool>), String> {
    let code = QrCode::with_error_correction_level(data.as_bytes(), EcLevel::M).map_err(|e| format!("cannot encode as a QR code: {e}"))?;
    let w = code.width();
    let colors = code.to_colors();
    let size = w + 2 * QUIET;
    let mut out = vec![false; size * size];
    for y in 0..w {
        for x in 0..w {
            out[(y + QUIET) * size + x + QUIET] = colors[y * w + x] == Color::Dark;
        }
    }
    Ok((size, out))
}

/// An SVG document, `scale` pixels per module.
pub fn svg(data: &str, scale: usize) -> Result<String, String> {
    let (size, dark) = modules(data)?;
    let mut path = String::new();
    for (i, _) in dark.iter().enumerate().filter(|(_, d)| **d) {
        path.push_str(&format!("M{} {}h1v1h-1z", i % size, i / size));
    }
    let px = size * scale;
    Ok(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{px}\" height=\"{px}\" viewBox=\"0 0 {size} {size}\" shape-rendering=\"crispEdges\">\
<rect width=\"{size}\" height=\"{size}\" fill=\"#fff\"/><path fill=\"#000\" d=\"{path}\"/></svg>\n"
    ))
}

/// A PNG image, `scale` pixels per module, 1 bit per pixel.
pub fn png(data: &str, scale: usize) -> Result<Vec<u8>, String> {
    let (size, dark) = modules(data)?;
    let px = size * scale;
    let row_bytes = px.div_ceil(8);
    let mut raw = Vec::with_capacity((row_bytes + 1) * px);
    for y in 0..px {
        raw.push(0); // filter: none
        let mut row = vec![0u8; row_bytes];
        for x in 0..px {
            // 1 = white in greyscale; dark modules stay 0.
            if !dark[(y / scale) * size + x / scale] {
                row[x / 8] |= 0x80 >> (x % 8);
            }
        }
        raw.extend_from_slice(&row);
    }
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&(px as u32).to_be_bytes());
    ihdr.extend_from_slice(&(px as u32).to_be_bytes());
    ihdr.extend_from_slice(&[1, 0, 0, 0, 0]); // bit depth 1, greyscale, deflate, filter 0, no interlace
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &zlib_stored(&raw));
    chunk(&mut out, b"IEND", &[]);
    Ok(out)
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// zlib stream of uncompressed ("stored") deflate blocks.
fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    let mut blocks = data.chunks(65_535).peekable();
    if blocks.peek().is_none() {
        out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    while let Some(block) = blocks.next() {
        out.push(u8::from(blocks.peek().is_none()));
        let len = block.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(block);
    }
    out.extend_from_slice(&adler32(data).to_be_bytes());
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xedb8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &x in data {
        a = (a + u32::from(x)) % 65_521;
        b = (b + a) % 65_521;
    }
    (b << 16) | a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_match_known_values() {
        assert_eq!(crc32(b"IEND"), 0xae42_6082, "the CRC every PNG ends with");
        assert_eq!(adler32(b"Wikipedia"), 0x11e6_0398);
    }

    #[test]
    fn a_code_has_finder_patterns_and_a_quiet_zone() {
        let (size, dark) = modules("https://go.example.com/summer").unwrap();
        assert_eq!(size, 29 + 2 * QUIET, "version 3 for a URL this long, at level M");
        let at = |x: usize, y: usize| dark[(y + QUIET) * size + x + QUIET];
        // The top-left finder: a dark 7x7 ring around a light ring around a dark 3x3.
        assert!((0..7).all(|i| at(i, 0) && at(0, i) && at(i, 6) && at(6, i)));
        assert!((1..6).all(|i| !at(i, 1) && !at(1, i)));
        assert!(at(3, 3));
        assert!((0..size).all(|i| !dark[i] && !dark[i * size]), "quiet zone");
    }

    #[test]
    fn png_and_svg_are_well_formed() {
        let png = png("https://go.example.com/x", 4).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(&png[12..16], b"IHDR");
        let px = u32::from_be_bytes(png[16..20].try_into().unwrap());
        assert_eq!(px, (25 + 8) * 4, "version 2");
        assert!(png.ends_with(&[0, 0, 0, 0, b'I', b'E', b'N', b'D', 0xae, 0x42, 0x60, 0x82]));
        let svg = svg("https://go.example.com/x", 8).unwrap();
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"264\""));
        assert!(modules(&"x".repeat(5000)).is_err(), "too long for any QR code: an error, not a panic");
    }
}
