//! The server's configuration file, and the demo configuration `hotline serve` runs when
//! given none.
//!
//! ```toml
//! [sip]
//! listen = "0.0.0.0:5060"        # UDP and TCP
//! realm = "hotline"              # digest realm and agents' domain
//! default_queue = "general"      # for dialled numbers not listed (omit: 404)
//! digest = ["SHA-256", "MD5"]    # challenges offered, in order (default)
//!
//! [[sip.accounts]]               # one per agent phone; the user is the routing agent's name
//! agent = "ann"
//! password = "change-me"         # or ha1_md5 / ha1_sha256 = "hex"
//!
//! [[sip.numbers]]
//! number = "95588"
//! queue = "general"
//!
//! [[sip.trunks]]                 # who may send calls in
//! name = "carrier"
//! allow = ["203.0.113.0/24"]
//!
//! [routing]                      # queues, agents, skills: the format `hotline sim` reads
//! ```

use std::net::SocketAddr;
use std::path::Path;

use hotline_config::Diagnostics;
use hotline_routing::RoutingConfig;
use hotline_sip::{Credentials, TransactionConfig};
use serde::Deserialize;

use crate::switch::{IpNet, NumberRoute, SipAgent, SwitchConfig, Trunk, DEFAULT_MAX_CALLS};

/// A whole server configuration.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Where to listen for SIP (UDP and TCP).
    pub listen: SocketAddr,
    /// The switch's settings (its `local` is `listen`, made concrete once bound).
    pub switch: SwitchConfig,
    /// Queues, agents, skills.
    pub routing: RoutingConfig,
    /// Passwords of the demo's accounts, to print at start; empty for a configured server.
    pub demo_passwords: Vec<(String, String)>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SipSection {
    listen: Option<String>,
    realm: Option<String>,
    default_queue: Option<String>,
    #[serde(default)]
    accounts: Vec<AccountSection>,
    #[serde(default)]
    numbers: Vec<NumberSection>,
    #[serde(default)]
    trunks: Vec<TrunkSection>,
    max_calls: Option<usize>,
    digest: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AccountSection {
    agent: String,
    password: Option<String>,
    ha1_md5: Option<String>,
    ha1_sha256: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NumberSection {
    number: String,
    queue: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TrunkSection {
    name: String,
    allow: Vec<String>,
}

/// The default SIP port.
pub const DEFAULT_LISTEN: &str = "0.0.0.0:5060";

fn error(file: &str, field: &str, message: String) -> Diagnostics {
    Diagnostics::from(hotline_config::Diagnostic::at_span(
        file,
        "",
        0..0,
        field,
        message,
    ))
}

/// Reads a configuration from TOML text.
pub fn parse(
    file: &str,
    text: &str,
    seed: u64,
    secret: [u8; 32],
) -> Result<ServerConfig, Diagnostics> {
    let mut document = hotline_config::parse_document(file, text)?;
    let routing_section = document.get_mut().remove("routing");
    let sip_section = document.get_mut().remove("sip");
    let Some(routing_section) = routing_section else {
        return Err(error(
            file,
            "routing",
            "required table [routing] is missing".into(),
        ));
    };
    let routing = hotline_config::parse_routing_section(file, text, routing_section)?;
    let sip: SipSection = match sip_section {
        Some(section) => hotline_config::deserialize_section(file, text, "sip", section)?,
        None => return Err(error(file, "sip", "required table [sip] is missing".into())),
    };
    let listen_text = sip.listen.as_deref().unwrap_or(DEFAULT_LISTEN);
    let listen: SocketAddr = listen_text.parse().map_err(|_| {
        error(
            file,
            "sip.listen",
            format!("{listen_text:?} is not an address:port"),
        )
    })?;
    let queue = |field: &str, name: &str| {
        routing
            .queue_id(name)
            .ok_or_else(|| error(file, field, format!("no queue named {name:?} in [routing]")))
    };
    let default_queue = match &sip.default_queue {
        Some(name) => Some(queue("sip.default_queue", name)?),
        None => None,
    };
    let mut digest_algorithms = Vec::new();
    for (i, name) in sip.digest.iter().flatten().enumerate() {
        match hotline_sip::Algorithm::from_token(name) {
            Some(algorithm) if !algorithm.is_session() => digest_algorithms.push(algorithm),
            _ => {
                return Err(error(
                    file,
                    &format!("sip.digest[{i}]"),
                    format!("{name:?} is not a digest algorithm (\"SHA-256\" or \"MD5\")"),
                ))
            }
        }
    }
    if sip.digest.as_ref().is_some_and(|d| d.is_empty()) {
        return Err(error(
            file,
            "sip.digest",
            "name at least one algorithm".into(),
        ));
    }
    let mut agents = Vec::new();
    for (i, account) in sip.accounts.iter().enumerate() {
        let field = format!("sip.accounts[{i}]");
        if routing.agent_id(&account.agent).is_none() {
            return Err(error(
                file,
                &field,
                format!("no agent named {:?} in [routing]", account.agent),
            ));
        }
        let credentials = match (&account.password, &account.ha1_md5, &account.ha1_sha256) {
            (Some(p), None, None) => Credentials::Password(p.clone()),
            (None, Some(h), None) => Credentials::Ha1Md5(h.clone()),
            (None, None, Some(h)) => Credentials::Ha1Sha256(h.clone()),
            _ => {
                return Err(error(
                    file,
                    &field,
                    "give exactly one of password, ha1_md5, ha1_sha256".into(),
                ))
            }
        };
        agents.push(SipAgent {
            name: account.agent.clone(),
            credentials,
        });
    }
    let mut numbers = Vec::new();
    for (i, n) in sip.numbers.iter().enumerate() {
        numbers.push(NumberRoute {
            number: n.number.clone(),
            queue: queue(&format!("sip.numbers[{i}].queue"), &n.queue)?,
        });
    }
    let mut trunks = Vec::new();
    for (i, t) in sip.trunks.iter().enumerate() {
        let mut allow = Vec::new();
        for (j, a) in t.allow.iter().enumerate() {
            allow.push(IpNet::parse(a).ok_or_else(|| {
                error(
                    file,
                    &format!("sip.trunks[{i}].allow[{j}]"),
                    format!("{a:?} is not an address or network (such as 10.0.0.0/8)"),
                )
            })?);
        }
        trunks.push(Trunk {
            name: t.name.clone(),
            allow,
        });
    }
    Ok(ServerConfig {
        listen,
        switch: SwitchConfig {
            local: listen,
            realm: sip.realm.unwrap_or_else(|| "hotline".into()),
            secret,
            digest_algorithms,
            agents,
            numbers,
            default_queue,
            trunks,
            seed,
            transactions: TransactionConfig::default(),
            max_calls: sip.max_calls.unwrap_or(DEFAULT_MAX_CALLS),
            first_contact_id: 1,
        },
        routing,
        demo_passwords: Vec::new(),
    })
}

/// Reads a configuration file.
pub fn load(path: &Path, seed: u64, secret: [u8; 32]) -> Result<ServerConfig, Diagnostics> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| error(&file, "", format!("cannot read the file: {e}")))?;
    parse(&file, &text, seed, secret)
}

/// The demo: one queue, four agents `1001`–`1004` with passwords made from `seed`, every
/// number goes to the queue, calls accepted from loopback only.
pub fn demo(listen: SocketAddr, seed: u64, secret: [u8; 32]) -> ServerConfig {
    let mut state = seed;
    let passwords: Vec<(String, String)> = (1001..=1004)
        .map(|n| {
            let password = format!("{:010x}", hotline_sip::splitmix64(&mut state) >> 24);
            (n.to_string(), password)
        })
        .collect();
    let mut text = String::from(
        "[sip]\nrealm = \"hotline\"\ndefault_queue = \"general\"\n\
         [[sip.trunks]]\nname = \"loopback\"\nallow = [\"127.0.0.0/8\", \"::1\"]\n",
    );
    for (user, password) in &passwords {
        text.push_str(&format!(
            "[[sip.accounts]]\nagent = \"{user}\"\npassword = \"{password}\"\n"
        ));
    }
    text.push_str(
        "[routing]\n[routing.offers]\noffer_timeout = 15\n[[routing.queues]]\nname = \"general\"\n",
    );
    for (user, _) in &passwords {
        text.push_str(&format!(
            "[[routing.agents]]\nname = \"{user}\"\nqueues = [\"general\"]\n"
        ));
    }
    let mut config = parse("demo", &text, seed, secret).expect("the demo configuration is valid");
    config.listen = listen;
    config.switch.local = listen;
    config.demo_passwords = passwords;
    config
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_configuration_parses() {
        let config = demo("127.0.0.1:5060".parse().unwrap(), 1, [0; 32]);
        assert_eq!(config.switch.agents.len(), 4);
        assert_eq!(config.demo_passwords.len(), 4);
        assert!(config.switch.default_queue.is_some());
    }

    #[test]
    fn a_number_for_an_unknown_queue_is_refused_with_its_field() {
        let text = "[sip]\n[[sip.numbers]]\nnumber = \"1\"\nqueue = \"nope\"\n\
                    [routing]\n[[routing.queues]]\nname = \"general\"\n\
                    [[routing.agents]]\nname = \"ann\"\nqueues = [\"general\"]\n";
        let error = parse("x.toml", text, 1, [0; 32]).unwrap_err().to_string();
        assert!(error.contains("sip.numbers[0].queue"), "{error}");
        assert!(error.contains("nope"), "{error}");
    }
}
