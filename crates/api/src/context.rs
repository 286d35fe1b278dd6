//! Per-request context (request id, language), available to anything that runs
//! while the request is handled, including error and panic responses.

use axum::http::{HeaderMap, header};

/// The language of user-facing messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Zh,
    En,
}

impl Lang {
    /// Picks zh-CN or en from `Accept-Language` by quality; zh-CN when unsure.
    pub fn from_headers(h: &HeaderMap) -> Lang {
        let Some(v) = h.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()) else {
            return Lang::Zh;
        };
        let mut best: Option<(f32, Lang)> = None;
        for part in v.split(',') {
            let mut it = part.trim().split(';');
            let tag = it.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = it
                .find_map(|p| {
                    p.trim()
                        .strip_prefix("q=")
                        .and_then(|q| q.parse::<f32>().ok())
                })
                .unwrap_or(1.0);
            let lang = if tag.starts_with("zh") {
                Lang::Zh
            } else if tag.starts_with("en") {
                Lang::En
            } else {
                continue;
            };
            if best.is_none_or(|(bq, _)| q > bq) {
                best = Some((q, lang));
            }
        }
        best.map_or(Lang::Zh, |(_, l)| l)
    }
}

/// What the current request is.
#[derive(Debug, Clone, Default)]
pub struct RequestCtx {
    pub request_id: String,
    pub lang: Lang,
}

tokio::task_local! {
    static CTX: RequestCtx;
}

/// The context of the request being handled (empty outside one).
pub fn current() -> RequestCtx {
    CTX.try_with(Clone::clone).unwrap_or_default()
}

/// Runs `f` with `ctx` as the current request context.
pub async fn scope<F: std::future::Future>(ctx: RequestCtx, f: F) -> F::Output {
    CTX.scope(ctx, f).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lang(v: &str) -> Lang {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT_LANGUAGE, v.parse().unwrap());
        Lang::from_headers(&h)
    }

    #[test]
    fn picks_by_quality() {
        assert_eq!(lang("en"), Lang::En);
        assert_eq!(lang("en-US,en;q=0.9"), Lang::En);
        assert_eq!(lang("zh-CN,zh;q=0.9,en;q=0.8"), Lang::Zh);
        assert_eq!(lang("en;q=0.5,zh-CN"), Lang::Zh);
        assert_eq!(lang("fr"), Lang::Zh);
        assert_eq!(Lang::from_headers(&HeaderMap::new()), Lang::Zh);
    }
}
