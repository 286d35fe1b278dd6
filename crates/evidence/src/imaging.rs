//! Photo processing: recognise the format by its bytes, read the header before
//! anything is decoded, decode with explicit limits, read capture time and GPS,
//! and re-encode `preview` and `thumb` with no metadata at all.

use std::io::Cursor;
use std::sync::Arc;

use fast_image_resize as fir;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits, RgbImage};
use tokio::sync::Semaphore;

pub use anjian_domain::photo::{MAX_BYTES, MAX_PIXELS};
/// Longest edge of `preview`.
pub const PREVIEW_EDGE: u32 = 1600;
/// Longest edge of `thumb`.
pub const THUMB_EDGE: u32 = 320;
/// Most memory one decode may allocate: 50 MP as RGBA8, with room for a
/// little decoder state. Deeper pixel formats of that size are refused.
pub const MAX_DECODE_BYTES: u64 = 256 * 1024 * 1024;

/// The formats accepted, recognised by magic bytes, never by a declared type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Jpeg,
    Png,
    WebP,
}

impl Format {
    /// The format these bytes start with, if it is one we accept.
    pub fn sniff(bytes: &[u8]) -> Option<Format> {
        if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(Format::Jpeg)
        } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(Format::Png)
        } else if bytes.len() >= 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
            Some(Format::WebP)
        } else {
            None
        }
    }

    /// The true content type.
    pub fn mime(self) -> &'static str {
        match self {
            Format::Jpeg => "image/jpeg",
            Format::Png => "image/png",
            Format::WebP => "image/webp",
        }
    }

    fn image_format(self) -> ImageFormat {
        match self {
            Format::Jpeg => ImageFormat::Jpeg,
            Format::Png => ImageFormat::Png,
            Format::WebP => ImageFormat::WebP,
        }
    }
}

/// Why bytes were refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ImageError {
    /// Not JPEG, PNG or WebP, or not decodable as what it claims to be.
    #[error("not an image: {0}")]
    NotAnImage(String),
    /// Over the size, pixel or allocation caps.
    #[error("image too large: {0}")]
    TooLarge(String),
}

/// What the header tells before decoding.
#[derive(Debug, Clone, Copy)]
pub struct Header {
    pub format: Format,
    pub width: u32,
    pub height: u32,
    /// Bytes the decoded image and its conversion to RGB take.
    pub decode_bytes: u64,
}

/// Capture time as the camera wrote it: local time and, when recorded, its UTC offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TakenAt {
    pub local: chrono::NaiveDateTime,
    pub offset_minutes: Option<i16>,
}

/// The result of processing one photo.
#[derive(Debug, Clone)]
pub struct Processed {
    pub format: Format,
    /// As displayed: after EXIF orientation.
    pub width: u32,
    pub height: u32,
    pub taken_at: Option<TakenAt>,
    /// `(lat, lon)` in degrees.
    pub gps: Option<(f64, f64)>,
    /// JPEG, long edge at most [`PREVIEW_EDGE`], no metadata.
    pub preview: Vec<u8>,
    /// JPEG, long edge at most [`THUMB_EDGE`], no metadata.
    pub thumb: Vec<u8>,
}

fn decode_err(e: image::ImageError) -> ImageError {
    match e {
        image::ImageError::Limits(l) => ImageError::TooLarge(l.to_string()),
        other => ImageError::NotAnImage(other.to_string()),
    }
}

fn limits() -> Limits {
    let mut l = Limits::default();
    l.max_image_width = Some(65_535);
    l.max_image_height = Some(65_535);
    l.max_alloc = Some(MAX_DECODE_BYTES);
    l
}

fn reader(bytes: &[u8], format: Format) -> ImageReader<Cursor<&[u8]>> {
    let mut r = ImageReader::with_format(Cursor::new(bytes), format.image_format());
    r.limits(limits());
    r
}

/// Reads the format and dimensions and refuses what is over the caps,
/// without decoding any pixel.
pub fn inspect(bytes: &[u8]) -> Result<Header, ImageError> {
    if bytes.is_empty() {
        return Err(ImageError::NotAnImage("empty".into()));
    }
    if bytes.len() as u64 > MAX_BYTES {
        return Err(ImageError::TooLarge(format!("{} bytes", bytes.len())));
    }
    let format = Format::sniff(bytes)
        .ok_or_else(|| ImageError::NotAnImage("unrecognised signature".into()))?;
    let decoder = reader(bytes, format).into_decoder().map_err(decode_err)?;
    let (width, height) = decoder.dimensions();
    let pixels = u64::from(width) * u64::from(height);
    if pixels == 0 {
        return Err(ImageError::NotAnImage("zero dimension".into()));
    }
    if pixels > MAX_PIXELS {
        return Err(ImageError::TooLarge(format!("{width}×{height}")));
    }
    if format == Format::Jpeg && !jpeg_complete(bytes) {
        return Err(ImageError::NotAnImage("truncated JPEG".into()));
    }
    let total = decoder.total_bytes();
    if total > MAX_DECODE_BYTES {
        return Err(ImageError::TooLarge(format!("{total} bytes decoded")));
    }
    let rgb = pixels * 3;
    let decode_bytes = if total == rgb { total } else { total + rgb };
    Ok(Header {
        format,
        width,
        height,
        decode_bytes,
    })
}

/// Whether a JPEG runs from SOI through its scans to an EOI marker. Decoders
/// fill in a cut-off scan with grey rather than fail, and evidence that was
/// cut off in transit must not pass as a photo.
fn jpeg_complete(b: &[u8]) -> bool {
    let mut i = 2; // after SOI
    while i + 1 < b.len() {
        if b[i] != 0xFF {
            return false;
        }
        let marker = b[i + 1];
        match marker {
            0xFF => i += 1, // fill byte
            0xD9 => return true,
            0x01 | 0xD0..=0xD7 => i += 2,
            _ => {
                let Some(len) = b
                    .get(i + 2..i + 4)
                    .map(|l| usize::from(u16::from_be_bytes([l[0], l[1]])))
                else {
                    return false;
                };
                i += 2 + len;
                if marker == 0xDA {
                    // Entropy-coded data: ends at a marker other than a
                    // stuffed zero or a restart marker.
                    loop {
                        match (b.get(i), b.get(i + 1)) {
                            (Some(0xFF), Some(0x00 | 0xD0..=0xD7)) => i += 2,
                            (Some(0xFF), Some(_)) => break,
                            (Some(_), _) => i += 1,
                            (None, _) => return false,
                        }
                    }
                }
            }
        }
    }
    false
}

/// What verification learns of accepted bytes, without decoding a pixel.
#[derive(Debug, Clone, Copy)]
pub struct Checked {
    pub format: Format,
    /// As displayed: after EXIF orientation.
    pub width: u32,
    pub height: u32,
    pub taken_at: Option<TakenAt>,
    /// `(lat, lon)` in degrees.
    pub gps: Option<(f64, f64)>,
}

/// Verifies bytes as a photo: a known format, dimensions within the caps, a
/// JPEG complete from SOI to EOI, and what its EXIF says. Reads headers and
/// markers only (about a millisecond for a phone photo), so it runs before
/// the upload is acknowledged; the variants are made later.
pub fn verify(bytes: &[u8]) -> Result<Checked, ImageError> {
    let header = inspect(bytes)?;
    let meta = read_exif(bytes);
    let (width, height) = oriented(&header, &meta);
    Ok(Checked {
        format: header.format,
        width,
        height,
        taken_at: meta.taken_at,
        gps: meta.gps,
    })
}

/// Width and height as displayed, after EXIF orientation.
fn oriented(header: &Header, meta: &Meta) -> (u32, u32) {
    if matches!(meta.orientation, Some(5..=8)) {
        (header.height, header.width)
    } else {
        (header.width, header.height)
    }
}

/// Decodes (through the path that checks the allocation limit), orients,
/// resizes and re-encodes. CPU-bound: call it from a blocking thread.
pub fn process(bytes: &[u8]) -> Result<Processed, ImageError> {
    process_inspected(bytes, inspect(bytes)?)
}

/// [`process`] for bytes [`inspect`] already passed.
fn process_inspected(bytes: &[u8], header: Header) -> Result<Processed, ImageError> {
    let meta = read_exif(bytes);
    let scaled = match header.format {
        Format::Jpeg => decode_jpeg_scaled(bytes, &header),
        _ => None,
    };
    let (preview, thumb) = SCRATCH.with_borrow_mut(|scratch| {
        let preview = match scaled {
            Some(img) => scratch.fit(img.as_raw(), img.dimensions(), PREVIEW_EDGE)?,
            None => scratch.decoded(bytes, header.format, PREVIEW_EDGE)?,
        };
        let thumb = scratch.fit(preview.as_raw(), preview.dimensions(), THUMB_EDGE)?;
        Ok::<_, ImageError>((preview, thumb))
    })?;
    let orientation = meta
        .orientation
        .and_then(image::metadata::Orientation::from_exif)
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let (width, height) = oriented(&header, &meta);
    Ok(Processed {
        format: header.format,
        width,
        height,
        taken_at: meta.taken_at,
        gps: meta.gps,
        preview: encode(preview, orientation, 82)?,
        thumb: encode(thumb, orientation, 75)?,
    })
}

/// A JPEG at least twice as large as the preview, decoded straight from its
/// DCT coefficients at 1/2, 1/4 or 1/8 of its size — the smallest scale whose
/// long edge still reaches [`PREVIEW_EDGE`] — which skips most of the decode
/// and of the resize. `None` where that does not apply (small photos, CMYK)
/// or fails: the caller decodes at full size, with its limits.
fn decode_jpeg_scaled(bytes: &[u8], header: &Header) -> Option<RgbImage> {
    let long = header.width.max(header.height);
    if long < 2 * PREVIEW_EDGE {
        return None;
    }
    let want = |side: u32| {
        u16::try_from((u64::from(side) * u64::from(PREVIEW_EDGE)).div_ceil(u64::from(long))).ok()
    };
    let mut d = jpeg_decoder::Decoder::new(bytes);
    d.set_max_decoding_buffer_size(usize::try_from(MAX_DECODE_BYTES).ok()?);
    let (w, h) = d.scale(want(header.width)?, want(header.height)?).ok()?;
    let pixels = d.decode().ok()?;
    let format = d.info()?.pixel_format;
    let (w, h) = (u32::from(w), u32::from(h));
    match format {
        jpeg_decoder::PixelFormat::RGB24 => RgbImage::from_raw(w, h, pixels),
        jpeg_decoder::PixelFormat::L8 => {
            RgbImage::from_raw(w, h, pixels.iter().flat_map(|&l| [l, l, l]).collect())
        }
        _ => None,
    }
}

/// RGB8, with any transparency flattened onto white (a transparent pixel
/// must not turn black in a JPEG).
fn to_rgb(img: DynamicImage) -> RgbImage {
    if !img.color().has_alpha() {
        return img.into_rgb8();
    }
    let rgba = img.into_rgba8();
    let (w, h) = rgba.dimensions();
    let mut out = RgbImage::new(w, h);
    for (o, p) in out.pixels_mut().zip(rgba.pixels()) {
        let a = u32::from(p.0[3]);
        for c in 0..3 {
            let v = u32::from(p.0[c]) * a + 255 * (255 - a);
            o.0[c] = (v / 255) as u8;
        }
    }
    out
}

/// Decoded pixels up to this size are decoded into a buffer its thread keeps
/// for the next photo (a phone photo of 2048×1536 is 9 MiB); larger ones get
/// a buffer of their own, freed after use.
const KEPT_PIXEL_BYTES: usize = 16 * 1024 * 1024;

thread_local! {
    /// What a processing thread keeps between photos: a fresh buffer of
    /// several MiB per photo costs as much in page faults as the resize.
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch::default());
}

#[derive(Default)]
struct Scratch {
    pixels: Vec<u8>,
    resizer: fir::Resizer,
}

impl Scratch {
    /// Decodes at full size and fits the long edge to `edge`. An opaque RGB
    /// image (every JPEG but a grey one) is decoded into the kept buffer.
    fn decoded(&mut self, bytes: &[u8], format: Format, edge: u32) -> Result<RgbImage, ImageError> {
        let decoder = reader(bytes, format).into_decoder().map_err(decode_err)?;
        let total = usize::try_from(decoder.total_bytes()).unwrap_or(usize::MAX);
        if decoder.color_type() != image::ColorType::Rgb8 || total > KEPT_PIXEL_BYTES {
            let img = to_rgb(DynamicImage::from_decoder(decoder).map_err(decode_err)?);
            return self.fit(img.as_raw(), img.dimensions(), edge);
        }
        let dims = decoder.dimensions();
        let mut pixels = std::mem::take(&mut self.pixels);
        pixels.resize(total, 0);
        let read = decoder.read_image(&mut pixels).map_err(decode_err);
        let fitted = read.and_then(|()| self.fit(&pixels, dims, edge));
        self.pixels = pixels;
        fitted
    }

    /// Scales RGB pixels of `w`×`h` so the long edge is at most `edge`;
    /// never enlarges.
    fn fit(&mut self, src: &[u8], (w, h): (u32, u32), edge: u32) -> Result<RgbImage, ImageError> {
        let long = w.max(h);
        if long <= edge {
            return RgbImage::from_raw(w, h, src.to_vec())
                .ok_or_else(|| ImageError::NotAnImage("pixel buffer".into()));
        }
        let scale = f64::from(edge) / f64::from(long);
        let dw = ((f64::from(w) * scale).round() as u32).max(1);
        let dh = ((f64::from(h) * scale).round() as u32).max(1);
        let src_view = fir::images::ImageRef::new(w, h, src, fir::PixelType::U8x3)
            .map_err(|e| ImageError::NotAnImage(e.to_string()))?;
        let mut dst = fir::images::Image::new(dw, dh, fir::PixelType::U8x3);
        // A filter fit for the ratio: Catmull-Rom keeps a mild reduction
        // sharp at two thirds of Lanczos' cost; past 2:1 a triangle, widened
        // by the ratio, averages the many source pixels of each one.
        let filter = if long > 2 * edge {
            fir::FilterType::Bilinear
        } else {
            fir::FilterType::CatmullRom
        };
        let opts = fir::ResizeOptions::new().resize_alg(fir::ResizeAlg::Convolution(filter));
        self.resizer
            .resize(&src_view, &mut dst, &opts)
            .map_err(|e| ImageError::NotAnImage(e.to_string()))?;
        RgbImage::from_raw(dw, dh, dst.into_vec())
            .ok_or_else(|| ImageError::NotAnImage("resize buffer".into()))
    }
}

/// Baseline JPEG of the pixels alone: a JFIF header and the scan, no EXIF,
/// no ICC profile, no comments.
fn encode(
    img: RgbImage,
    orientation: image::metadata::Orientation,
    quality: u8,
) -> Result<Vec<u8>, ImageError> {
    let mut img = DynamicImage::ImageRgb8(img);
    img.apply_orientation(orientation);
    let img = img.into_rgb8();
    let (w, h) = img.dimensions();
    let (w16, h16) = u16::try_from(w)
        .ok()
        .zip(u16::try_from(h).ok())
        .ok_or_else(|| ImageError::TooLarge(format!("{w}×{h} variant")))?;
    let mut out = Vec::with_capacity(64 * 1024);
    jpeg_encoder::Encoder::new(&mut out, quality)
        .encode(img.as_raw(), w16, h16, jpeg_encoder::ColorType::Rgb)
        .map_err(|e| ImageError::NotAnImage(e.to_string()))?;
    Ok(out)
}

#[derive(Debug, Default)]
struct Meta {
    orientation: Option<u8>,
    taken_at: Option<TakenAt>,
    gps: Option<(f64, f64)>,
}

/// EXIF orientation, capture time and position; anything unreadable is absent.
fn read_exif(bytes: &[u8]) -> Meta {
    use exif::{In, Tag, Value};
    let Ok(ex) = exif::Reader::new().read_from_container(&mut Cursor::new(bytes)) else {
        return Meta::default();
    };
    let orientation = ex
        .get_field(Tag::Orientation, In::PRIMARY)
        .and_then(|f| f.value.get_uint(0))
        .and_then(|v| u8::try_from(v).ok())
        .filter(|v| (1..=8).contains(v));
    let ascii = |tag| match ex.get_field(tag, In::PRIMARY).map(|f| &f.value) {
        Some(Value::Ascii(v)) => v.first().cloned(),
        _ => None,
    };
    let taken_at = ascii(Tag::DateTimeOriginal)
        .or_else(|| ascii(Tag::DateTime))
        .and_then(|raw| {
            let mut dt = exif::DateTime::from_ascii(&raw).ok()?;
            if let Some(off) = ascii(Tag::OffsetTimeOriginal).or_else(|| ascii(Tag::OffsetTime)) {
                let _ = dt.parse_offset(&off);
            }
            let date = chrono::NaiveDate::from_ymd_opt(
                i32::from(dt.year),
                u32::from(dt.month),
                u32::from(dt.day),
            )?;
            let local = date.and_hms_opt(
                u32::from(dt.hour),
                u32::from(dt.minute),
                u32::from(dt.second),
            )?;
            Some(TakenAt {
                local,
                offset_minutes: dt.offset,
            })
        });
    let coord = |tag, reference, negative: &[u8]| -> Option<f64> {
        let f = ex.get_field(tag, In::PRIMARY)?;
        let Value::Rational(parts) = &f.value else {
            return None;
        };
        if parts.len() < 3 || parts.iter().any(|r| r.denom == 0) {
            return None;
        }
        let deg = parts[0].to_f64() + parts[1].to_f64() / 60.0 + parts[2].to_f64() / 3600.0;
        let sign = match ascii(reference) {
            Some(r) if r.first().is_some_and(|c| negative.contains(c)) => -1.0,
            _ => 1.0,
        };
        Some(deg * sign)
    };
    let gps = coord(Tag::GPSLatitude, Tag::GPSLatitudeRef, b"Ss")
        .zip(coord(Tag::GPSLongitude, Tag::GPSLongitudeRef, b"Ww"))
        .filter(|(lat, lon)| lat.abs() <= 90.0 && lon.abs() <= 180.0);
    Meta {
        orientation,
        taken_at,
        gps,
    }
}

/// Runs [`process`] on blocking threads, with the memory of decodes in flight
/// bounded: each takes permits for the mebibytes it will allocate, so many
/// small photos run side by side and one huge photo runs alone.
#[derive(Debug, Clone)]
pub struct Processor {
    budget: Arc<Semaphore>,
    budget_mib: u32,
    /// Bytes read back for verification, held apart from the decode budget so
    /// that one stage never waits on the other.
    inbound: Arc<Semaphore>,
    /// Where the variants are made.
    background: Background,
}

/// A job for a background thread.
type Job = Box<dyn FnOnce() + Send>;

/// Threads that make variants at a lower CPU priority than the threads
/// answering requests: on a busy machine acknowledgements come first and the
/// variants use what is left (about an eighth of a core each while requests
/// keep every core busy, all of it when they stop). One per core.
#[derive(Debug, Clone)]
struct Background {
    jobs: std::sync::mpsc::Sender<Job>,
}

/// The priority of variant threads: niceness 9 (of -20 … 19).
const BACKGROUND_PRIORITY: u8 = 23;

impl Background {
    fn new() -> Background {
        let (jobs, queue) = std::sync::mpsc::channel::<Job>();
        let queue = Arc::new(std::sync::Mutex::new(queue));
        let threads = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        for n in 0..threads {
            let queue = queue.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("anjian-variants-{n}"))
                .spawn(move || {
                    lower_priority();
                    loop {
                        // The lock is held only to take the next job.
                        let job = match queue.lock() {
                            Ok(q) => q.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(),
                            // Every sender is gone: the processor was dropped.
                            Err(_) => return,
                        }
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "variant thread not started");
            }
        }
        Background { jobs }
    }

    /// Runs `f` on a background thread; `None` if none is left to run it.
    async fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.jobs
            .send(Box::new(move || {
                let _ = tx.send(f());
            }))
            .ok()?;
        rx.await.ok()
    }
}

/// Lowers the calling thread's CPU priority; where the system refuses, the
/// thread runs at the normal priority.
fn lower_priority() {
    use thread_priority::{ThreadPriority, ThreadPriorityValue};
    let Ok(value) = ThreadPriorityValue::try_from(BACKGROUND_PRIORITY) else {
        return;
    };
    if let Err(e) =
        thread_priority::set_current_thread_priority(ThreadPriority::Crossplatform(value))
    {
        tracing::warn!(error = ?e, "variant thread keeps the normal priority");
    }
}

impl Processor {
    /// `budget_mib`: decode memory allowed in flight at once.
    pub fn new(budget_mib: u32) -> Processor {
        let budget_mib = budget_mib.max(1);
        Processor {
            budget: Arc::new(Semaphore::new(budget_mib as usize)),
            budget_mib,
            inbound: Arc::new(Semaphore::new(budget_mib as usize)),
            background: Background::new(),
        }
    }

    /// Permits for `bytes` of memory: whole MiB, at least one, at most the
    /// budget (so an allocation larger than the budget runs alone).
    fn permits(&self, bytes: u64) -> u32 {
        u32::try_from(bytes.div_ceil(1024 * 1024))
            .unwrap_or(u32::MAX)
            .clamp(1, self.budget_mib)
    }

    /// Waits until `size` bytes of uploads may be held in memory for
    /// verification; the permit is held until the bytes are dropped.
    pub async fn admit(&self, size: u64) -> Option<tokio::sync::OwnedSemaphorePermit> {
        // `None` only if the semaphore were closed, which it never is.
        self.inbound
            .clone()
            .acquire_many_owned(self.permits(size))
            .await
            .ok()
    }

    /// Inspects, waits for its share of the budget, then processes on a
    /// background thread.
    pub async fn run(&self, bytes: bytes::Bytes) -> Result<Processed, ImageError> {
        let header = inspect(&bytes)?;
        // The decoded image, and some room for the variants and the decoder.
        let want = self.permits(header.decode_bytes + 8 * 1024 * 1024);
        let permit = self
            .budget
            .clone()
            .acquire_many_owned(want)
            .await
            .map_err(|_| ImageError::NotAnImage("processor closed".into()))?;
        self.background
            .run(move || {
                let r = process_inspected(&bytes, header);
                drop(permit);
                r
            })
            .await
            .ok_or_else(|| ImageError::NotAnImage("processing thread gone".into()))?
    }
}

impl Default for Processor {
    fn default() -> Self {
        Processor::new(256)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_photo_is_a_valid_jpeg_and_its_seed_decides_its_bytes() -> Result<(), ImageError>
    {
        let a = synthetic_photo(7, Scene::Finding)?;
        assert_eq!(a, synthetic_photo(7, Scene::Finding)?);
        assert_ne!(a, synthetic_photo(8, Scene::Finding)?);
        assert_ne!(a, synthetic_photo(7, Scene::Fixed)?);
        let checked = verify(&a)?;
        assert_eq!((checked.width, checked.height), (480, 360));
        process(&synthetic_photo(9, Scene::Fixed)?)?;
        Ok(())
    }

    fn jpeg(w: u32, h: u32) -> Vec<u8> {
        let img = RgbImage::from_fn(w, h, |x, y| {
            image::Rgb([(x % 256) as u8, (y % 256) as u8, 90])
        });
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
            .encode_image(&img)
            .unwrap();
        out
    }

    #[test]
    fn sniffs_by_magic_bytes() {
        assert_eq!(Format::sniff(&jpeg(4, 4)), Some(Format::Jpeg));
        assert_eq!(Format::sniff(b"<html><script>"), None);
        assert_eq!(Format::sniff(b""), None);
        assert_eq!(Format::sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some(Format::WebP));
    }

    #[test]
    fn variants_fit_their_edges() {
        let p = process(&jpeg(2000, 1000)).unwrap();
        assert_eq!((p.width, p.height), (2000, 1000));
        let prev = image::load_from_memory(&p.preview).unwrap();
        assert_eq!((prev.width(), prev.height()), (1600, 800));
        let th = image::load_from_memory(&p.thumb).unwrap();
        assert_eq!((th.width(), th.height()), (320, 160));
    }

    #[test]
    fn a_large_jpeg_decoded_at_scale_keeps_its_picture_and_fits_its_edges() {
        // Dark on the left, bright on the right, 3400 px wide: decoded at 1/2.
        let (w, h) = (3400, 2000);
        let img = RgbImage::from_fn(w, h, |x, _| {
            let v = (x * 255 / w) as u8;
            image::Rgb([v, v, v])
        });
        let mut bytes = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 90)
            .encode_image(&img)
            .unwrap();
        let header = inspect(&bytes).unwrap();
        let half = decode_jpeg_scaled(&bytes, &header).unwrap();
        assert_eq!(half.dimensions(), (1700, 1000));
        let p = process(&bytes).unwrap();
        assert_eq!((p.width, p.height), (3400, 2000));
        let prev = image::load_from_memory(&p.preview).unwrap().into_rgb8();
        assert_eq!(prev.dimensions(), (1600, 941));
        let (left, right) = (prev.get_pixel(10, 470).0[0], prev.get_pixel(1590, 470).0[0]);
        assert!(left < 10 && right > 245, "{left} {right}");
        let th = image::load_from_memory(&p.thumb).unwrap();
        assert_eq!((th.width(), th.height()), (320, 188));
        // Below twice the preview's edge there is nothing to gain.
        assert!(
            decode_jpeg_scaled(&jpeg(3000, 2000), &inspect(&jpeg(3000, 2000)).unwrap()).is_none()
        );
    }

    #[test]
    fn a_cut_off_jpeg_is_not_an_image() {
        let whole = jpeg(300, 200);
        assert!(jpeg_complete(&whole));
        for cut in [whole.len() - 2, whole.len() / 2, 40] {
            assert!(!jpeg_complete(&whole[..cut]), "cut at {cut}");
            assert!(matches!(
                inspect(&whole[..cut]),
                Err(ImageError::NotAnImage(_))
            ));
        }
        let mut trailing = whole.clone();
        trailing.extend(b"<html>");
        assert!(jpeg_complete(&trailing));
    }

    #[test]
    fn webp_and_transparent_png_become_opaque_jpeg_variants() {
        let rgba = image::RgbaImage::from_fn(400, 300, |x, _| {
            image::Rgba([200, 30, 30, if x < 200 { 0 } else { 255 }])
        });
        let mut webp = Vec::new();
        image::codecs::webp::WebPEncoder::new_lossless(&mut webp)
            .encode(rgba.as_raw(), 400, 300, image::ExtendedColorType::Rgba8)
            .unwrap();
        let mut png = Vec::new();
        rgba.write_to(&mut Cursor::new(&mut png), ImageFormat::Png)
            .unwrap();
        for (bytes, format) in [(webp, Format::WebP), (png, Format::Png)] {
            let p = process(&bytes).unwrap();
            assert_eq!(p.format, format);
            let prev = image::load_from_memory(&p.preview).unwrap().into_rgb8();
            // Transparent pixels turn white, not black.
            let left = prev.get_pixel(10, 150).0;
            assert!(left.iter().all(|c| *c > 240), "{format:?}: {left:?}");
            let right = prev.get_pixel(390, 150).0;
            assert!(right[0] > 150 && right[1] < 80, "{format:?}: {right:?}");
        }
    }

    #[test]
    fn a_header_over_the_pixel_cap_is_refused_before_decoding() {
        let mut png = Vec::new();
        RgbImage::new(8, 8)
            .write_to(&mut Cursor::new(&mut png), ImageFormat::Png)
            .unwrap();
        // 8000 × 8000 = 64 MP, under the 65535 edge limit, over the 50 MP cap.
        png[16..20].copy_from_slice(&8000u32.to_be_bytes());
        png[20..24].copy_from_slice(&8000u32.to_be_bytes());
        let crc = crc32fast::hash(&png[12..29]);
        png[29..33].copy_from_slice(&crc.to_be_bytes());
        assert!(matches!(inspect(&png), Err(ImageError::TooLarge(_))));
    }

    #[test]
    fn small_images_are_not_enlarged() {
        let p = process(&jpeg(100, 50)).unwrap();
        let prev = image::load_from_memory(&p.preview).unwrap();
        assert_eq!((prev.width(), prev.height()), (100, 50));
    }
}

/// What a generated site photo shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scene {
    /// A finding: cluttered, with yellow-and-black warning stripes.
    Finding,
    /// A fix: tidy, with a green sign.
    Fixed,
}

/// A deterministic 480×360 JPEG standing in for a site photo (the demo
/// history): a wall and a floor with boxes on it, drawn from `seed`, so that
/// different seeds give different bytes and the same seed the same bytes.
pub fn synthetic_photo(seed: u64, scene: Scene) -> Result<Vec<u8>, ImageError> {
    const W: u32 = 480;
    const H: u32 = 360;
    let mut state = seed ^ 0x5DEE_CE66_D1CE_4E5B;
    let mut next = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) as u32
    };
    let mut px = vec![0u8; (W * H * 3) as usize];
    // Fills a rectangle (clipped to the picture) with one colour.
    let rect = |px: &mut [u8], (x0, y0, w, h): (u32, u32, u32, u32), c: [u8; 3]| {
        let (x1, y1) = ((x0 + w).min(W), (y0 + h).min(H));
        for y in y0.min(H)..y1 {
            let row = (y * W * 3) as usize;
            for x in x0.min(W)..x1 {
                let i = row + (x * 3) as usize;
                px[i..i + 3].copy_from_slice(&c);
            }
        }
    };
    let horizon = H * 3 / 5 + next() % 30;
    let wall = [
        190 + (next() % 40) as u8,
        185 + (next() % 40) as u8,
        170 + (next() % 50) as u8,
    ];
    let floor = [
        110 + (next() % 50) as u8,
        110 + (next() % 40) as u8,
        105 + (next() % 30) as u8,
    ];
    // Wall and floor in vertical bands, darker towards the edges.
    for band in 0..16u32 {
        let shade = 255 - (band.abs_diff(8) * 5) as u8;
        let dim = |c: [u8; 3]| c.map(|v| (u16::from(v) * u16::from(shade) / 255) as u8);
        rect(&mut px, (band * W / 16, 0, W / 16, horizon), dim(wall));
        rect(
            &mut px,
            (band * W / 16, horizon, W / 16, H - horizon),
            dim(floor),
        );
    }
    let boxes = 3 + next() % 4;
    for i in 0..boxes {
        let w = 40 + next() % 70;
        let h = 30 + next() % 80;
        let (x, y) = match scene {
            // Lined up along the wall.
            Scene::Fixed => (15 + i * (W - 30) / boxes, horizon.saturating_sub(h / 3)),
            Scene::Finding => (next() % (W - w), horizon - 20 + next() % (H - horizon)),
        };
        let tone = [
            90 + (next() % 120) as u8,
            70 + (next() % 90) as u8,
            40 + (next() % 60) as u8,
        ];
        rect(&mut px, (x, y, w, h), tone);
    }
    match scene {
        Scene::Finding => {
            let y0 = horizon + 15 + next() % 45;
            for k in 0..16u32 {
                let c = if k % 2 == 0 {
                    [230, 190, 20]
                } else {
                    [25, 25, 25]
                };
                rect(&mut px, (k * 30, y0, 30, 10), c);
            }
        }
        Scene::Fixed => {
            let x = 30 + next() % (W - 150);
            rect(&mut px, (x, 30, 90, 45), [20, 130, 70]);
            rect(&mut px, (x + 15, 47, 60, 10), [240, 240, 240]);
        }
    }
    // A little sensor noise, so that no two photos share their bytes.
    for _ in 0..1_500 {
        let i = ((next() % H) * W * 3 + (next() % W) * 3) as usize;
        px[i] = px[i].wrapping_add((next() % 9) as u8);
    }
    let img = RgbImage::from_raw(W, H, px)
        .ok_or_else(|| ImageError::NotAnImage("generated pixels".into()))?;
    encode(img, image::metadata::Orientation::NoTransforms, 80)
}
