//! The browser harness proves itself (tests/browser_support): a real headless Chromium, over
//! WebDriver, on two small pages served here by axum. The page tests of hotline's web UI build
//! on the same harness.

mod browser_support;

use std::net::SocketAddr;

use axum::http::HeaderMap;
use axum::response::Html;
use axum::routing::get;
use browser_support::{Browser, DEFAULT_WAIT};

/// A form whose button writes a greeting into `#out`. The empty icon keeps Chromium from asking
/// for /favicon.ico, whose 404 would be a console error of its own.
const FORM_PAGE: &str = r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>harness self-test</title><link rel="icon" href="data:,"></head>
<body>
  <form id="greet">
    <label for="name">Name</label>
    <input id="name" name="name">
    <button id="say" type="button">Say hello</button>
  </form>
  <div id="out"></div>
  <script>
    document.getElementById("say").addEventListener("click", () => {
      document.getElementById("out").textContent =
        "Hello, " + document.getElementById("name").value;
    });
  </script>
</body>
</html>"#;

const BOOM_PAGE: &str = r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>boom</title><link rel="icon" href="data:,"></head>
<body><p id="done">loaded</p><script>console.error("boom");</script></body>
</html>"#;

/// Serves the two pages, and `/language`, which echoes the request's `Accept-Language`.
async fn serve_pages() -> SocketAddr {
    let app = axum::Router::new()
        .route("/", get(|| async { Html(FORM_PAGE) }))
        .route("/boom", get(|| async { Html(BOOM_PAGE) }))
        .route(
            "/language",
            get(|headers: HeaderMap| async move {
                let language = headers
                    .get("accept-language")
                    .and_then(|value| value.to_str().ok())
                    .unwrap_or("(none)")
                    .to_owned();
                Html(format!(
                    r#"<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><p id="language">{language}</p>"#
                ))
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    address
}

#[tokio::test]
async fn the_harness_fills_clicks_tabs_screenshots_and_reads_the_console() {
    let address = serve_pages().await;
    let browser = Browser::start("zh-CN").await;

    // The language reaches the server and the page.
    browser.goto(&format!("http://{address}/language")).await;
    let accept_language = browser.text("#language").await;
    assert!(
        accept_language.starts_with("zh-CN"),
        "Accept-Language was {accept_language:?}"
    );
    let languages = browser
        .client()
        .execute("return navigator.languages;", vec![])
        .await
        .unwrap();
    assert_eq!(languages[0], "zh-CN", "navigator.languages was {languages}");

    // Keyboard reachability: from a fresh page, Tab reaches the input, then the button.
    browser.goto(&format!("http://{address}/")).await;
    browser.wait_for("#say", DEFAULT_WAIT).await;
    browser.press_tab().await;
    let focused_id = browser
        .client()
        .active_element()
        .await
        .unwrap()
        .attr("id")
        .await
        .unwrap();
    assert_eq!(focused_id.as_deref(), Some("name"));
    browser.press_tab().await;
    assert_eq!(browser.active_element_text().await, "Say hello");

    // Fill, click, and wait for the script's answer; CJK text survives the typing.
    browser.fill("#name", "张三").await;
    browser.click("#say").await;
    let greeting = browser.wait_for_text("#out", "张三", DEFAULT_WAIT).await;
    assert_eq!(greeting, "Hello, 张三");
    assert_eq!(browser.text("#out").await, "Hello, 张三");

    let screenshot = browser.screenshot("greeted").await;
    let png = std::fs::read(&screenshot).unwrap();
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n"),
        "{} is not a PNG",
        screenshot.display()
    );
    assert!(
        screenshot.ends_with(
            "the_harness_fills_clicks_tabs_screenshots_and_reads_the_console/greeted.png"
        ),
        "screenshot at {}",
        screenshot.display()
    );

    assert_eq!(browser.console_errors().await, Vec::<String>::new());

    browser.goto(&format!("http://{address}/boom")).await;
    browser.wait_for("#done", DEFAULT_WAIT).await;
    let errors = browser.console_errors().await;
    assert_eq!(errors.len(), 1, "console errors: {errors:?}");
    assert!(
        errors[0].ends_with("\"boom\""),
        "console errors: {errors:?}"
    );
    // Reading the log empties it.
    assert_eq!(browser.console_errors().await, Vec::<String>::new());

    browser.close().await;
}
