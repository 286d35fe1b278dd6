//! What a photo may be: one set of limits for the declaration, the upload and
//! the image checks.

/// Largest photo accepted, in bytes.
pub const MAX_BYTES: u64 = 25 * 1024 * 1024;
/// Largest photo accepted, in pixels.
pub const MAX_PIXELS: u64 = 50_000_000;
/// Types a photo may be declared as (the bytes decide the true one).
pub const CONTENT_TYPES: [&str; 3] = ["image/jpeg", "image/png", "image/webp"];

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::enterprise::closed_enum;
use crate::{Role, Scope};

closed_enum!(
    /// Where a photo is in its upload: declared and waiting for its bytes;
    /// verified (size, SHA-256, format and dimensions checked, the original
    /// stored durably: the phone may delete its copy); processed (every
    /// variant made).
    PhotoStatus {
        PendingUpload => "pending_upload",
        Verified => "verified",
        Processed => "processed",
    }
);

impl PhotoStatus {
    /// Whether the bytes arrived and passed their checks.
    pub fn has_bytes(self) -> bool {
        self != PhotoStatus::PendingUpload
    }

    /// What a photo becomes when its bytes pass verification: `processed` at
    /// once when its uploader may already see a processed photo of the same
    /// bytes (`seen`) and their variants exist (`variants_made`), so nothing
    /// is made twice and nothing about other photos is told; else `verified`,
    /// with its variants still to make.
    pub fn on_verification(seen: bool, variants_made: bool) -> PhotoStatus {
        if seen && variants_made {
            PhotoStatus::Processed
        } else {
            PhotoStatus::Verified
        }
    }

    /// Whether a photo in this status waits for its variants.
    pub fn awaits_variants(self) -> bool {
        self == PhotoStatus::Verified
    }
}

closed_enum!(
    /// What `GET /photos/{id}/{variant}` serves: the uploaded bytes, or a
    /// re-encoded JPEG without metadata.
    Variant { Original => "original", Preview => "preview", Thumb => "thumb" }
);

/// Why a variant can't be served yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotServable {
    /// No bytes arrived (`not_uploaded`).
    NotUploaded,
    /// The bytes are verified and the variant is being made (`not_ready`).
    NotReady,
}

impl Variant {
    /// The variants made after verification, by the processing queue.
    pub const MADE: [Variant; 2] = [Variant::Preview, Variant::Thumb];

    /// Whether the variant exists for a photo in `status`: the original from
    /// `verified` on, the others once `processed`.
    pub fn servable(self, status: PhotoStatus) -> Result<(), NotServable> {
        match (status, self) {
            (PhotoStatus::PendingUpload, _) => Err(NotServable::NotUploaded),
            (PhotoStatus::Verified, Variant::Original) | (PhotoStatus::Processed, _) => Ok(()),
            (PhotoStatus::Verified, _) => Err(NotServable::NotReady),
        }
    }

    /// The variants that exist for a photo in `status`.
    pub fn existing(status: PhotoStatus) -> Vec<Variant> {
        Variant::ALL
            .iter()
            .copied()
            .filter(|v| v.servable(status).is_ok())
            .collect()
    }
}

/// When a failed attempt to make a photo's variants is tried again: after
/// 2^attempts seconds (the first retry after 2 s), at most an hour apart, so a
/// passing fault clears quickly and a lasting one costs little.
pub fn retry_delay(attempts: u32) -> chrono::Duration {
    chrono::Duration::seconds(1_i64 << attempts.clamp(1, 12)).min(chrono::Duration::hours(1))
}

closed_enum!(
    /// The kind of record a photo is listed by.
    OwnerKind {
        Hazard => "hazard",
        Review => "review",
        InspectionResult => "inspection_result",
        Rectification => "rectification",
    }
);

/// Where a photo stands for visibility: listed by a record of an enterprise
/// (with the enterprise's village), or not attached yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attachment {
    /// Declared, listed by no record: only its declarer (and staff) see it.
    Unattached { declared_by: Uuid },
    /// Listed by a record of this enterprise: whoever sees the record sees it.
    Record {
        enterprise_id: Uuid,
        village_id: Uuid,
    },
}

/// The body of `POST /photos` and the payload of `photo.declare`.
#[derive(Debug, Clone, Deserialize)]
pub struct Declare {
    pub id: Uuid,
    pub sha256: String,
    pub size: i64,
    pub content_type: String,
    #[serde(default)]
    pub taken_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl Declare {
    /// A lowercase hex SHA-256, a size within [`MAX_BYTES`], a type among
    /// [`CONTENT_TYPES`]; every problem named.
    pub fn check(&self) -> Result<(), crate::Error> {
        let mut f = crate::FieldErrors::new();
        let hex = |b: u8| b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
        if !(self.sha256.len() == 64 && self.sha256.bytes().all(hex)) {
            f.add("sha256", "invalid");
        }
        if !(1..=MAX_BYTES as i64).contains(&self.size) {
            f.add("size", "out_of_range");
        }
        if !CONTENT_TYPES.contains(&self.content_type.as_str()) {
            f.add("content_type", "unsupported");
        }
        f.into_result()
    }

    /// Whether this declaration repeats one already made (same declarer,
    /// bytes and size): harmless, answered with the photo as it is. Any
    /// other photo under the same id is a conflict.
    pub fn repeats(&self, declared_by: Uuid, by: Uuid, sha256: &str, size: i64) -> bool {
        declared_by == by && sha256 == self.sha256 && size == self.size
    }
}

/// Whether a user with `pending` photos waiting for their bytes may declare
/// one more that must be uploaded (at most `max_pending` wait at a time).
pub fn may_await_another(pending: i64, max_pending: i64) -> bool {
    pending < max_pending
}

/// The record a photo is listed by: its kind (`hazard`, `review`,
/// `inspection_result`, …), id, and checklist item where there is one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner<'a> {
    pub kind: OwnerKind,
    pub id: Uuid,
    pub item: Option<&'a str>,
}

/// Whether listing a photo that is now listed by `current` (`None`: by no
/// record) on `wanted` is a change to write (`Ok(true)`), already done
/// (`Ok(false)`), or refused: a photo belongs to one record only.
pub fn attach(current: Option<Owner<'_>>, wanted: Owner<'_>) -> Result<bool, crate::Error> {
    match current {
        None => Ok(true),
        Some(c) if c == wanted => Ok(false),
        Some(_) => Err(crate::Error::Conflict("photo_ids".into())),
    }
}

/// Whether `role`, when it sees a photo, may also have the uploaded bytes
/// with their EXIF and GPS: everyone but enterprise users.
pub fn sees_original(role: Role) -> bool {
    role != Role::Enterprise
}

/// Who is asking about a photo.
#[derive(Debug, Clone, Copy)]
pub struct Viewer<'a> {
    pub user_id: Uuid,
    pub role: Role,
    pub scope: &'a Scope,
}

impl Viewer<'_> {
    /// Whether the viewer may see the photo's metadata, `preview` and `thumb`
    /// (api.md "Photo evidence"). Once attached, visibility follows the record
    /// alone: the declarer keeps no access of its own.
    pub fn sees(&self, a: Attachment) -> bool {
        if self.sees_all() {
            return true;
        }
        match a {
            Attachment::Unattached { declared_by } => declared_by == self.user_id,
            Attachment::Record {
                enterprise_id,
                village_id,
            } => self.scope.sees_enterprise(
                crate::EnterpriseId(enterprise_id),
                crate::VillageId(village_id),
            ),
        }
    }

    /// Whether the viewer sees every photo (office and admin), wherever it is.
    pub fn sees_all(&self) -> bool {
        self.role.is_staff()
    }

    /// Whether the viewer, who sees the photo, may also have the uploaded
    /// bytes with their EXIF and GPS.
    pub fn sees_original(&self) -> bool {
        sees_original(self.role)
    }

    /// Whether the viewer, who sees the photo, may upload or complete it, or
    /// list it on a record: its declarer, office and admin.
    pub fn may_upload(&self, declared_by: Uuid) -> bool {
        declared_by == self.user_id || self.role.is_staff()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verified_bytes_are_processed_at_once_only_when_seen_and_made() {
        use PhotoStatus::*;
        assert_eq!(PhotoStatus::on_verification(true, true), Processed);
        for (seen, made) in [(true, false), (false, true), (false, false)] {
            let s = PhotoStatus::on_verification(seen, made);
            assert_eq!(s, Verified);
            assert!(s.awaits_variants() && s.has_bytes());
        }
        assert!(!Processed.awaits_variants() && !PendingUpload.awaits_variants());
    }

    #[test]
    fn the_original_is_served_from_verification_and_the_rest_once_processed() {
        use PhotoStatus::*;
        assert_eq!(
            Variant::Original.servable(PendingUpload),
            Err(NotServable::NotUploaded)
        );
        assert_eq!(Variant::Original.servable(Verified), Ok(()));
        assert_eq!(
            Variant::Preview.servable(Verified),
            Err(NotServable::NotReady)
        );
        assert_eq!(Variant::Thumb.servable(Processed), Ok(()));
        assert_eq!(Variant::existing(Verified), vec![Variant::Original]);
        assert_eq!(Variant::existing(Processed).len(), 3);
        assert!(Variant::existing(PendingUpload).is_empty());
    }

    #[test]
    fn failed_processing_is_retried_ever_later_but_within_the_hour() {
        assert_eq!(retry_delay(0).num_seconds(), 2);
        assert_eq!(retry_delay(1).num_seconds(), 2);
        assert_eq!(retry_delay(3).num_seconds(), 8);
        assert_eq!(retry_delay(40).num_seconds(), 3600);
        let mut last = retry_delay(1);
        for n in 2..30 {
            assert!(retry_delay(n) >= last);
            last = retry_delay(n);
        }
    }

    #[test]
    fn an_attached_photo_follows_its_record_not_its_declarer() {
        let (me, v1, v2, e1) = (
            Uuid::from_u128(1),
            Uuid::from_u128(2),
            Uuid::from_u128(3),
            Uuid::from_u128(4),
        );
        let here = Scope::Villages([v1].into());
        let moved = Scope::Villages([v2].into());
        let on_record = Attachment::Record {
            enterprise_id: e1,
            village_id: v1,
        };
        let mine = Attachment::Unattached { declared_by: me };
        let v = |scope| Viewer {
            user_id: me,
            role: Role::Inspector,
            scope,
        };
        assert!(v(&here).sees(on_record));
        assert!(v(&here).sees(mine));
        // Moved to another village: the record's photo is gone, its own unattached one stays.
        assert!(!v(&moved).sees(on_record));
        assert!(v(&moved).sees(mine));
        let other = Viewer {
            user_id: Uuid::from_u128(9),
            role: Role::Inspector,
            scope: &here,
        };
        assert!(!other.sees(mine));
        let office = Viewer {
            user_id: Uuid::from_u128(9),
            role: Role::Office,
            scope: &Scope::All,
        };
        assert!(office.sees(mine) && office.sees(on_record));
        let ent = Scope::Enterprise(e1);
        let ent_user = Viewer {
            user_id: Uuid::from_u128(8),
            role: Role::Enterprise,
            scope: &ent,
        };
        assert!(ent_user.sees(on_record));
        assert!(!ent_user.sees_original());
        assert!(!ent_user.may_upload(me));
    }
}
