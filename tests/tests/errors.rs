//! Hostile and malformed input gets the envelope of api.md, a request id, and
//! changes nothing; operations endpoints answer.

use anjian_tests::{TestApp, assert_invalid, envelope_code};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

#[tokio::test]
async fn malformed_bodies_and_wrong_types() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let before = app.count("enterprises").await;
    let post = |ct: &str, body: &'static str| {
        app.req(Method::POST, "/api/v1/enterprises", Some(&admin))
            .header("content-type", ct)
            .body(body)
    };
    let (s, b) = app.send(post("application/json", "{\"name\": ")).await;
    assert_eq!(
        (s, envelope_code(&b).as_str()),
        (StatusCode::BAD_REQUEST, "invalid_request")
    );
    let (s, b) = app.send(post("text/plain", "{}")).await;
    assert_eq!(
        (s, envelope_code(&b).as_str()),
        (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
    );
    let (s, b) = app
        .send(
            app.req(Method::POST, "/api/v1/enterprises", Some(&admin))
                .body("{}"),
        )
        .await;
    assert_eq!(
        (s, envelope_code(&b).as_str()),
        (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
    );
    let (s, b) = app
        .send(post("application/json", "{\"credit_code\": 5}"))
        .await;
    assert_eq!(
        (s, envelope_code(&b).as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
    );
    assert_eq!(
        b["error"]["details"]["fields"]["credit_code"][0],
        "invalid_type"
    );
    let (s, b) = app.send(post("application/json", "\u{feff}{}")).await;
    assert_eq!(
        (s, envelope_code(&b).as_str()),
        (StatusCode::BAD_REQUEST, "invalid_request")
    );
    assert_eq!(app.count("enterprises").await, before);
}

#[tokio::test]
async fn oversized_bodies_get_413() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let big = format!("{{\"name\": \"{}\"}}", "x".repeat(3 * 1024 * 1024));
    let (s, b) = app
        .send(
            app.req(Method::POST, "/api/v1/enterprises", Some(&admin))
                .header("content-type", "application/json")
                .body(big),
        )
        .await;
    assert_eq!(
        (s, envelope_code(&b).as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
    );
    let huge = vec![b'a'; 21 * 1024 * 1024];
    let (s, b) = app
        .send(
            app.req(Method::POST, "/api/v1/enterprises/import", Some(&admin))
                .header("content-type", "text/csv")
                .body(huge),
        )
        .await;
    assert_eq!(
        (s, envelope_code(&b).as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
    );
}

#[tokio::test]
async fn unknown_routes_methods_ids_and_queries() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (s, b) = app.get("/api/v1/nothing-here", &admin).await;
    assert_eq!(
        (s, envelope_code(&b).as_str()),
        (StatusCode::NOT_FOUND, "not_found")
    );
    let (s, b) = app.send(app.req(Method::GET, "/wp-login.php", None)).await;
    assert_eq!(
        (s, envelope_code(&b).as_str()),
        (StatusCode::NOT_FOUND, "not_found")
    );
    let (s, b) = app
        .send(app.req(Method::DELETE, "/api/v1/villages", Some(&admin)))
        .await;
    assert_eq!(
        (s, envelope_code(&b).as_str()),
        (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed")
    );
    let (s, b) = app.get("/api/v1/enterprises/not-a-uuid", &admin).await;
    assert_eq!(
        (s, envelope_code(&b).as_str()),
        (StatusCode::NOT_FOUND, "not_found")
    );
    let (s, b) = app
        .get(
            "/api/v1/enterprises/0190f0a0-0000-7000-8000-000000000000",
            &admin,
        )
        .await;
    assert_eq!(
        (s, envelope_code(&b).as_str()),
        (StatusCode::NOT_FOUND, "not_found")
    );
    for q in [
        "limit=0",
        "limit=501",
        "limit=abc",
        "cursor=forged",
        "village_id=nope",
        "bogus=1",
    ] {
        let (s, b) = app.get(&format!("/api/v1/enterprises?{q}"), &admin).await;
        assert_eq!(
            (s, envelope_code(&b).as_str()),
            (StatusCode::BAD_REQUEST, "invalid_request"),
            "{q}"
        );
    }
    // A cursor is bound to the server's key: tampering with one is refused.
    let (_, page) = app.get("/api/v1/enterprises?limit=1", &admin).await;
    let mut cursor = page["next_cursor"].as_str().unwrap().to_owned();
    let last = cursor.pop().unwrap();
    cursor.push(if last == 'A' { 'B' } else { 'A' });
    let (s, _) = app
        .get(&format!("/api/v1/enterprises?cursor={cursor}"), &admin)
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, b) = app
        .send(
            app.req(
                Method::PATCH,
                "/api/v1/enterprises/0190f0a0-0000-7000-8000-000000000000",
                Some(&admin),
            )
            .header("If-Match", "x")
            .json(&json!({})),
        )
        .await;
    assert_eq!(
        (s, envelope_code(&b).as_str()),
        (StatusCode::BAD_REQUEST, "invalid_request")
    );
}

#[tokio::test]
async fn envelope_carries_request_id_and_language() {
    let app = TestApp::spawn().await;
    let resp = app
        .req(Method::GET, "/api/v1/me", None)
        .header("x-request-id", "trace-me-42")
        .send()
        .await
        .unwrap();
    // The server's own id, never the client's.
    let ours = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_ne!(ours, "trace-me-42");
    assert_eq!(resp.headers()["content-type"], "application/json");
    let b: Value = resp.json().await.unwrap();
    assert_eq!(b["error"]["request_id"], ours.as_str());
    assert_eq!(b["error"]["message"], "未登录或登录已失效，请重新登录");
    let resp = app
        .req(Method::GET, "/api/v1/me", None)
        .header("accept-language", "en-US,en;q=0.9")
        .send()
        .await
        .unwrap();
    let rid = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
    let b: Value = resp.json().await.unwrap();
    assert_eq!(
        b["error"]["message"],
        "Missing, expired or revoked credentials"
    );
    assert_eq!(b["error"]["request_id"], rid.as_str());
    // Hostile request ids are replaced, not echoed.
    let resp = app
        .req(Method::GET, "/api/v1/me", None)
        .header("x-request-id", "<script>")
        .send()
        .await
        .unwrap();
    assert_ne!(resp.headers()["x-request-id"], "<script>");
}

async fn boom() -> &'static str {
    panic!("kaboom")
}

#[tokio::test]
async fn a_panicking_handler_answers_500_envelope_and_the_server_lives_on() {
    let app = TestApp::spawn().await;
    let state = anjian_api::AppState::new(
        app.db().clone(),
        b"key",
        anjian_api::Settings {
            public_url: "http://x".into(),
            access_ttl_secs: 60,
            policy: Default::default(),
            trusted_proxies: Default::default(),
            limits: Default::default(),
            max_pending_photos: 2000,
        },
    );
    let router = axum::Router::new().route("/boom", axum::routing::get(boom));
    let svc = anjian_api::with_layers(router, state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, svc).await });
    let resp = reqwest::get(format!("http://{addr}/boom")).await.unwrap();
    assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let b: Value = resp.json().await.unwrap();
    assert_eq!(envelope_code(&b), "internal");
    assert!(!b.to_string().contains("kaboom"), "internals leaked: {b}");
    let resp = reqwest::get(format!("http://{addr}/boom")).await.unwrap();
    assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
}

#[tokio::test]
async fn operations_endpoints() {
    let app = TestApp::spawn().await;
    let (s, b) = app.send(app.req(Method::GET, "/healthz", None)).await;
    assert_eq!((s, b["status"].clone()), (StatusCode::OK, json!("ok")));
    let (s, b) = app.send(app.req(Method::GET, "/readyz", None)).await;
    assert_eq!((s, b["database"].clone()), (StatusCode::OK, json!("ok")));
    let admin = app.admin().await;
    app.get("/api/v1/villages", &admin).await;
    let text = app
        .req(Method::GET, "/metrics", None)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains(
            "anjian_http_requests_total{method=\"GET\",route=\"/api/v1/villages\",status=\"200\"} 1"
        ),
        "{text}"
    );
    let (s, doc) = app
        .send(app.req(Method::GET, "/api/v1/openapi.json", None))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    for p in [
        "/api/v1/auth/login",
        "/api/v1/enterprises",
        "/api/v1/enterprises/{id}",
        "/api/v1/enterprises/import",
        "/api/v1/users/{id}",
        "/healthz",
    ] {
        assert!(
            doc["paths"][p].is_object(),
            "{p} missing from the OpenAPI document"
        );
    }
    // Public operations need no token; every operation documents the envelope answers.
    assert_eq!(doc["paths"]["/healthz"]["get"]["security"], json!([]));
    assert_eq!(
        doc["paths"]["/api/v1/auth/login"]["post"]["security"],
        json!([])
    );
    for code in ["400", "401", "404", "422", "500"] {
        assert!(
            doc["paths"]["/api/v1/enterprises"]["post"]["responses"][code].is_object(),
            "{code}"
        );
    }
    assert!(doc["paths"]["/api/v1/sync/push"]["post"]["responses"]["426"].is_object());
    let html = app.req(Method::GET, "/docs/", None).send().await.unwrap();
    assert_eq!(html.status(), StatusCode::OK);
    let body = html.text().await.unwrap();
    assert!(
        body.contains("swagger") && !body.contains("https://"),
        "the docs page must not load anything from the internet"
    );
}

#[tokio::test]
async fn a_nul_or_control_character_is_a_422_everywhere_never_a_500() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (s, b) = app
        .send(
            app.req(Method::POST, "/api/v1/auth/login", None)
                .json(&json!({"username": "ad\u{0}min", "password": "whatever-password"})),
        )
        .await;
    assert_invalid(s, &b, Some(("username", &["control_character"])));
    for path in [
        "/api/v1/enterprises?q=%00",
        "/api/v1/audit?entity_type=a%00b",
        "/api/v1/hazards?cursor=%1B",
    ] {
        let (s, b) = app.get(path, &admin).await;
        assert_invalid(s, &b, None);
    }
    let (s, b) = app
        .get(
            &format!("/api/v1/enterprises?q={}", "很".repeat(101)),
            &admin,
        )
        .await;
    assert_invalid(s, &b, Some(("q", &["too_long"])));
    let (_, me) = app.get("/api/v1/me", &admin).await;
    let me = me["id"].as_str().unwrap();
    let (_, ents) = app.get("/api/v1/enterprises?limit=1", &admin).await;
    let ent = ents["items"][0]["id"].as_str().unwrap();
    for (path, body) in [
        (
            format!("/api/v1/users/{me}"),
            json!({"display_name": "管理\u{0}员"}),
        ),
        (
            format!("/api/v1/enterprises/{ent}"),
            json!({"name": "公司\u{0}"}),
        ),
    ] {
        let (s, b) = app.patch(&path, &admin, body).await;
        assert_invalid(s, &b, None);
    }
    // Lists of ids hold at most 500.
    let many: Vec<String> = (0..40_000)
        .map(|_| uuid::Uuid::now_v7().to_string())
        .collect();
    let (s, b) = app
        .post(
            "/api/v1/users",
            &admin,
            json!({"username": "many", "display_name": "多", "role": "inspector",
            "village_ids": many, "password": "inspector-password"}),
        )
        .await;
    assert_invalid(s, &b, Some(("village_ids", &["too_many"])));
    // Nothing was written by any of it.
    let (_, e) = app.get(&format!("/api/v1/enterprises/{ent}"), &admin).await;
    assert_eq!(e["version"], ents["items"][0]["version"]);
}

#[tokio::test]
async fn weak_passwords_are_refused_with_their_reason() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    for (pw, reason) in [
        ("short-pw", "too_short"),
        ("zzzzzzzzzzzz", "repeated"),
        ("1234567890", "sequence"),
        ("qwertyuiop", "sequence"),
        ("Password123", "common"),
    ] {
        let (s, b) = app
            .post(
                "/api/v1/users",
                &admin,
                json!({"username": "weak", "display_name": "弱", "role": "office", "password": pw}),
            )
            .await;
        assert_invalid(s, &b, Some(("password", &[reason])));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_are_cut_and_the_server_still_answers() {
    use std::time::Duration;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = TestApp::spawn_configured(Default::default(), |c| {
        c.limits = anjian_api::server::Limits {
            header_read_timeout: Duration::from_secs(1),
            body_idle_timeout: Duration::from_secs(1),
            request_timeout: Duration::from_secs(5),
            max_connections: 64,
        };
    })
    .await;
    let addr = app.url.trim_start_matches("http://").to_owned();
    // Three hundred clients that never finish their headers, far past the cap.
    let mut slow = Vec::new();
    for _ in 0..300 {
        let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        slow.push(s);
    }
    // One that stalls in the middle of its body.
    let mut stalled = tokio::net::TcpStream::connect(&addr).await.unwrap();
    stalled
        .write_all(b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"user")
        .await
        .unwrap();
    // A well-behaved client is still answered.
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let r = client
        .get(format!("{}/healthz", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // Every slow connection was closed by the server.
    for mut s in slow {
        let mut buf = [0u8; 512];
        // Well before hyper's own 30-second default would.
        let n = tokio::time::timeout(Duration::from_secs(15), s.read(&mut buf))
            .await
            .expect("a half-open connection was kept open")
            .unwrap_or(0);
        assert!(
            n == 0 || buf.starts_with(b"HTTP/1.1 408"),
            "{}",
            String::from_utf8_lossy(&buf[..n])
        );
    }
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(15), stalled.read_to_end(&mut buf)).await;
    assert!(read.is_ok(), "a stalled body held its connection");
}

#[tokio::test]
async fn the_audit_trail_and_caches_get_what_is_ours() {
    let app = TestApp::spawn().await;
    let resp = app
        .req(Method::POST, "/api/v1/auth/login", None)
        .header("x-request-id", "forged-by-client")
        .json(&json!({"username": "admin", "password": anjian_tests::ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let ours = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
    let b: Value = resp.json().await.unwrap();
    let token = b["access_token"].as_str().unwrap().to_owned();
    let (_, audit) = app.get("/api/v1/audit?entity_type=login", &token).await;
    let ids: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["request_id"].as_str())
        .collect();
    assert!(ids.contains(&ours.as_str()), "{audit}");
    assert!(!ids.contains(&"forged-by-client"));
    // Authenticated answers, and failed logins, are not for caches.
    for (path, token) in [
        ("/api/v1/me", Some(token.as_str())),
        ("/api/v1/enterprises?limit=1", Some(token.as_str())),
        ("/api/v1/me", None),
    ] {
        let r = app.req(Method::GET, path, token).send().await.unwrap();
        assert_eq!(r.headers()["cache-control"], "no-store", "{path}");
    }
    let r = app
        .req(Method::POST, "/api/v1/auth/login", None)
        .json(&json!({"username": "x", "password": "y"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["cache-control"], "no-store");
    // An over-long URL gets the envelope too.
    let (s, b) = app
        .get(
            &format!("/api/v1/enterprises?q={}", "a".repeat(9000)),
            &token,
        )
        .await;
    assert_eq!(
        (s, envelope_code(&b)),
        (StatusCode::URI_TOO_LONG, "uri_too_long".into()),
        "{b}"
    );
    // Past what the HTTP parser itself takes (64 KiB), sent raw: clients refuse to.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(app.url.trim_start_matches("http://"))
        .await
        .unwrap();
    let req = format!(
        "GET /healthz?x={} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        "a".repeat(70_000)
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.starts_with("HTTP/1.1 414"),
        "{}",
        &answer[..answer.len().min(300)]
    );
    assert!(
        answer.contains("\"uri_too_long\""),
        "{}",
        &answer[..answer.len().min(300)]
    );
}

#[cfg(unix)]
#[tokio::test]
async fn the_data_dir_is_the_owners_alone() {
    use std::os::unix::fs::PermissionsExt;
    let app = TestApp::spawn().await;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(app.dir.path()), 0o700);
    if app.backend == anjian_tests::Backend::Sqlite {
        for f in ["anjian.db", "anjian.db-wal", "anjian.db-shm"] {
            let p = app.dir.path().join(f);
            if p.exists() {
                assert_eq!(mode(&p), 0o600, "{f}");
            }
        }
        assert!(app.dir.path().join("anjian.db").exists());
    }
}

#[tokio::test]
async fn the_openapi_document_publishes_every_limit() {
    let app = TestApp::spawn().await;
    let (s, doc) = app.get("/api/v1/openapi.json", "").await;
    assert_eq!(s, StatusCode::OK);
    // Query parameters are in the query.
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (_, op) in item.as_object().unwrap() {
            for p in op["parameters"].as_array().into_iter().flatten() {
                let named_in_path = path.contains(&format!("{{{}}}", p["name"].as_str().unwrap()));
                assert_eq!(p["in"] == "path", named_in_path, "{path}: {p}");
            }
        }
    }
    // Text fields carry a maximum and refuse control characters.
    let schemas = &doc["components"]["schemas"];
    let title = &schemas["Text200"];
    assert_eq!(title["maxLength"], 200);
    assert!(title["pattern"].as_str().unwrap().contains("\\u0000"));
    assert!(
        schemas["LoginIn"]["properties"]["username"]["$ref"]
            .as_str()
            .is_some()
    );
    // A push's payloads are free-form, their limits written down.
    let payload = schemas["MutationIn"]["properties"]["payload"]["description"]
        .as_str()
        .unwrap();
    assert!(payload.contains("`hazard.title` ≤ 200"), "{payload}");
    assert!(payload.contains("`review.comment` ≤ 2000"), "{payload}");
}
