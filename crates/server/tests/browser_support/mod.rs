//! The browser tests' harness: a real headless Chromium (Debian's `chromium`), driven over
//! WebDriver by a `chromedriver` (Debian's `chromium-driver`) that the harness starts, one per
//! [`Browser`]. `scripts/test` installs both packages when they are missing.
//!
//! The principal type is [`Browser`]:
//!
//! ```ignore
//! let browser = Browser::start("zh-CN").await;
//! browser.goto(&format!("http://{address}/")).await;
//! browser.fill("#name", "张三").await;
//! browser.click("#say").await;
//! browser.wait_for_text("#out", "张三", DEFAULT_WAIT).await;
//! browser.screenshot("greeted").await;
//! assert_eq!(browser.console_errors().await, Vec::<String>::new());
//! browser.close().await;
//! ```
//!
//! The helpers panic with a message that names the selector and the limit, rather than return
//! errors: a browser test has nothing to do with a failure but stop and say what it waited for.
//! For anything the helpers lack, [`Browser::client`] is the whole fantoccini API.
//!
//! Console messages: chromedriver keeps the page's console in its "browser" log when the session
//! asks for it (`goog:loggingPrefs` `{"browser": "ALL"}`). fantoccini has no method for that
//! log, so [`Browser::console_errors`] sends chromedriver's own command,
//! `POST /session/{id}/se/log` with `{"type": "browser"}`, through fantoccini's raw-command trait.
//! (The legacy `/session/{id}/log` path answers too.) Reading the log empties it: each call
//! returns what was logged since the previous one.

// Each test binary that says `mod browser_support;` uses only some of the helpers.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::elements::Element;
use fantoccini::key::Key;
use fantoccini::wd::{Capabilities, WebDriverCompatibleCommand};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

/// Where Debian's `chromium` package puts the browser; `PATH` is searched when it is not there.
pub const CHROMIUM_PATH: &str = "/usr/bin/chromium";
/// Where Debian's `chromium-driver` package puts the driver; `PATH` is searched when it is not
/// there.
pub const CHROMEDRIVER_PATH: &str = "/usr/bin/chromedriver";

/// How long chromedriver may take to accept connections on its port.
pub const CHROMEDRIVER_READY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long chromedriver may take to start Chromium and open the session. Generous, because a
/// cold Chromium on a loaded two-core machine takes seconds.
pub const SESSION_START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long [`Browser::click`], [`Browser::fill`] and [`Browser::text`] wait for their element.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(5);
/// How often the `wait_for*` helpers look again.
pub const POLL_INTERVAL: Duration = Duration::from_millis(50);
/// How long dropping an unclosed [`Browser`] waits for chromedriver to end the session (and so
/// quit Chromium) before it kills chromedriver anyway.
pub const SESSION_DELETE_TIMEOUT: Duration = Duration::from_secs(5);

/// A headless Chromium and the chromedriver that drives it.
///
/// Call [`Browser::close`] at the end of a test. A `Browser` dropped without it (a test that
/// panicked) still ends the session synchronously, which quits Chromium, and then kills
/// chromedriver: Chromium outlives a killed chromedriver, so killing alone would leak browsers.
pub struct Browser {
    client: Client,
    // Declared after `client` and before `profile_dir`: fields drop in order, so Chromium has
    // quit before its profile directory is removed.
    driver: Chromedriver,
    artifacts_dir: PathBuf,
    profile_dir: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver on a free loopback port and a headless Chromium under it whose UI
    /// language and `Accept-Language` are `lang` (`"zh-CN"`, `"en"`).
    ///
    /// Screenshots go under `target/browser-artifacts/<test name>/`, the test name being the
    /// name of the thread that calls this (libtest and nextest name it after the test).
    ///
    /// Panics, saying to run `scripts/test`, when chromium or chromedriver is not installed.
    pub async fn start(lang: &str) -> Browser {
        let chromium = find_program(CHROMIUM_PATH, "chromium");
        let chromedriver = find_program(CHROMEDRIVER_PATH, "chromedriver");
        let test_name = current_test_name();
        let artifacts_dir = artifacts_root().join(&test_name);

        let port = free_loopback_port();
        let child = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            // chromedriver announces itself on stdout; its warnings and errors stay on stderr.
            .stdout(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {}: {error}", chromedriver.display()));
        let mut driver = Chromedriver {
            child,
            port,
            session_id: None,
        };
        driver.wait_until_listening(CHROMEDRIVER_READY_TIMEOUT);

        let profile_dir = tempfile::Builder::new()
            .prefix("hotline-chromium-")
            .tempdir()
            .expect("a temporary Chromium profile directory");
        let capabilities = chromium_capabilities(&chromium, lang, profile_dir.path());
        let mut builder =
            ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new());
        builder.capabilities(capabilities);
        let webdriver_url = format!("http://127.0.0.1:{port}");
        let connecting = builder.connect(&webdriver_url);
        let client = match tokio::time::timeout(SESSION_START_TIMEOUT, connecting).await {
            Ok(Ok(client)) => client,
            Ok(Err(error)) => panic!("chromedriver could not start Chromium: {error}"),
            Err(_) => panic!("Chromium did not start within {SESSION_START_TIMEOUT:?}"),
        };
        driver.session_id = client.session_id().await.expect("the WebDriver session id");

        Browser {
            client,
            driver,
            artifacts_dir,
            profile_dir,
        }
    }

    /// The fantoccini client, for what the helpers do not cover.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Where this test's screenshots go: `target/browser-artifacts/<test name>/`.
    pub fn artifacts_dir(&self) -> &Path {
        &self.artifacts_dir
    }

    /// Navigates to `url` and waits until the page has loaded.
    pub async fn goto(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|error| panic!("cannot open {url}: {error}"));
    }

    /// Waits up to `timeout` for an element matching `css`, looking every [`POLL_INTERVAL`].
    pub async fn wait_for(&self, css: &str, timeout: Duration) -> Element {
        let deadline = Instant::now() + timeout;
        loop {
            match self.client.find(Locator::Css(css)).await {
                Ok(element) => return element,
                Err(error) if error.is_no_such_element() => {}
                Err(error) => panic!("looking for {css:?}: {error}"),
            }
            if Instant::now() >= deadline {
                panic!(
                    "no element matches {css:?} after {timeout:?} on {}",
                    self.current_url().await
                );
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// Waits up to `timeout` for an element matching `css` whose text contains `needle`, and
    /// returns that text.
    pub async fn wait_for_text(&self, css: &str, needle: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        let mut last_seen = None;
        loop {
            if let Ok(element) = self.client.find(Locator::Css(css)).await {
                // The element can be replaced between find and text: look again.
                if let Ok(text) = element.text().await {
                    if text.contains(needle) {
                        return text;
                    }
                    last_seen = Some(text);
                }
            }
            if Instant::now() >= deadline {
                panic!(
                    "{css:?} does not contain {needle:?} after {timeout:?} on {}; its text was {last_seen:?}",
                    self.current_url().await
                );
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// Clicks the element matching `css`, waiting up to [`DEFAULT_WAIT`] for it.
    pub async fn click(&self, css: &str) {
        let element = self.wait_for(css, DEFAULT_WAIT).await;
        element
            .click()
            .await
            .unwrap_or_else(|error| panic!("cannot click {css:?}: {error}"));
    }

    /// Replaces the value of the field matching `css` with `text`, typed key by key, waiting up
    /// to [`DEFAULT_WAIT`] for the field.
    pub async fn fill(&self, css: &str, text: &str) {
        let element = self.wait_for(css, DEFAULT_WAIT).await;
        element
            .clear()
            .await
            .unwrap_or_else(|error| panic!("cannot clear {css:?}: {error}"));
        element
            .send_keys(text)
            .await
            .unwrap_or_else(|error| panic!("cannot type into {css:?}: {error}"));
    }

    /// The rendered text of the element matching `css`, waiting up to [`DEFAULT_WAIT`] for it.
    pub async fn text(&self, css: &str) -> String {
        let element = self.wait_for(css, DEFAULT_WAIT).await;
        element
            .text()
            .await
            .unwrap_or_else(|error| panic!("cannot read the text of {css:?}: {error}"))
    }

    /// Saves the viewport as `target/browser-artifacts/<test name>/<name>.png` and returns the
    /// file's path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self
            .client
            .screenshot()
            .await
            .unwrap_or_else(|error| panic!("cannot take screenshot {name:?}: {error}"));
        std::fs::create_dir_all(&self.artifacts_dir).unwrap_or_else(|error| {
            panic!("cannot create {}: {error}", self.artifacts_dir.display())
        });
        let path = self.artifacts_dir.join(format!("{name}.png"));
        std::fs::write(&path, png)
            .unwrap_or_else(|error| panic!("cannot write {}: {error}", path.display()));
        path
    }

    /// The console messages at level SEVERE (`console.error`, uncaught exceptions, failed
    /// loads) logged since the previous call, each as chromedriver words it:
    /// `"<url> <line>:<column> \"boom\""`.
    pub async fn console_errors(&self) -> Vec<String> {
        let log = self
            .client
            .issue_cmd(ReadBrowserLog)
            .await
            .unwrap_or_else(|error| panic!("cannot read the browser's console log: {error}"));
        let entries = log
            .as_array()
            .unwrap_or_else(|| panic!("the browser log is not a list: {log}"));
        entries
            .iter()
            .filter(|entry| entry["level"] == "SEVERE")
            .map(|entry| entry["message"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// Presses and releases Tab, moving the focus as a keyboard user would.
    pub async fn press_tab(&self) {
        let tab = char::from(Key::Tab);
        let keys = KeyActions::new("keyboard".to_owned())
            .then(KeyAction::Down { value: tab })
            .then(KeyAction::Up { value: tab });
        self.client
            .perform_actions(keys)
            .await
            .unwrap_or_else(|error| panic!("cannot press Tab: {error}"));
    }

    /// The rendered text of the focused element (a button's label; empty for an input).
    pub async fn active_element_text(&self) -> String {
        let element = self
            .client
            .active_element()
            .await
            .unwrap_or_else(|error| panic!("cannot find the focused element: {error}"));
        element
            .text()
            .await
            .unwrap_or_else(|error| panic!("cannot read the focused element's text: {error}"))
    }

    /// Ends the session, which quits Chromium, and stops chromedriver.
    pub async fn close(self) {
        let Browser {
            client, mut driver, ..
        } = self;
        client
            .close()
            .await
            .unwrap_or_else(|error| panic!("cannot end the WebDriver session: {error}"));
        driver.session_id = None;
    }

    async fn current_url(&self) -> String {
        match self.client.current_url().await {
            Ok(url) => url.to_string(),
            Err(error) => format!("(unknown page: {error})"),
        }
    }
}

/// The chromedriver child process. Dropping it ends its session, if one is still open, and
/// kills it.
struct Chromedriver {
    child: Child,
    port: u16,
    session_id: Option<String>,
}

impl Chromedriver {
    fn wait_until_listening(&mut self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        loop {
            if TcpStream::connect_timeout(&address, POLL_INTERVAL).is_ok() {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "chromedriver exited before listening on port {}: {status}",
                    self.port
                );
            }
            if Instant::now() >= deadline {
                panic!(
                    "chromedriver did not listen on port {} within {timeout:?}",
                    self.port
                );
            }
            std::thread::sleep(POLL_INTERVAL);
        }
    }

    /// `DELETE /session/{id}` by hand, over a blocking socket: it runs in `drop`, perhaps while
    /// a panicking test unwinds out of its tokio runtime, where nothing async can be awaited.
    fn delete_session(&self, session_id: &str) -> std::io::Result<()> {
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let mut stream = TcpStream::connect_timeout(&address, SESSION_DELETE_TIMEOUT)?;
        stream.set_read_timeout(Some(SESSION_DELETE_TIMEOUT))?;
        stream.set_write_timeout(Some(SESSION_DELETE_TIMEOUT))?;
        write!(
            stream,
            "DELETE /session/{session_id} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.port
        )?;
        // chromedriver answers once Chromium has quit; the answer itself does not matter, so
        // the end of its headers is enough. (Reading to the end would wait out the read timeout:
        // chromedriver keeps the connection open despite `Connection: close`.)
        let mut answer = Vec::new();
        let mut chunk = [0_u8; 1024];
        while !answer.windows(4).any(|window| window == b"\r\n\r\n") {
            let read = stream.read(&mut chunk)?;
            if read == 0 {
                break;
            }
            answer.extend_from_slice(&chunk[..read]);
        }
        Ok(())
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        if let Some(session_id) = self.session_id.take() {
            if let Err(error) = self.delete_session(&session_id) {
                eprintln!("browser_support: ending WebDriver session {session_id} failed ({error}); Chromium may be left running");
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// chromedriver's command for a log (`POST /session/{id}/se/log`), which fantoccini lacks.
#[derive(Debug)]
struct ReadBrowserLog;

impl WebDriverCompatibleCommand for ReadBrowserLog {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        let session_id = session_id.expect("the browser log is read within a session");
        base_url.join(&format!("session/{session_id}/se/log"))
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (http::Method, Option<String>) {
        (
            http::Method::POST,
            Some(json!({ "type": "browser" }).to_string()),
        )
    }
}

fn chromium_capabilities(chromium: &Path, lang: &str, profile_dir: &Path) -> Capabilities {
    let capabilities = json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": chromium,
            "args": [
                "--headless=new",
                // Tests run as root, where Chromium's sandbox refuses to start.
                "--no-sandbox",
                "--disable-gpu",
                // Containers give /dev/shm 64 MiB, too little for Chromium's renderers.
                "--disable-dev-shm-usage",
                "--window-size=1400,900",
                format!("--lang={lang}"),
                // A profile of our own, removed with the `Browser`, even when chromedriver is
                // killed before it can remove the one it would make.
                format!("--user-data-dir={}", profile_dir.display()),
            ],
            // `--lang` sets the UI language; this sets `Accept-Language` and
            // `navigator.languages`.
            "prefs": { "intl.accept_languages": lang },
        },
        "goog:loggingPrefs": { "browser": "ALL" },
    });
    match capabilities {
        Value::Object(map) => map,
        _ => unreachable!("the capabilities are a JSON object"),
    }
}

/// `preferred` when it exists, else `name` found on `PATH`; panics when neither is there.
fn find_program(preferred: &str, name: &str) -> PathBuf {
    let preferred = Path::new(preferred);
    if preferred.is_file() {
        return preferred.to_owned();
    }
    let on_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|directory| directory.join(name))
            .find(|candidate| candidate.is_file())
    });
    on_path.unwrap_or_else(|| {
        panic!(
            "{name} is not installed (looked at {} and on PATH): the browser tests need Debian's \
             chromium and chromium-driver packages; run scripts/test, which installs them",
            preferred.display()
        )
    })
}

/// `target/browser-artifacts`, in `CARGO_TARGET_DIR` when that is set.
fn artifacts_root() -> PathBuf {
    let target_dir = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"),
    };
    target_dir.join("browser-artifacts")
}

/// The running test's name, made safe for a directory name (`module::test` → `module__test`).
fn current_test_name() -> String {
    let thread = std::thread::current();
    let name = match thread.name() {
        Some(name) if name != "main" => name,
        _ => "unnamed-test",
    };
    name.replace("::", "__")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// A loopback port nobody listens on now. Another process could take it before chromedriver
/// binds it; chromedriver then exits and [`Chromedriver::wait_until_listening`] says so.
fn free_loopback_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .expect("a free loopback port")
        .port()
}
