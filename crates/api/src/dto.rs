//! Wire types of api.md, separate from the database entities.

use anjian_domain::{Bounded, EnterpriseStatus, RiskTag, Role, Scale, Text};
use anjian_store::entity::{audit_log, checklist_item, enterprise, village};
use anjian_store::repo::campaigns::Campaign;
use anjian_store::repo::users::User;
use anjian_store::repo::{enterprises, templates};
use anjian_usecases::records::ids_of;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// A collection page: `{"items": [...], "next_cursor": "..." | null}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T: ToSchema> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// The error envelope.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorEnvelope {
    pub error: ErrorBody,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// Stable machine-readable code (`not_found`, `validation_failed`, …).
    pub code: String,
    /// zh-CN or en, by `Accept-Language`.
    pub message: String,
    pub request_id: String,
    /// E.g. `{"fields": {"name": ["required"]}}` for `validation_failed`.
    #[schema(value_type = Option<Object>)]
    pub details: Option<serde_json::Value>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VillageOut {
    pub id: Uuid,
    pub code: String,
    pub name: String,
}

impl From<village::Model> for VillageOut {
    fn from(v: village::Model) -> Self {
        Self {
            id: v.id,
            code: v.code,
            name: v.name,
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Location {
    pub lat: f64,
    pub lon: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EnterpriseOut {
    pub id: Uuid,
    /// 18-character unified social credit code (GB 32100).
    pub credit_code: String,
    pub name: String,
    pub address: String,
    pub village_id: Uuid,
    /// GB/T 4754 industry code.
    pub industry_code: String,
    /// `above` | `below` designated size.
    pub scale: String,
    pub risk_tags: Vec<String>,
    /// `operating` | `suspended` | `closed` | `relocated`.
    pub status: String,
    pub contact_name: String,
    pub contact_phone: String,
    pub location: Option<Location>,
    pub version: i64,
}

impl From<enterprise::Model> for EnterpriseOut {
    fn from(e: enterprise::Model) -> Self {
        Self {
            risk_tags: enterprises::decode_tags(&e.risk_tags)
                .iter()
                .map(|t| t.as_str().to_owned())
                .collect(),
            location: e.lat.zip(e.lon).map(|(lat, lon)| Location { lat, lon }),
            id: e.id,
            credit_code: e.credit_code,
            name: e.name,
            address: e.address,
            village_id: e.village_id,
            industry_code: e.industry_code,
            scale: e.scale.as_str().to_owned(),
            status: e.status.as_str().to_owned(),
            contact_name: e.contact_name,
            contact_phone: e.contact_phone,
            version: e.version,
        }
    }
}

/// Body of `POST /enterprises`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnterpriseIn {
    pub credit_code: Text<18>,
    pub name: Text<200>,
    pub address: Text<300>,
    pub village_id: Uuid,
    /// GB/T 4754 industry code, a letter and 2 to 4 digits.
    #[schema(value_type = String, pattern = "^[A-T][0-9]{2,4}$")]
    pub industry_code: Text<5>,
    // Enumerations are read as text so that every field's reason is reported
    // at once (the roster's own validation), and documented as what they are.
    #[schema(value_type = Scale)]
    pub scale: Text<8>,
    #[serde(default)]
    #[schema(value_type = Vec<RiskTag>, max_items = 32)]
    pub risk_tags: Bounded<Text<32>, 32>,
    #[serde(default)]
    #[schema(value_type = Option<EnterpriseStatus>)]
    pub status: Option<Text<16>>,
    pub contact_name: Text<50>,
    pub contact_phone: Text<20>,
    #[serde(default)]
    pub location: Option<Location>,
}

/// Body of `PATCH /enterprises/{id}`: the fields to change.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnterprisePatch {
    pub credit_code: Option<Text<18>>,
    pub name: Option<Text<200>>,
    pub address: Option<Text<300>>,
    pub village_id: Option<Uuid>,
    #[schema(value_type = Option<String>, pattern = "^[A-T][0-9]{2,4}$")]
    pub industry_code: Option<Text<5>>,
    #[schema(value_type = Option<Scale>)]
    pub scale: Option<Text<8>>,
    #[schema(value_type = Option<Vec<RiskTag>>, max_items = 32)]
    pub risk_tags: Option<Bounded<Text<32>, 32>>,
    #[schema(value_type = Option<EnterpriseStatus>)]
    pub status: Option<Text<16>>,
    pub contact_name: Option<Text<50>>,
    pub contact_phone: Option<Text<20>>,
    /// `null` clears the location.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Location>)]
    pub location: Option<Option<Location>>,
}

/// Tells an absent field (`None`) from an explicit `null` (`Some(None)`).
fn double_option<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RejectedRow {
    /// Spreadsheet row number (the heading is row 1).
    pub row: usize,
    #[schema(value_type = Object)]
    pub errors: std::collections::BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ImportOut {
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub rejected: Vec<RejectedRow>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TemplateItemOut {
    pub code: String,
    pub category: String,
    pub text: String,
    pub guidance: String,
    pub legal_basis: String,
    /// `general` | `major`.
    pub severity_hint: String,
    pub photo_required_on_fail: bool,
}

impl From<checklist_item::Model> for TemplateItemOut {
    fn from(i: checklist_item::Model) -> Self {
        Self {
            code: i.code,
            category: i.category,
            text: i.text,
            guidance: i.guidance,
            legal_basis: i.legal_basis,
            severity_hint: i.severity_hint,
            photo_required_on_fail: i.photo_required_on_fail,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TemplateOut {
    pub id: Uuid,
    pub code: String,
    pub title: String,
    /// Edition number; a published edition never changes.
    pub version: i64,
    /// `draft` | `published` | `retired`.
    pub status: String,
    pub risk_tags: Vec<String>,
    pub items: Vec<TemplateItemOut>,
}

impl From<templates::Template> for TemplateOut {
    fn from(t: templates::Template) -> Self {
        Self {
            id: t.template.id,
            code: t.template.code,
            title: t.template.title,
            version: t.template.version,
            status: t.template.status,
            risk_tags: enterprises::decode_tags(&t.template.risk_tags)
                .iter()
                .map(|t| t.as_str().to_owned())
                .collect(),
            items: t.items.into_iter().map(Into::into).collect(),
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema, Default)]
pub struct CampaignTarget {
    #[serde(default)]
    pub village_ids: Vec<Uuid>,
    #[serde(default)]
    pub risk_tags: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CampaignOut {
    pub id: Uuid,
    pub name: String,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub template_ids: Vec<Uuid>,
    pub target: CampaignTarget,
    pub version: i64,
}

impl From<Campaign> for CampaignOut {
    fn from(
        Campaign {
            row: c,
            template_ids,
            target,
        }: Campaign,
    ) -> Self {
        Self {
            id: c.id,
            name: c.name,
            starts_on: c.starts_on,
            ends_on: c.ends_on,
            template_ids,
            target: CampaignTarget {
                village_ids: target.village_ids,
                risk_tags: target.risk_tags,
            },
            version: c.version,
        }
    }
}

/// Which enterprises a new campaign covers.
#[derive(Debug, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct CampaignTargetIn {
    #[serde(default)]
    #[schema(value_type = Vec<Uuid>, max_items = 500)]
    pub village_ids: Bounded<Uuid, 500>,
    #[serde(default)]
    #[schema(value_type = Vec<RiskTag>, max_items = 32)]
    pub risk_tags: Bounded<Text<32>, 32>,
}

/// Body of `POST /campaigns`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignIn {
    pub name: Text<200>,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    #[schema(value_type = Vec<Uuid>, max_items = 500)]
    pub template_ids: Bounded<Uuid, 500>,
    #[serde(default)]
    pub target: CampaignTargetIn,
}

/// The signed-in user (`GET /me`, and in the login answer).
#[derive(Debug, Serialize, ToSchema)]
pub struct MeOut {
    pub id: Uuid,
    pub username: String,
    pub display_name: String,
    /// `admin` | `office` | `inspector` | `enterprise`.
    pub role: String,
    pub enterprise_id: Option<Uuid>,
    pub village_ids: Vec<Uuid>,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// Until the password is changed (`POST /me/password`), everything but
    /// `GET /me`, the change and logging out answers 403 `password_change_required`.
    pub must_change_password: bool,
}

impl From<&User> for MeOut {
    fn from(u: &User) -> Self {
        Self {
            id: u.user.id,
            username: u.user.username.clone(),
            display_name: u.user.display_name.clone(),
            role: u.user.role.as_str().to_owned(),
            enterprise_id: u.user.enterprise_id,
            village_ids: u.village_ids.clone(),
            email: u.user.email.clone(),
            phone: u.user.phone.clone(),
            must_change_password: u.user.must_change_password,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserOut {
    pub id: Uuid,
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub enterprise_id: Option<Uuid>,
    pub village_ids: Vec<Uuid>,
    /// Where notifications go.
    pub email: Option<String>,
    pub phone: Option<String>,
    pub disabled: bool,
    pub must_change_password: bool,
    pub version: i64,
}

impl From<User> for UserOut {
    fn from(u: User) -> Self {
        Self {
            id: u.user.id,
            username: u.user.username,
            display_name: u.user.display_name,
            role: u.user.role.as_str().to_owned(),
            enterprise_id: u.user.enterprise_id,
            village_ids: u.village_ids,
            email: u.user.email,
            phone: u.user.phone,
            disabled: u.user.disabled,
            must_change_password: u.user.must_change_password,
            version: u.user.version,
        }
    }
}

/// Body of `POST /users`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserIn {
    /// 3 to 32 of `a-z 0-9 . _ -`.
    pub username: Text<32>,
    pub display_name: Text<100>,
    #[schema(value_type = Role)]
    pub role: Text<16>,
    #[serde(default)]
    pub enterprise_id: Option<Uuid>,
    #[serde(default)]
    #[schema(value_type = Vec<Uuid>, max_items = 500)]
    pub village_ids: Bounded<Uuid, 500>,
    /// At least 10 characters; not one repeated character, not a plain
    /// sequence, not a common password.
    pub password: Text<128>,
    #[serde(default)]
    pub email: Option<Text<254>>,
    /// Digits, `+`, `-` and spaces.
    #[serde(default)]
    pub phone: Option<Text<20>>,
    /// The user must choose its own password at its first login (default false).
    #[serde(default)]
    pub must_change_password: bool,
}

/// Body of `PATCH /users/{id}`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatchIn {
    pub display_name: Option<Text<100>>,
    #[schema(value_type = Option<Role>)]
    pub role: Option<Text<16>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Uuid>)]
    pub enterprise_id: Option<Option<Uuid>>,
    #[schema(value_type = Option<Vec<Uuid>>, max_items = 500)]
    pub village_ids: Option<Bounded<Uuid, 500>>,
    pub disabled: Option<bool>,
    pub password: Option<Text<128>>,
    /// `null` or `""` clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 254)]
    pub email: Option<Option<Text<254>>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 20)]
    pub phone: Option<Option<Text<20>>>,
    pub must_change_password: Option<bool>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginIn {
    pub username: Text<64>,
    pub password: Text<128>,
    #[serde(default)]
    pub device_id: Option<Uuid>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshIn {
    pub refresh_token: Text<128>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenOut {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds the access token is valid.
    pub expires_in: i64,
    pub refresh_token: String,
    pub user: MeOut,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditOut {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    pub actor_id: Option<Uuid>,
    pub action: String,
    pub entity_type: String,
    pub entity_id: Uuid,
    #[schema(value_type = Option<Object>)]
    pub before: Option<serde_json::Value>,
    #[schema(value_type = Option<Object>)]
    pub after: Option<serde_json::Value>,
    pub request_id: Option<String>,
}

impl From<audit_log::Model> for AuditOut {
    fn from(a: audit_log::Model) -> Self {
        Self {
            id: a.id,
            at: a.at,
            actor_id: a.actor_id,
            action: a.action,
            entity_type: a.entity_type,
            entity_id: a.entity_id,
            before: a.before,
            after: a.after,
            request_id: a.request_id,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    pub status: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness {
    /// `ready` | `not_ready`.
    pub status: String,
    /// `ok` | `unreachable`.
    pub database: String,
    /// `ok` | `unreachable` | `not_configured`: the bucket answers.
    pub object_store: String,
}

/// One item result of an inspection.
#[derive(Debug, Serialize, ToSchema)]
pub struct ResultOut {
    pub item_code: String,
    /// `pass` | `fail` | `na`.
    pub outcome: String,
    pub note: String,
    pub photo_ids: Vec<Uuid>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InspectionOut {
    pub id: Uuid,
    pub enterprise_id: Uuid,
    pub campaign_id: Option<Uuid>,
    pub template_id: Uuid,
    pub template_version: i64,
    pub inspector_id: Uuid,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub location: Option<Location>,
    pub results: Vec<ResultOut>,
    pub summary: String,
    pub version: i64,
}

impl From<anjian_store::repo::hazards::InspectionFull> for InspectionOut {
    fn from(f: anjian_store::repo::hazards::InspectionFull) -> Self {
        let i = f.inspection;
        Self {
            id: i.id,
            enterprise_id: i.enterprise_id,
            campaign_id: i.campaign_id,
            template_id: i.template_id,
            template_version: i.template_version,
            inspector_id: i.inspector_id,
            started_at: i.started_at,
            finished_at: i.finished_at,
            location: i.lat.zip(i.lon).map(|(lat, lon)| Location { lat, lon }),
            results: f
                .results
                .into_iter()
                .map(|r| ResultOut {
                    photo_ids: ids_of(&r.photo_ids),
                    item_code: r.item_code,
                    outcome: r.outcome.as_str().to_owned(),
                    note: r.note,
                })
                .collect(),
            summary: i.summary,
            version: i.version,
        }
    }
}

/// One step of a hazard's history.
#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryOut {
    pub at: DateTime<Utc>,
    pub actor_id: Option<Uuid>,
    /// `create`, `update`, `review.accept`, `review.reject`, …
    pub action: String,
    pub from_status: Option<String>,
    pub to_status: Option<String>,
    pub comment: String,
    /// Photos listed with this step (a rectification's after-photos, a
    /// review's).
    pub photo_ids: Vec<Uuid>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HazardOut {
    pub id: Uuid,
    pub enterprise_id: Uuid,
    pub inspection_id: Option<Uuid>,
    pub item_code: Option<String>,
    pub title: String,
    pub description: String,
    pub category: String,
    /// `general` | `major`.
    pub severity: String,
    /// `open` | `submitted` | `closed` | `cancelled`.
    pub status: String,
    pub found_at: DateTime<Utc>,
    /// Calendar date in the office time zone.
    pub deadline: NaiveDate,
    pub responsible_person: String,
    pub measures: String,
    pub photo_ids: Vec<Uuid>,
    /// Open and past the deadline today (office time zone).
    pub overdue: bool,
    pub closed_at: Option<DateTime<Utc>>,
    #[schema(value_type = Option<Object>)]
    pub plan: Option<serde_json::Value>,
    pub version: i64,
    pub history: Vec<HistoryOut>,
}

impl HazardOut {
    pub fn new(
        f: anjian_store::repo::hazards::HazardFull,
        policy: &anjian_domain::DeadlinePolicy,
        now: DateTime<Utc>,
    ) -> Self {
        let h = f.hazard;
        let overdue = policy.is_overdue(*h.status, h.deadline, now);
        Self {
            overdue,
            photo_ids: ids_of(&h.photo_ids),
            id: h.id,
            enterprise_id: h.enterprise_id,
            inspection_id: h.inspection_id,
            item_code: h.item_code,
            title: h.title,
            description: h.description,
            category: h.category,
            severity: h.severity.as_str().to_owned(),
            status: h.status.as_str().to_owned(),
            found_at: h.found_at,
            deadline: h.deadline,
            responsible_person: h.responsible_person,
            measures: h.measures,
            closed_at: h.closed_at,
            plan: h.plan,
            version: h.version,
            history: f
                .history
                .into_iter()
                .map(|e| HistoryOut {
                    at: e.at,
                    actor_id: e.actor_id,
                    action: e.action,
                    from_status: e.from_status.map(|s| s.as_str().to_owned()),
                    to_status: e.to_status.map(|s| s.as_str().to_owned()),
                    comment: e.comment,
                    photo_ids: ids_of(&e.photo_ids),
                })
                .collect(),
        }
    }
}

/// Photo metadata.
#[derive(Debug, Serialize, ToSchema)]
pub struct PhotoOut {
    pub id: Uuid,
    /// `pending_upload` | `verified` | `processed`.
    pub status: String,
    pub sha256: String,
    pub size: i64,
    pub content_type: String,
    pub taken_at: Option<DateTime<Utc>>,
    pub width: Option<i64>,
    pub height: Option<i64>,
    /// Only for inspectors, office and admin.
    pub gps: Option<Location>,
    /// What `GET /photos/{id}/{variant}` serves now: `original` from
    /// `verified` on, `preview` and `thumb` too once `processed`.
    pub variants: Vec<String>,
    pub version: i64,
}

impl PhotoOut {
    pub fn new(p: anjian_store::entity::photo::Model, show_gps: bool) -> Self {
        Self {
            gps: if show_gps {
                p.gps_lat
                    .zip(p.gps_lon)
                    .map(|(lat, lon)| Location { lat, lon })
            } else {
                None
            },
            id: p.id,
            sha256: p.sha256,
            size: p.size,
            content_type: p.content_type,
            variants: anjian_domain::photo::Variant::existing(*p.status)
                .into_iter()
                .map(|v| v.as_str().to_owned())
                .collect(),
            status: p.status.as_str().to_owned(),
            taken_at: p.taken_at,
            width: p.width,
            height: p.height,
            version: p.version,
        }
    }
}

/// Body of `POST /photos` (and payload of `photo.declare`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PhotoIn {
    /// Chosen by the client.
    pub id: Uuid,
    /// SHA-256 of the bytes, 64 lowercase hex digits.
    #[schema(value_type = String, pattern = "^[0-9a-f]{64}$")]
    pub sha256: Text<64>,
    /// Size in bytes, at most 25 MB.
    #[schema(minimum = 1, maximum = 26214400)]
    #[serde(deserialize_with = "anjian_domain::number::integer")]
    pub size: i64,
    /// `image/jpeg` | `image/png` | `image/webp`.
    #[schema(value_type = String, pattern = "^image/(jpeg|png|webp)$")]
    pub content_type: Text<16>,
    pub taken_at: Option<DateTime<Utc>>,
}

impl From<PhotoIn> for anjian_store::repo::photos::Declare {
    fn from(p: PhotoIn) -> Self {
        Self {
            id: p.id,
            sha256: p.sha256.into(),
            size: p.size,
            content_type: p.content_type.into(),
            taken_at: p.taken_at,
        }
    }
}

/// Where and how to upload a photo's bytes.
#[derive(Debug, Serialize, ToSchema)]
pub struct UploadOut {
    /// `PUT`.
    pub method: String,
    /// A presigned URL; fetch a fresh one by declaring the photo again.
    pub url: String,
    /// Headers to send as they are (they carry the checksum the store checks).
    pub headers: std::collections::BTreeMap<String, String>,
    pub expires_at: DateTime<Utc>,
}

/// Answer of `POST /photos`.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeclaredPhotoOut {
    #[serde(flatten)]
    pub photo: PhotoOut,
    /// Present while the bytes are still to be uploaded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upload: Option<UploadOut>,
}

/// Body of `POST /sync/push`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PushIn {
    pub device_id: Uuid,
    #[serde(deserialize_with = "anjian_domain::number::integer")]
    pub protocol: i64,
    #[schema(value_type = Vec<MutationIn>, max_items = 500)]
    pub mutations: Vec<anjian_usecases::sync::Mutation>,
}

/// One queued change of a device, as `POST /sync/push` takes it (the
/// mutation types and payloads are those of api.md "Offline sync"; a payload
/// that does not fit its type is that mutation's `rejected` outcome).
#[derive(Debug, ToSchema)]
pub struct MutationIn {
    /// 1, 2, 3… per device, in the order the changes were made.
    #[schema(minimum = 1)]
    pub seq: i64,
    /// `inspection.create` | `hazard.create` | `hazard.update` | `hazard.review`
    /// | `photo.declare`.
    #[schema(rename = "type")]
    pub kind: String,
    pub base_version: Option<i64>,
    pub client_time: Option<DateTime<Utc>>,
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
}

/// An error inside a push result.
#[derive(Debug, Serialize, ToSchema)]
pub struct ResultError {
    pub code: String,
    pub message: String,
    #[schema(value_type = Option<Object>)]
    pub details: Option<serde_json::Value>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PushResultOut {
    pub seq: i64,
    /// `applied` | `conflict` | `rejected`.
    pub status: String,
    pub entity_type: Option<String>,
    pub entity_id: Option<Uuid>,
    pub version: Option<i64>,
    pub replayed: bool,
    pub error: Option<ResultError>,
    pub server_entity: Option<HazardOut>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PushOut {
    pub results: Vec<PushResultOut>,
    pub last_processed_seq: i64,
    pub server_time: DateTime<Utc>,
}

/// A record in a pull, in the read shape of its type.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum RecordOut {
    Village(VillageOut),
    Enterprise(EnterpriseOut),
    Template(TemplateOut),
    Inspection(InspectionOut),
    Hazard(HazardOut),
    Photo(PhotoOut),
    Rectification(RectificationOut),
    ExtensionRequest(ExtensionRequestOut),
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChangeOut {
    pub entity_type: String,
    pub entity_id: Uuid,
    /// `upsert` | `delete`.
    pub op: String,
    pub version: i64,
    /// The whole current record (the read shape of `entity_type`), or null for a delete.
    #[schema(value_type = Option<Object>)]
    pub data: Option<RecordOut>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PullOut {
    pub changes: Vec<ChangeOut>,
    pub cursor: String,
    pub has_more: bool,
    pub reset: bool,
    pub last_processed_seq: i64,
}

/// Body of `POST /hazards/{id}/rectifications`: what was done, with the
/// after-photos (declared and uploaded first, at least one).
#[derive(Debug, Deserialize, ToSchema)]
pub struct RectificationIn {
    pub description: Text<4000>,
    #[schema(value_type = Vec<Uuid>, min_items = 1, max_items = 500)]
    pub photo_ids: Bounded<Uuid, 500>,
}

/// A rectification (整改) of a hazard.
#[derive(Debug, Serialize, ToSchema)]
pub struct RectificationOut {
    pub id: Uuid,
    pub hazard_id: Uuid,
    pub enterprise_id: Uuid,
    pub description: String,
    pub photo_ids: Vec<Uuid>,
    pub submitted_by: Uuid,
    pub submitted_at: DateTime<Utc>,
    pub version: i64,
}

impl From<anjian_store::entity::rectification::Model> for RectificationOut {
    fn from(r: anjian_store::entity::rectification::Model) -> Self {
        Self {
            photo_ids: ids_of(&r.photo_ids),
            id: r.id,
            hazard_id: r.hazard_id,
            enterprise_id: r.enterprise_id,
            description: r.description,
            submitted_by: r.submitted_by,
            submitted_at: r.submitted_at,
            version: r.version,
        }
    }
}

/// A review's decision.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReviewDecision {
    Accept,
    Reject,
}

/// Body of `POST /hazards/{id}/review`. A rejection says why (`comment`).
#[derive(Debug, Deserialize, ToSchema)]
pub struct ReviewIn {
    pub decision: ReviewDecision,
    #[serde(default)]
    pub comment: Text<2000>,
    /// Photos taken at the review (optional).
    #[serde(default)]
    #[schema(value_type = Option<Vec<Uuid>>, max_items = 500)]
    pub photo_ids: Bounded<Uuid, 500>,
}

/// Body of `POST /hazards/{id}/cancel`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CancelIn {
    pub reason: Text<2000>,
}

/// Body of `PUT /hazards/{id}/plan`: the six parts of a major hazard's
/// governance plan (治理目标和任务, 方法和措施, 经费和物资, 机构和人员,
/// 时限和要求, 安全措施和应急预案). A part left out is empty.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PlanIn {
    #[serde(default)]
    pub objectives: Text<4000>,
    #[serde(default)]
    pub measures: Text<4000>,
    #[serde(default)]
    pub funding: Text<4000>,
    #[serde(default)]
    pub organisation: Text<4000>,
    #[serde(default)]
    pub timeline: Text<4000>,
    #[serde(default)]
    pub safety_measures: Text<4000>,
}

/// Body of `POST /hazards/{id}/extension-requests`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ExtensionRequestIn {
    /// Later than the hazard's current deadline.
    pub requested_deadline: NaiveDate,
    pub reason: Text<2000>,
}

/// The office's decision on an extension request.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExtensionDecision {
    Approve,
    Deny,
}

/// Body of `POST /extension-requests/{id}/decision`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ExtensionDecisionIn {
    pub decision: ExtensionDecision,
    #[serde(default)]
    pub comment: Text<2000>,
}

/// A request for a later deadline (延期申请).
#[derive(Debug, Serialize, ToSchema)]
pub struct ExtensionRequestOut {
    pub id: Uuid,
    pub hazard_id: Uuid,
    pub enterprise_id: Uuid,
    pub requested_deadline: NaiveDate,
    pub reason: String,
    /// `pending` | `approved` | `denied`.
    pub status: String,
    pub requested_by: Uuid,
    pub requested_at: DateTime<Utc>,
    pub decided_by: Option<Uuid>,
    pub decided_at: Option<DateTime<Utc>>,
    pub comment: Option<String>,
    pub version: i64,
}

impl From<anjian_store::entity::extension_request::Model> for ExtensionRequestOut {
    fn from(x: anjian_store::entity::extension_request::Model) -> Self {
        Self {
            id: x.id,
            hazard_id: x.hazard_id,
            enterprise_id: x.enterprise_id,
            requested_deadline: x.requested_deadline,
            reason: x.reason,
            status: x.status.as_str().to_owned(),
            requested_by: x.requested_by,
            requested_at: x.requested_at,
            decided_by: x.decided_by,
            decided_at: x.decided_at,
            comment: x.comment,
            version: x.version,
        }
    }
}

/// Body of `POST /me/password`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChangeIn {
    pub current_password: Text<128>,
    /// At least 10 characters; not one repeated character, not a plain
    /// sequence, not a common password; not the current one.
    pub new_password: Text<128>,
}

/// Answer of `POST /users/{id}/reset-password`.
#[derive(Debug, Serialize, ToSchema)]
pub struct InitialPasswordOut {
    /// One-time: the user must change it at its next login.
    pub initial_password: String,
}

/// One account made by `POST /users/provision-enterprises`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProvisionedOut {
    pub enterprise_id: Uuid,
    /// The enterprise's credit code, in lower case.
    pub username: String,
    pub initial_password: String,
}

/// Answer of `POST /users/provision-enterprises`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProvisionOut {
    pub created: Vec<ProvisionedOut>,
    /// Enterprises that already had an account.
    pub skipped: u64,
}

/// A weekly report (api.md "Reports"): every field of its table at the top
/// level, breakdowns as arrays of `{key, name, <counters>}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct WeeklyReportOut {
    #[serde(flatten)]
    pub figures: anjian_domain::report::Weekly,
    pub generated_at: DateTime<Utc>,
    /// Made before the week's cut-off (Monday 08:00 after it): as of then.
    pub provisional: bool,
}

/// A stored weekly report in the archive.
#[derive(Debug, Serialize, ToSchema)]
pub struct WeeklyReportItem {
    #[schema(example = "2026-W48")]
    pub week: String,
    pub generated_at: DateTime<Utc>,
}

/// A notification (api.md "Notifications"): deadline reminders, overdue
/// notices, escalations.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationOut {
    pub id: Uuid,
    /// `reminder`, `overdue`, `escalated` (挂牌督办), `verdict` (a review's
    /// outcome), `extension` (a decision on an extension request) or
    /// `submitted` (a rectification waiting for review).
    pub kind: String,
    pub title: String,
    pub body: String,
    pub entity_type: Option<String>,
    pub entity_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
}

impl From<anjian_store::entity::notification::Model> for NotificationOut {
    fn from(n: anjian_store::entity::notification::Model) -> Self {
        NotificationOut {
            id: n.id,
            kind: n.kind,
            title: n.title,
            body: n.body,
            entity_type: n.entity_type,
            entity_id: n.entity_id,
            created_at: n.created_at,
            read_at: n.read_at,
        }
    }
}
