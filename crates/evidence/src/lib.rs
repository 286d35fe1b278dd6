//! Photo evidence: the object store (aws-sdk-s3 against any S3, or the
//! embedded server), and image processing that is safe on hostile input.
#![forbid(unsafe_code)]

mod durable;
pub mod embedded;
pub mod imaging;
pub mod objects;

pub use embedded::Embedded;
pub use imaging::{Format, ImageError, Processed, Processor};
pub use objects::{ObjectStore, PresignedPut, StoreConfig, StoreError};

/// Where each kind of object lives in the bucket. Stored evidence is
/// content-addressed; uploads land on a key of their own photo first.
pub mod keys {
    /// Where the client uploads a photo's bytes before they are verified.
    pub fn staging(photo_id: &uuid::Uuid) -> String {
        format!("staging/{photo_id}")
    }

    /// The uploaded bytes, by their SHA-256.
    pub fn original(sha256: &str) -> String {
        format!("originals/{}/{sha256}", &sha256[..2.min(sha256.len())])
    }

    /// A re-encoded variant (`preview`, `thumb`), by the original's SHA-256.
    pub fn variant(name: &str, sha256: &str) -> String {
        format!("{name}/{}/{sha256}.jpg", &sha256[..2.min(sha256.len())])
    }

    /// Prefixes that hold content-addressed objects.
    pub const CONTENT_PREFIXES: [&str; 3] = ["originals/", "preview/", "thumb/"];
    /// Prefix of uploads not verified yet.
    pub const STAGING_PREFIX: &str = "staging/";
}
