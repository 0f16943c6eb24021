//! The web pages hotline serves itself, from the same binary and port as the API: the login
//! page, the agent desktop, the supervisors' live wall and the simple admin (queues, agents,
//! business hours). The pages are static HTML with
//! plain JavaScript that calls the REST API with the session cookie (set by
//! `POST /api/v1/login`) and listens to its server-sent events; there is no build step and
//! nothing is fetched from elsewhere at run time: the files under `crates/server/web/` are
//! compiled in.
//!
//! Every answer carries a Content-Security-Policy that allows only this origin's scripts,
//! styles and connections (no inline script), and forbids framing. Changes made with the
//! session cookie need the `x-hotline-csrf` header ([`crate::api::auth::CSRF_HEADER`]),
//! which other sites' pages cannot send, and the cookie is `SameSite=Strict`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use sha2::{Digest, Sha256};

/// A file served: its path, content type and content.
struct Asset {
    path: &'static str,
    content_type: &'static str,
    body: &'static str,
}

const HTML: &str = "text/html; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";

/// A file of `crates/server/web/` served at `path`.
macro_rules! asset {
    ($path:literal, $content_type:expr, $file:literal) => {
        Asset {
            path: $path,
            content_type: $content_type,
            body: include_str!(concat!("../web/", $file)),
        }
    };
}

/// The files under `crates/server/web/`, by the path they are served at.
const ASSETS: [Asset; 11] = [
    asset!("/login", HTML, "login.html"),
    asset!("/desktop", HTML, "desktop.html"),
    asset!("/wall", HTML, "wall.html"),
    asset!("/admin", HTML, "admin.html"),
    asset!("/assets/admin.js", JS, "admin.js"),
    asset!("/assets/hotline.css", CSS, "hotline.css"),
    asset!("/assets/common.js", JS, "common.js"),
    asset!("/assets/login.js", JS, "login.js"),
    asset!("/assets/desktop.js", JS, "desktop.js"),
    asset!("/assets/wall.js", JS, "wall.js"),
    Asset {
        path: "/favicon.ico",
        content_type: "image/svg+xml",
        body: "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 16 16\"><circle cx=\"8\" cy=\"8\" r=\"7\" fill=\"#1f5fbf\"/></svg>",
    },
];

/// The policy every page and file is served with.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
    style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; \
    base-uri 'none'; form-action 'self'";

fn serve(asset: &'static Asset) -> Response {
    let etag = {
        let digest = Sha256::digest(asset.body.as_bytes());
        let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        format!("\"{hex}\"")
    };
    let mut response = (StatusCode::OK, asset.body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    // Revalidated each time: a new binary's pages are never mixed with old scripts.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(etag) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, etag);
    }
    secure(headers);
    response
}

/// The headers of every page: the content policy, no sniffing, no referrer, no framing.
fn secure(headers: &mut axum::http::HeaderMap) {
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
}

/// The pages' routes (merged into the API's router, so they share its port and cookie).
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    let mut router = Router::new().route("/", get(|| async { Redirect::to("/login") }));
    for asset in &ASSETS {
        router = router.route(
            asset.path,
            get(move |headers: axum::http::HeaderMap| async move {
                let response = serve(asset);
                let fresh = headers
                    .get(header::IF_NONE_MATCH)
                    .zip(response.headers().get(header::ETAG))
                    .is_some_and(|(asked, etag)| asked == etag);
                if fresh {
                    let mut not_modified = StatusCode::NOT_MODIFIED.into_response();
                    if let Some(etag) = response.headers().get(header::ETAG) {
                        not_modified
                            .headers_mut()
                            .insert(header::ETAG, etag.clone());
                    }
                    secure(not_modified.headers_mut());
                    return not_modified;
                }
                response
            }),
        );
    }
    router
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_page_names_only_assets_that_are_served() {
        for page in ASSETS
            .iter()
            .filter(|a| a.content_type.starts_with("text/html"))
        {
            for link in page
                .body
                .split(['"', '\''])
                .filter(|s| s.starts_with("/assets/"))
            {
                assert!(
                    ASSETS.iter().any(|a| a.path == link),
                    "{} names {link}, which is not served",
                    page.path
                );
            }
            assert!(
                !page.body.contains("<script>"),
                "{}: no inline script",
                page.path
            );
            assert!(
                !page.body.contains("style=\""),
                "{}: no inline style",
                page.path
            );
            assert!(
                !page.body.contains("http://"),
                "{}: nothing from elsewhere",
                page.path
            );
            assert!(
                !page.body.contains("https://"),
                "{}: nothing from elsewhere",
                page.path
            );
        }
    }
}
