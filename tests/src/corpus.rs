//! Images made by the tests: ordinary photos, photos as phones write them
//! (EXIF orientation, capture time, GPS), and hostile files.

use std::io::Cursor;

use sha2::Digest;

pub fn sha(bytes: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(bytes))
}

pub fn plain_jpeg(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([
            (x * 7 % 256) as u8,
            (y * 3 % 256) as u8,
            ((x + y) % 256) as u8,
        ])
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85)
        .encode_image(&img)
        .unwrap();
    out
}

/// A little-endian TIFF/EXIF block: orientation, capture time with offset, GPS.
pub fn exif_block(orientation: u16, lat: (u32, u32, u32), lon: (u32, u32, u32)) -> Vec<u8> {
    struct Ifd {
        entries: Vec<(u16, u16, u32, Vec<u8>)>,
    }
    fn layout(ifd: &Ifd, at: u32) -> (Vec<u8>, u32) {
        // entries, next-IFD pointer, then out-of-line values
        let head = 2 + ifd.entries.len() as u32 * 12 + 4;
        let mut data_at = at + head;
        let mut head_bytes = (ifd.entries.len() as u16).to_le_bytes().to_vec();
        let mut tail: Vec<u8> = Vec::new();
        for (tag, ty, count, val) in &ifd.entries {
            head_bytes.extend(tag.to_le_bytes());
            head_bytes.extend(ty.to_le_bytes());
            head_bytes.extend(count.to_le_bytes());
            if val.len() <= 4 {
                let mut v = val.clone();
                v.resize(4, 0);
                head_bytes.extend(v);
            } else {
                head_bytes.extend(data_at.to_le_bytes());
                tail.extend(val);
                data_at += val.len() as u32;
            }
        }
        head_bytes.extend(0u32.to_le_bytes());
        head_bytes.extend(tail);
        let len = head_bytes.len() as u32;
        (head_bytes, len)
    }
    fn rationals(d: (u32, u32, u32)) -> Vec<u8> {
        [d.0, 1, d.1, 1, d.2, 1]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect()
    }
    let ascii = |s: &str| {
        let mut v = s.as_bytes().to_vec();
        v.push(0);
        v
    };
    let exif_ifd = Ifd {
        entries: vec![
            (0x9003, 2, 20, ascii("2026:11:27 10:30:00")),
            (0x9011, 2, 7, ascii("+08:00")),
        ],
    };
    let gps_ifd = Ifd {
        entries: vec![
            (0x0001, 2, 2, ascii("N")),
            (0x0002, 5, 3, rationals(lat)),
            (0x0003, 2, 2, ascii("E")),
            (0x0004, 5, 3, rationals(lon)),
        ],
    };
    // IFD0: orientation, Exif pointer, GPS pointer (pointers patched below).
    let ifd0_len = 2 + 3 * 12 + 4;
    let exif_at = 8 + ifd0_len;
    let (exif_bytes, exif_len) = layout(&exif_ifd, exif_at);
    let gps_at = exif_at + exif_len;
    let (gps_bytes, _) = layout(&gps_ifd, gps_at);
    let ifd0 = Ifd {
        entries: vec![
            (0x0112, 3, 1, orientation.to_le_bytes().to_vec()),
            (0x8769, 4, 1, exif_at.to_le_bytes().to_vec()),
            (0x8825, 4, 1, gps_at.to_le_bytes().to_vec()),
        ],
    };
    let (ifd0_bytes, _) = layout(&ifd0, 8);
    let mut tiff = b"II*\0".to_vec();
    tiff.extend(8u32.to_le_bytes());
    tiff.extend(ifd0_bytes);
    tiff.extend(exif_bytes);
    tiff.extend(gps_bytes);
    tiff
}

/// A JPEG as a phone writes it: EXIF with orientation 6 (rotate 90°),
/// capture time and GPS.
pub fn phone_jpeg(w: u32, h: u32) -> Vec<u8> {
    let jpeg = plain_jpeg(w, h);
    let tiff = exif_block(6, (30, 15, 0), (120, 9, 36));
    let mut app1 = vec![0xFF, 0xE1];
    app1.extend(((tiff.len() + 8) as u16).to_be_bytes());
    app1.extend(b"Exif\0\0");
    app1.extend(tiff);
    let mut out = jpeg[..2].to_vec();
    out.extend(app1);
    out.extend(&jpeg[2..]);
    out
}

/// A tiny PNG whose header claims 100,000 × 100,000 pixels.
pub fn pixel_flood_png() -> Vec<u8> {
    let img = image::RgbImage::new(8, 8);
    let mut png = Vec::new();
    img.write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    // IHDR data starts at 16: width, height (big-endian), then the CRC at 29.
    png[16..20].copy_from_slice(&100_000u32.to_be_bytes());
    png[20..24].copy_from_slice(&100_000u32.to_be_bytes());
    let crc = crc32fast::hash(&png[12..29]);
    png[29..33].copy_from_slice(&crc.to_be_bytes());
    png
}

/// A small JPEG whose frame header claims 60,000 × 60,000 pixels.
pub fn huge_header_jpeg() -> Vec<u8> {
    let mut j = plain_jpeg(16, 16);
    let sof = j.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
    // marker, length(2), precision(1), height(2), width(2)
    j[sof + 5..sof + 7].copy_from_slice(&60_000u16.to_be_bytes());
    j[sof + 7..sof + 9].copy_from_slice(&60_000u16.to_be_bytes());
    j
}

/// A deterministic photo-like JPEG: gradients with sensor-like noise, so it
/// compresses like a camera picture rather than a flat test card.
pub fn noisy_jpeg(w: u32, h: u32, seed: u32) -> Vec<u8> {
    let mut state = seed.wrapping_mul(2_654_435_761).max(1);
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let n = (state % 24) as i32 - 12;
        let base = |v: u32, m: u32| ((v * 255 / m) as i32 + n).clamp(0, 255) as u8;
        image::Rgb([base(x, w), base(y, h), base((x + y) / 2, (w + h) / 2)])
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
        .encode_image(&img)
        .unwrap();
    out
}
