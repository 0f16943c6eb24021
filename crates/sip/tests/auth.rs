//! Digest authentication: the RFC worked examples, then an [`Authenticator`] driven through
//! real parsed requests, answered by a client written here from the RFC on the hash crates
//! directly (so the server's digest code is checked against a second implementation, and both
//! against the RFC's own numbers).

use std::cell::Cell;
use std::time::Duration;

use md5::Md5;
use sha2::{Digest, Sha256};

use hotline_sip::{
    digest_response, ha1, parse_message, Algorithm, AuthConfig, AuthKind, AuthOutcome,
    Authenticator, Credentials, DigestParams, QopAuth, Refusal, Request, Response,
    MAX_TRACKED_NONCES, NONCE_RANDOM_BYTES,
};

const REALM: &str = "hotline.example.com";
const SECRET: [u8; 32] = [42; 32];
const T0: u64 = 1_700_000_000_000;

#[test]
fn rfc2617_section_3_5_worked_example() {
    let header = r#"Digest username="Mufasa",
                 realm="testrealm@host.com",
                 nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093",
                 uri="/dir/index.html",
                 qop=auth,
                 nc=00000001,
                 cnonce="0a4f113b",
                 response="6629fae49393a05397450978507c4ef1",
                 opaque="5ccc069c403ebaf9f0171e9517f40e41""#;
    let p = DigestParams::parse(header).unwrap();
    assert_eq!(p.username.as_deref(), Some("Mufasa"));
    assert_eq!(p.nonce_count(), Some(1));
    assert_eq!(
        p.opaque.as_deref(),
        Some("5ccc069c403ebaf9f0171e9517f40e41")
    );
    let ha1 = ha1(
        Algorithm::Md5,
        "Mufasa",
        "testrealm@host.com",
        "Circle Of Life",
    );
    let response = digest_response(
        Algorithm::Md5,
        &ha1,
        p.nonce.as_deref().unwrap(),
        Some(QopAuth {
            nc: p.nc.as_deref().unwrap(),
            cnonce: p.cnonce.as_deref().unwrap(),
        }),
        "GET",
        p.uri.as_deref().unwrap(),
    );
    assert_eq!(response, "6629fae49393a05397450978507c4ef1");
    assert_eq!(Some(response), p.response);
}

#[test]
fn rfc7616_section_3_9_1_sha256_and_md5_examples() {
    let (nonce, cnonce) = (
        "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
        "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
    );
    let qop = Some(QopAuth {
        nc: "00000001",
        cnonce,
    });
    for (algorithm, expected) in [
        (
            Algorithm::Sha256,
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
        ),
        (Algorithm::Md5, "8ca523f5e9506fed4657c9700eebdbec"),
    ] {
        let ha1 = ha1(
            algorithm,
            "Mufasa",
            "http-auth@example.org",
            "Circle of Life",
        );
        assert_eq!(
            digest_response(algorithm, &ha1, nonce, qop, "GET", "/dir/index.html"),
            expected,
            "{algorithm}"
        );
    }
    // The RFC's Authorization header reads as written (algorithm as a token, qop unquoted).
    let p = DigestParams::parse(
        "Digest username=\"Mufasa\", realm=\"http-auth@example.org\", uri=\"/dir/index.html\", \
         algorithm=SHA-256, nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", nc=00000001, \
         cnonce=\"f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ\", qop=auth, \
         response=\"753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1\", \
         opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\"",
    )
    .unwrap();
    assert_eq!(p.algorithm.as_deref(), Some("SHA-256"));
    assert_eq!(p.qop.as_deref(), Some("auth"));
    assert_eq!(p.cnonce.as_deref(), Some(cnonce));
}

#[test]
fn rfc2069_response_without_qop() {
    // RFC 2069 §2.4's example computes H(HA1:nonce:HA2) for Mufasa.
    let ha1 = ha1(
        Algorithm::Md5,
        "Mufasa",
        "testrealm@host.com",
        "CircleOfLife",
    );
    assert_eq!(
        digest_response(
            Algorithm::Md5,
            &ha1,
            "dcd98b7102dd2f0e8b11d0f600bfb0c093",
            None,
            "GET",
            "/dir/index.html"
        ),
        "1949323746fe6a43ef61f9606e7febea"
    );
}

// ---- an Authenticator driven with real requests ----

fn request(method: &str, uri: &str, authorization: &[(&str, String)]) -> Request {
    let mut text = format!(
        "{method} {uri} SIP/2.0\r\n\
         Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-auth-1\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:alice@hotline.example.com>;tag=from1\r\n\
         To: <sip:alice@hotline.example.com>\r\n\
         Call-ID: auth-call-1\r\n\
         CSeq: 1 {method}\r\n"
    );
    for (name, value) in authorization {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    text.push_str("Content-Length: 0\r\n\r\n");
    parse_message(text.as_bytes())
        .unwrap()
        .as_request()
        .unwrap()
        .clone()
}

fn register(authorization: Option<String>) -> Request {
    let headers: Vec<(&str, String)> = authorization
        .into_iter()
        .map(|a| ("Authorization", a))
        .collect();
    request("REGISTER", "sip:hotline.example.com", &headers)
}

fn authenticator() -> Authenticator {
    Authenticator::new(AuthConfig::new(REALM, SECRET)).unwrap()
}

fn random(n: u8) -> [u8; NONCE_RANDOM_BYTES] {
    [n; NONCE_RANDOM_BYTES]
}

fn alice(user: &str) -> Option<Credentials> {
    (user == "alice").then(|| Credentials::Password("wonderland".into()))
}

/// The challenges of a 401 or 407, in order.
fn challenges(response: &Response, header: &str) -> Vec<DigestParams> {
    response
        .headers
        .get_all(header)
        .into_iter()
        .map(|v| DigestParams::parse(v).unwrap())
        .collect()
}

fn challenge_of(outcome: &AuthOutcome) -> &Response {
    match outcome {
        AuthOutcome::Challenge(r) => r,
        other => panic!("expected a challenge, got {other:?}"),
    }
}

/// What a client answers to `challenge`, written independently of the server code.
struct Answer<'a> {
    challenge: &'a DigestParams,
    username: &'a str,
    password: &'a str,
    method: &'a str,
    uri: &'a str,
    nc: u32,
    qop: bool,
}

impl Answer<'_> {
    fn params(&self) -> DigestParams {
        let algorithm = self.challenge.algorithm.as_deref().unwrap_or("MD5");
        let h = |s: String| match algorithm {
            "MD5" => hash(Algorithm::Md5, &s),
            "SHA-256" => hash(Algorithm::Sha256, &s),
            other => panic!("the test client does not speak {other}"),
        };
        let realm = self.challenge.realm.clone().unwrap();
        let nonce = self.challenge.nonce.clone().unwrap();
        let ha1 = h(format!("{}:{realm}:{}", self.username, self.password));
        let ha2 = h(format!("{}:{}", self.method, self.uri));
        let (nc, cnonce) = (format!("{:08x}", self.nc), "0a4f113b".to_string());
        let response = if self.qop {
            h(format!("{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}"))
        } else {
            h(format!("{ha1}:{nonce}:{ha2}"))
        };
        DigestParams {
            username: Some(self.username.into()),
            realm: Some(realm),
            nonce: Some(nonce),
            uri: Some(self.uri.into()),
            response: Some(response),
            algorithm: Some(algorithm.into()),
            qop: self.qop.then(|| "auth".into()),
            nc: self.qop.then_some(nc),
            cnonce: self.qop.then_some(cnonce),
            ..Default::default()
        }
    }
}

/// H(s) in lower-case hex, straight from the hash crates.
fn hash(algorithm: Algorithm, s: &str) -> String {
    let bytes: Vec<u8> = match algorithm {
        Algorithm::Md5 | Algorithm::Md5Sess => Md5::digest(s.as_bytes()).to_vec(),
        Algorithm::Sha256 | Algorithm::Sha256Sess => Sha256::digest(s.as_bytes()).to_vec(),
    };
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn answer<'a>(challenge: &'a DigestParams, password: &'a str) -> Answer<'a> {
    Answer {
        challenge,
        username: "alice",
        password,
        method: "REGISTER",
        uri: "sip:hotline.example.com",
        nc: 1,
        qop: true,
    }
}

#[test]
fn no_credentials_get_sha256_then_md5_challenges_with_one_nonce() {
    let mut auth = authenticator();
    let outcome = auth.check(&register(None), alice, T0, random(1));
    let response = challenge_of(&outcome);
    assert_eq!(
        (response.status, response.reason.as_str()),
        (401, "Unauthorized")
    );
    // §8.2.6.2: the 401 copies Via, From, To, Call-ID and CSeq.
    for name in ["Via", "From", "To", "Call-ID", "CSeq"] {
        assert!(response.headers.get(name).is_some(), "{name}");
    }
    let c = challenges(response, "WWW-Authenticate");
    assert_eq!(c.len(), 2);
    assert_eq!(c[0].algorithm.as_deref(), Some("SHA-256"));
    assert_eq!(c[1].algorithm.as_deref(), Some("MD5"));
    assert_eq!(c[0].nonce, c[1].nonce);
    assert_eq!(c[0].realm.as_deref(), Some(REALM));
    assert_eq!(c[0].qop.as_deref(), Some("auth"));
    assert!(!c[0].stale);
    assert!(response
        .headers
        .get("WWW-Authenticate")
        .unwrap()
        .contains("qop=\"auth\""));
}

#[test]
fn right_answers_are_authorized_for_each_algorithm_and_credential_form() {
    let forms = [
        Credentials::Password("wonderland".into()),
        Credentials::Ha1Md5(ha1(Algorithm::Md5, "alice", REALM, "wonderland")),
        Credentials::Ha1Sha256(ha1(Algorithm::Sha256, "alice", REALM, "wonderland").to_uppercase()),
    ];
    let mut auth = authenticator();
    let first = auth.check(&register(None), alice, T0, random(2));
    let offered = challenges(challenge_of(&first), "WWW-Authenticate");
    // Both challenges carry one nonce, so every request on it takes the next nonce count.
    let mut nc = 0;
    for form in &forms {
        for challenge in &offered {
            let sha = challenge.algorithm.as_deref() == Some("SHA-256");
            if matches!(form, Credentials::Ha1Md5(_)) && sha
                || matches!(form, Credentials::Ha1Sha256(_)) && !sha
            {
                continue;
            }
            let mut a = answer(challenge, "wonderland");
            nc += 1;
            a.nc = nc;
            let req = register(Some(a.params().to_string()));
            let lookup = |u: &str| (u == "alice").then(|| form.clone());
            assert_eq!(
                auth.check(&req, lookup, T0 + 1000, random(3)),
                AuthOutcome::Authorized {
                    user: "alice".into()
                },
                "{form:?} {:?}",
                challenge.algorithm
            );
        }
    }
    assert_eq!(nc, 4, "the password twice, each hash once");
}

#[test]
fn answers_without_qop_are_accepted_as_rfc_2069_asks() {
    let mut auth = authenticator();
    let first = auth.check(&register(None), alice, T0, random(4));
    let c = &challenges(challenge_of(&first), "WWW-Authenticate")[1];
    let mut a = answer(c, "wonderland");
    a.qop = false;
    let outcome = auth.check(
        &register(Some(a.params().to_string())),
        alice,
        T0,
        random(5),
    );
    assert!(
        matches!(outcome, AuthOutcome::Authorized { .. }),
        "{outcome:?}"
    );
}

#[test]
fn old_nonce_with_right_answer_gets_stale_challenge() {
    let mut auth = authenticator();
    let lifetime_ms = auth.config().nonce_lifetime.as_millis() as u64;
    let first = auth.check(&register(None), alice, T0, random(6));
    let c = &challenges(challenge_of(&first), "WWW-Authenticate")[0];
    let req = register(Some(answer(c, "wonderland").params().to_string()));
    // Just inside the lifetime: fine.
    let inside = auth.check(&req, alice, T0 + lifetime_ms, random(7));
    assert!(
        matches!(inside, AuthOutcome::Authorized { .. }),
        "{inside:?}"
    );
    // Past it: stale=true, with a new nonce that works.
    let mut a = answer(c, "wonderland");
    a.nc = 2;
    let req = register(Some(a.params().to_string()));
    let later = T0 + lifetime_ms + 1;
    let outcome = auth.check(&req, alice, later, random(8));
    let renewed = challenges(challenge_of(&outcome), "WWW-Authenticate");
    assert!(renewed.iter().all(|c| c.stale));
    assert_ne!(renewed[0].nonce, c.nonce);
    let again = register(Some(answer(&renewed[0], "wonderland").params().to_string()));
    let outcome = auth.check(&again, alice, later, random(9));
    assert!(
        matches!(outcome, AuthOutcome::Authorized { .. }),
        "{outcome:?}"
    );
}

#[test]
fn old_nonce_with_wrong_answer_is_forbidden_not_stale() {
    let mut auth = authenticator();
    let first = auth.check(&register(None), alice, T0, random(10));
    let c = &challenges(challenge_of(&first), "WWW-Authenticate")[0];
    let req = register(Some(answer(c, "guess").params().to_string()));
    let outcome = auth.check(&req, alice, T0 + 3_600_000, random(11));
    assert!(matches!(outcome, AuthOutcome::Forbidden(_)), "{outcome:?}");
}

#[test]
fn forged_nonce_gets_a_plain_challenge_and_no_lookup() {
    let mut auth = authenticator();
    let first = auth.check(&register(None), alice, T0, random(12));
    let real = challenges(challenge_of(&first), "WWW-Authenticate").remove(0);
    let mut forged_nonces = vec![
        "dcd98b7102dd2f0e8b11d0f600bfb0c093".to_string(),
        String::new() + "x",
    ];
    // The real nonce with a later issue time: the tag no longer matches.
    let mut moved = real.nonce.clone().unwrap().into_bytes();
    moved[3] = if moved[3] == b'f' { b'e' } else { b'f' };
    forged_nonces.push(String::from_utf8(moved).unwrap());
    // A nonce from a server with another secret.
    let other = Authenticator::new(AuthConfig::new(REALM, [1; 32])).unwrap();
    forged_nonces.push(other.nonce(T0, random(13)));
    for nonce in forged_nonces {
        let mut challenge = real.clone();
        challenge.nonce = Some(nonce.clone());
        let req = register(Some(answer(&challenge, "wonderland").params().to_string()));
        let looked_up = Cell::new(false);
        let outcome = auth.check(
            &req,
            |u| {
                looked_up.set(true);
                alice(u)
            },
            T0,
            random(14),
        );
        let c = challenges(challenge_of(&outcome), "WWW-Authenticate");
        assert!(c.iter().all(|c| !c.stale), "{nonce}");
        assert!(
            !looked_up.get(),
            "{nonce}: looked the user up for a forged nonce"
        );
    }
}

#[test]
fn wrong_password_and_unknown_user_are_forbidden_alike() {
    let mut auth = authenticator();
    let first = auth.check(&register(None), alice, T0, random(15));
    let c = &challenges(challenge_of(&first), "WWW-Authenticate")[0];
    let wrong = auth.check(
        &register(Some(answer(c, "guess").params().to_string())),
        alice,
        T0,
        random(16),
    );
    let mut a = answer(c, "wonderland");
    a.username = "mallory";
    let unknown = auth.check(
        &register(Some(a.params().to_string())),
        alice,
        T0,
        random(17),
    );
    let (AuthOutcome::Forbidden(wrong), AuthOutcome::Forbidden(unknown)) = (wrong, unknown) else {
        panic!("both must be forbidden");
    };
    assert!(matches!(wrong, Refusal::WrongResponse { .. }));
    assert_eq!(
        unknown,
        Refusal::UnknownUser {
            username: "mallory".into()
        }
    );
    assert_eq!(wrong.reason_phrase(), unknown.reason_phrase());
}

#[test]
fn credentials_for_another_realm_are_ignored_and_challenged() {
    let mut auth = authenticator();
    let first = auth.check(&register(None), alice, T0, random(18));
    let mut c = challenges(challenge_of(&first), "WWW-Authenticate").remove(0);
    c.realm = Some("elsewhere.example.net".into());
    let req = register(Some(answer(&c, "wonderland").params().to_string()));
    let looked_up = Cell::new(false);
    let outcome = auth.check(
        &req,
        |u| {
            looked_up.set(true);
            alice(u)
        },
        T0,
        random(19),
    );
    let fresh = challenges(challenge_of(&outcome), "WWW-Authenticate");
    assert_eq!(fresh[0].realm.as_deref(), Some(REALM));
    assert!(!fresh[0].stale);
    assert!(!looked_up.get());
    // Credentials for another realm beside ours: ours are found and used.
    let ours = challenges(challenge_of(&first), "WWW-Authenticate").remove(0);
    let mut a = answer(&ours, "wonderland");
    a.nc = 7;
    let req = request(
        "REGISTER",
        "sip:hotline.example.com",
        &[
            ("Authorization", answer(&c, "x").params().to_string()),
            ("Authorization", a.params().to_string()),
        ],
    );
    let outcome = auth.check(&req, alice, T0, random(20));
    assert!(
        matches!(outcome, AuthOutcome::Authorized { .. }),
        "{outcome:?}"
    );
}

#[test]
fn unusable_credentials_get_400_that_says_why() {
    let mut auth = authenticator();
    let first = auth.check(&register(None), alice, T0, random(21));
    let c = challenges(challenge_of(&first), "WWW-Authenticate").remove(0);
    let good = answer(&c, "wonderland").params();
    type Edit = fn(&mut DigestParams);
    let cases: [(Edit, &str); 11] = [
        (|p| p.username = None, "no username"),
        (|p| p.nonce = None, "no nonce"),
        (|p| p.uri = None, "no uri"),
        (|p| p.response = None, "no response"),
        (|p| p.nc = None, "no nc"),
        (|p| p.cnonce = None, "no cnonce"),
        (|p| p.nc = Some("1".into()), "eight hex digits"),
        (|p| p.qop = Some("auth-int".into()), "auth-int"),
        (|p| p.algorithm = Some("SHA-512-256".into()), "SHA-512-256"),
        (
            |p| p.uri = Some("sip:other.example.net".into()),
            "Request-URI",
        ),
        (|p| p.userhash = true, "userhash"),
    ];
    for (edit, wants) in cases {
        let mut p = good.clone();
        edit(&mut p);
        let outcome = auth.check(&register(Some(p.to_string())), alice, T0, random(22));
        match outcome {
            AuthOutcome::BadRequest(reason) => assert!(reason.contains(wants), "{reason}"),
            other => panic!("{wants}: {other:?}"),
        }
    }
    // A header for our realm that cannot be read at all.
    let outcome = auth.check(
        &register(Some(format!("Digest realm=\"{REALM}\", nonce=\"open"))),
        alice,
        T0,
        random(23),
    );
    assert!(matches!(outcome, AuthOutcome::BadRequest(ref r) if r.contains("not closed")));
    // Another scheme is not ours to judge: challenged.
    let outcome = auth.check(
        &register(Some("Basic YWxpY2U6eA==".into())),
        alice,
        T0,
        random(24),
    );
    assert!(matches!(outcome, AuthOutcome::Challenge(_)), "{outcome:?}");
    // The digest-uri may be written differently from the Request-URI (host case, parameters).
    let mut p = good.clone();
    p.uri = Some("sip:HOTLINE.example.com;transport=udp".into());
    let mut a = answer(&c, "wonderland");
    a.uri = "sip:HOTLINE.example.com;transport=udp";
    p.response = a.params().response;
    let outcome = auth.check(&register(Some(p.to_string())), alice, T0, random(25));
    assert!(
        matches!(outcome, AuthOutcome::Authorized { .. }),
        "{outcome:?}"
    );
}

#[test]
fn a_repeated_nonce_count_is_a_replay() {
    let mut auth = authenticator();
    let first = auth.check(&register(None), alice, T0, random(26));
    let c = &challenges(challenge_of(&first), "WWW-Authenticate")[0];
    let req = register(Some(answer(c, "wonderland").params().to_string()));
    assert!(matches!(
        auth.check(&req, alice, T0, random(27)),
        AuthOutcome::Authorized { .. }
    ));
    let replay = auth.check(&req, alice, T0 + 10, random(28));
    assert!(challenges(challenge_of(&replay), "WWW-Authenticate")
        .iter()
        .all(|c| c.stale));
    let mut next = answer(c, "wonderland");
    next.nc = 2;
    let req = register(Some(next.params().to_string()));
    assert!(matches!(
        auth.check(&req, alice, T0 + 20, random(29)),
        AuthOutcome::Authorized { .. }
    ));
}

#[test]
fn tracked_nonce_counts_are_bounded_and_forgetting_makes_nonces_stale() {
    let mut auth = authenticator();
    let first_challenge = {
        let first = auth.check(&register(None), alice, T0, random(0));
        challenges(challenge_of(&first), "WWW-Authenticate").remove(1)
    };
    let authorise = |auth: &mut Authenticator, c: &DigestParams, nc: u32, now: u64| {
        let mut a = answer(c, "wonderland");
        a.nc = nc;
        auth.check(
            &register(Some(a.params().to_string())),
            alice,
            now,
            random(0),
        )
    };
    assert!(matches!(
        authorise(&mut auth, &first_challenge, 1, T0),
        AuthOutcome::Authorized { .. }
    ));
    // Fill the table with later nonces, all within their lifetime.
    for i in 0..MAX_TRACKED_NONCES as u64 {
        let mut bytes = [0u8; NONCE_RANDOM_BYTES];
        bytes[..8].copy_from_slice(&i.to_be_bytes());
        let mut c = first_challenge.clone();
        c.nonce = Some(auth.nonce(T0 + 1 + i / 1000, bytes));
        let outcome = authorise(&mut auth, &c, 1, T0 + 100);
        assert!(
            matches!(outcome, AuthOutcome::Authorized { .. }),
            "{i}: {outcome:?}"
        );
    }
    assert_eq!(auth.tracked_nonces(), MAX_TRACKED_NONCES);
    // The first nonce was forgotten to make room: it is stale now, not open to replay.
    let outcome = authorise(&mut auth, &first_challenge, 2, T0 + 200);
    assert!(challenges(challenge_of(&outcome), "WWW-Authenticate")
        .iter()
        .all(|c| c.stale));
    // Past their lifetime every count is dropped.
    let lifetime_ms = auth.config().nonce_lifetime.as_millis() as u64;
    let fresh = auth.check(&register(None), alice, T0 + 10 * lifetime_ms, random(1));
    let c = challenges(challenge_of(&fresh), "WWW-Authenticate").remove(0);
    assert!(matches!(
        authorise(&mut auth, &c, 1, T0 + 10 * lifetime_ms),
        AuthOutcome::Authorized { .. }
    ));
    assert_eq!(auth.tracked_nonces(), 1);
}

#[test]
fn stored_md5_hash_meets_sha256_answer_with_md5_only_challenge() {
    let mut auth = authenticator();
    let md5_only = |u: &str| {
        (u == "alice")
            .then(|| Credentials::Ha1Md5(ha1(Algorithm::Md5, "alice", REALM, "wonderland")))
    };
    let first = auth.check(&register(None), md5_only, T0, random(30));
    let sha = &challenges(challenge_of(&first), "WWW-Authenticate")[0];
    let req = register(Some(answer(sha, "wonderland").params().to_string()));
    let outcome = auth.check(&req, md5_only, T0, random(31));
    let offered = challenges(challenge_of(&outcome), "WWW-Authenticate");
    assert_eq!(offered.len(), 1);
    assert_eq!(offered[0].algorithm.as_deref(), Some("MD5"));
    let req = register(Some(answer(&offered[0], "wonderland").params().to_string()));
    assert!(matches!(
        auth.check(&req, md5_only, T0, random(32)),
        AuthOutcome::Authorized { .. }
    ));
}

#[test]
fn md5_answer_is_refused_when_only_sha256_is_offered() {
    let mut config = AuthConfig::new(REALM, SECRET);
    config.algorithms = vec![Algorithm::Sha256];
    let mut auth = Authenticator::new(config).unwrap();
    let first = auth.check(&register(None), alice, T0, random(33));
    let mut c = challenges(challenge_of(&first), "WWW-Authenticate").remove(0);
    c.algorithm = Some("MD5".into());
    let req = register(Some(answer(&c, "wonderland").params().to_string()));
    let outcome = auth.check(&req, alice, T0, random(34));
    assert!(
        matches!(outcome, AuthOutcome::BadRequest(ref r) if r.contains("MD5")),
        "{outcome:?}"
    );
    // Without an algorithm parameter the answer is MD5, which is not offered either.
    c.algorithm = None;
    let mut p = answer(&c, "wonderland").params();
    p.algorithm = None;
    let outcome = auth.check(&register(Some(p.to_string())), alice, T0, random(35));
    assert!(
        matches!(outcome, AuthOutcome::BadRequest(ref r) if r.contains("MD5")),
        "{outcome:?}"
    );
}

#[test]
fn session_algorithms_when_offered() {
    let mut config = AuthConfig::new(REALM, SECRET);
    config.algorithms = vec![Algorithm::Md5Sess];
    let mut auth = Authenticator::new(config).unwrap();
    let first = auth.check(&register(None), alice, T0, random(36));
    let c = challenges(challenge_of(&first), "WWW-Authenticate").remove(0);
    assert_eq!(c.algorithm.as_deref(), Some("MD5-sess"));
    // MD5-sess: HA1 = H(H(user:realm:pass):nonce:cnonce), computed here by hand.
    let nonce = c.nonce.clone().unwrap();
    let base = ha1(Algorithm::Md5, "alice", REALM, "wonderland");
    let session = hash(Algorithm::Md5, &format!("{base}:{nonce}:c1"));
    let ha2 = hash(Algorithm::Md5, "REGISTER:sip:hotline.example.com");
    let response = hash(
        Algorithm::Md5,
        &format!("{session}:{nonce}:00000001:c1:auth:{ha2}"),
    );
    let p = DigestParams {
        username: Some("alice".into()),
        realm: Some(REALM.into()),
        nonce: Some(nonce),
        uri: Some("sip:hotline.example.com".into()),
        response: Some(response),
        algorithm: Some("MD5-sess".into()),
        qop: Some("auth".into()),
        nc: Some("00000001".into()),
        cnonce: Some("c1".into()),
        ..Default::default()
    };
    let outcome = auth.check(&register(Some(p.to_string())), alice, T0, random(37));
    assert!(
        matches!(outcome, AuthOutcome::Authorized { .. }),
        "{outcome:?}"
    );
    let mut no_qop = p.clone();
    no_qop.qop = None;
    no_qop.nc = None;
    let outcome = auth.check(&register(Some(no_qop.to_string())), alice, T0, random(38));
    assert!(
        matches!(outcome, AuthOutcome::BadRequest(ref r) if r.contains("-sess")),
        "{outcome:?}"
    );
}

#[test]
fn proxy_kind_uses_407_and_proxy_headers() {
    let mut config = AuthConfig::new(REALM, SECRET);
    config.kind = AuthKind::Proxy;
    config.nonce_lifetime = Duration::from_secs(30);
    let mut auth = Authenticator::new(config).unwrap();
    let invite = |h: &[(&str, String)]| request("INVITE", "sip:bob@hotline.example.com", h);
    let first = auth.check(&invite(&[]), alice, T0, random(39));
    let response = challenge_of(&first);
    assert_eq!(response.status, 407);
    assert!(response.headers.get("WWW-Authenticate").is_none());
    let c = challenges(response, "Proxy-Authenticate").remove(0);
    let mut a = answer(&c, "wonderland");
    a.method = "INVITE";
    a.uri = "sip:bob@hotline.example.com";
    let creds = a.params().to_string();
    // In Authorization it is not looked at.
    let outcome = auth.check(
        &invite(&[("Authorization", creds.clone())]),
        alice,
        T0,
        random(40),
    );
    assert!(matches!(outcome, AuthOutcome::Challenge(_)));
    let outcome = auth.check(
        &invite(&[("Proxy-Authorization", creds)]),
        alice,
        T0,
        random(41),
    );
    assert!(
        matches!(outcome, AuthOutcome::Authorized { .. }),
        "{outcome:?}"
    );
}

#[test]
fn the_method_is_part_of_the_answer() {
    let mut auth = authenticator();
    let first = auth.check(&register(None), alice, T0, random(42));
    let c = &challenges(challenge_of(&first), "WWW-Authenticate")[0];
    let mut a = answer(c, "wonderland");
    a.method = "INVITE";
    let outcome = auth.check(
        &register(Some(a.params().to_string())),
        alice,
        T0,
        random(43),
    );
    assert!(matches!(
        outcome,
        AuthOutcome::Forbidden(Refusal::WrongResponse { .. })
    ));
}

proptest::proptest! {
    /// Any header value reads or is refused; none panics (multi-byte characters next to
    /// every delimiter included).
    #[test]
    fn any_digest_value_parses_or_is_refused(body in "[ -~é\u{1F600}\t\"\\\\,=]{0,80}") {
        let _ = DigestParams::parse(&format!("Digest {body}"));
    }

    /// Whatever arrives in Authorization, the outcome's reason phrase has no control
    /// characters, so it can go on a status line as it is.
    #[test]
    fn bad_request_reasons_have_no_control_characters(body in "[ -~\r\u{7}é]{0,60}") {
        let mut auth = authenticator();
        let value = format!(
            "Digest username=\"alice\", realm=\"{REALM}\", nonce=\"n\", \
             uri=\"sip:hotline.example.com\", response=\"00\", algorithm={body}"
        );
        let mut req = register(None);
        req.headers.push("Authorization", value);
        if let AuthOutcome::BadRequest(reason) = auth.check(&req, alice, T0, random(0)) {
            proptest::prop_assert!(!reason.chars().any(char::is_control), "{reason:?}");
        }
    }
}
