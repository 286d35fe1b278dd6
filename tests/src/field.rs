//! A town for sync and lifecycle tests: an admin, the villages, and the
//! enterprises of the first two villages, with helpers to make field users
//! and hazards.
#![expect(clippy::unwrap_used, reason = "a test fails loudly")]

use serde_json::{Value, json};
use uuid::Uuid;

use crate::{Device, TestApp};

pub struct Field {
    pub app: TestApp,
    pub admin: String,
    pub villages: Vec<String>,
    /// Enterprises of villages[0], then of villages[1].
    pub ents: [Vec<Value>; 2],
}

pub async fn field() -> Field {
    field_on(TestApp::spawn().await).await
}

/// The same, on a server started by the caller (e.g. with a clock of its own).
pub async fn field_on(app: TestApp) -> Field {
    let admin = app.admin().await;
    let (_, v) = app.get("/api/v1/villages", &admin).await;
    let villages: Vec<String> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_str().unwrap().to_owned())
        .collect();
    let e0 = app
        .all(
            &format!("/api/v1/enterprises?village_id={}", villages[0]),
            &admin,
        )
        .await;
    let e1 = app
        .all(
            &format!("/api/v1/enterprises?village_id={}", villages[1]),
            &admin,
        )
        .await;
    Field {
        app,
        admin,
        villages,
        ents: [e0, e1],
    }
}

impl Field {
    pub async fn inspector(&self, name: &str, village: usize) -> Device {
        self.app
            .create_user(
                &self.admin,
                json!({"username": name, "display_name": name, "role": "inspector",
                "village_ids": [self.villages[village]], "password": "inspector-password"}),
            )
            .await;
        Device::new(self.app.login(name, "inspector-password").await)
    }

    /// Assigns the inspector `name` to `village` (and no other).
    pub async fn move_inspector(&self, name: &str, village: usize) {
        let users = self.app.all("/api/v1/users", &self.admin).await;
        let uid = users.iter().find(|u| u["username"] == name).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let (s, b) = self
            .app
            .patch(
                &format!("/api/v1/users/{uid}"),
                &self.admin,
                json!({"village_ids": [self.villages[village]]}),
            )
            .await;
        assert_eq!(s, reqwest::StatusCode::OK, "{b}");
    }

    pub async fn office(&self, name: &str) -> Device {
        self.app
            .create_user(&self.admin, json!({"username": name, "display_name": name, "role": "office", "password": "office-password-1"}))
            .await;
        Device::new(self.app.login(name, "office-password-1").await)
    }
}

pub fn hazard(enterprise: &Value, severity: &str) -> Value {
    json!({"id": Uuid::now_v7(), "enterprise_id": enterprise["id"], "title": "配电箱前堆放杂物",
        "description": "车间配电箱前1米内堆放纸箱", "category": "电气", "severity": severity,
        "found_at": "2026-11-27T02:00:00Z", "responsible_person": "王伟", "measures": "清理杂物", "photo_ids": []})
}

/// The status of the first result of a push, and one more of its fields.
pub fn first(r: &Value, pointer: &str) -> (Value, Value) {
    let x = &r["results"][0];
    (
        x["status"].clone(),
        x.pointer(pointer).cloned().unwrap_or(Value::Null),
    )
}

pub fn results(b: &Value) -> Vec<(i64, String, bool)> {
    b["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["seq"].as_i64().unwrap(),
                r["status"].as_str().unwrap().to_owned(),
                r["replayed"].as_bool().unwrap(),
            )
        })
        .collect()
}

pub async fn create_hazard(f: &Field, d: &mut Device, severity: &str) -> Value {
    let h = hazard(&f.ents[0][0], severity);
    let m = d.mutation("hazard.create", None, h.clone());
    let (_, b) = f.app.push(d, vec![m]).await;
    assert_eq!(b["results"][0]["status"], "applied", "{b}");
    h
}

/// Puts a hazard in `submitted`: the admin records its rectification, with a
/// declared photo, as an inspector on site would (`rectification.create`).
pub async fn submit(f: &Field, id: &str) {
    let mut d = Device::new(f.admin.clone());
    let bytes = crate::corpus::plain_jpeg(16, 12);
    let photo = Uuid::now_v7();
    let declare = d.mutation(
        "photo.declare",
        None,
        json!({"id": photo, "sha256": crate::corpus::sha(&bytes), "size": bytes.len(), "content_type": "image/jpeg"}),
    );
    let rectify = d.mutation(
        "rectification.create",
        None,
        json!({"id": Uuid::now_v7(), "hazard_id": id, "description": "已清理", "photo_ids": [photo]}),
    );
    let (_, b) = f.app.push(&d, vec![declare, rectify]).await;
    assert_eq!(b["results"][1]["status"], "applied", "{b}");
}
