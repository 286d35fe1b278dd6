//! What a photo may be: one set of limits for the declaration, the upload and
//! the image checks.

/// Largest photo accepted, in bytes.
pub const MAX_BYTES: u64 = 25 * 1024 * 1024;
/// Largest photo accepted, in pixels.
pub const MAX_PIXELS: u64 = 50_000_000;
/// Types a photo may be declared as (the bytes decide the true one).
pub const CONTENT_TYPES: [&str; 3] = ["image/jpeg", "image/png", "image/webp"];
