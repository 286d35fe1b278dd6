//! A browser as the portal and dashboard tests play it over HTTP: cookies
//! kept, forms posted (urlencoded and multipart), redirects not followed.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly"
)]

use std::collections::HashMap;

use reqwest::{Method, StatusCode, header};

use crate::TestApp;

/// A browser: keeps cookies, follows no redirect on its own.
pub struct Browser {
    client: reqwest::Client,
    base: String,
    pub cookies: HashMap<String, String>,
}

pub struct Page {
    pub status: StatusCode,
    pub location: Option<String>,
    pub body: String,
}

impl Page {
    /// The value of the first `name="csrf"` input.
    pub fn csrf(&self) -> String {
        let at = self
            .body
            .find("name=\"csrf\" value=\"")
            .expect("a form with a CSRF token");
        let rest = &self.body[at + 19..];
        rest[..rest.find('"').unwrap()].to_owned()
    }
}

impl Browser {
    pub fn new(app: &TestApp) -> Browser {
        Browser {
            client: reqwest::Client::builder()
                .no_proxy()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: app.url.clone(),
            cookies: HashMap::new(),
        }
    }

    pub async fn send(&mut self, req: reqwest::RequestBuilder) -> Page {
        let cookie: Vec<String> = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let req = if cookie.is_empty() {
            req
        } else {
            req.header(header::COOKIE, cookie.join("; "))
        };
        let resp = req.send().await.unwrap();
        for v in resp.headers().get_all(header::SET_COOKIE) {
            let v = v.to_str().unwrap();
            let (kv, attrs) = v.split_once(';').unwrap_or((v, ""));
            let (k, val) = kv.split_once('=').unwrap();
            assert!(
                attrs.contains("HttpOnly") && attrs.contains("SameSite=Strict"),
                "{v}"
            );
            if attrs.contains("Max-Age=0") {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_owned(), val.to_owned());
            }
        }
        Page {
            status: resp.status(),
            location: resp
                .headers()
                .get(header::LOCATION)
                .map(|v| v.to_str().unwrap().to_owned()),
            body: resp.text().await.unwrap(),
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let r = self.client.get(format!("{}{path}", self.base));
        self.send(r).await
    }

    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let r = self
            .client
            .post(format!("{}{path}", self.base))
            .form(fields);
        self.send(r).await
    }

    /// A multipart form: text fields, then files of the `photos` input.
    pub async fn post_multipart(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        files: &[Vec<u8>],
    ) -> Page {
        let boundary = "----anjianBoundary7MA4YWxkTrZu0gW";
        let mut body = Vec::new();
        for (k, v) in fields {
            body.extend(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
                )
                .as_bytes(),
            );
        }
        for (i, f) in files.iter().enumerate() {
            body.extend(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"photos\"; filename=\"after{i}.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n").as_bytes());
            body.extend(f);
            body.extend(b"\r\n");
        }
        body.extend(format!("--{boundary}--\r\n").as_bytes());
        let r = self
            .client
            .request(Method::POST, format!("{}{path}", self.base))
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body);
        self.send(r).await
    }

    /// Signs in through the portal's login form; the page it lands on.
    pub async fn sign_in(&mut self, username: &str, password: &str) -> Page {
        self.sign_in_to("/portal", username, password).await
    }

    /// Signs in through the login form of `realm` (`/portal`, `/office`).
    pub async fn sign_in_to(&mut self, realm: &str, username: &str, password: &str) -> Page {
        let login = format!("{realm}/login");
        let form = self.get(&login).await;
        assert_eq!(form.status, StatusCode::OK);
        let csrf = form.csrf();
        self.post(
            &login,
            &[
                ("csrf", &csrf),
                ("username", username),
                ("password", password),
            ],
        )
        .await
    }
}
