//! The REST server's worker keys (Kafka's `RestServerConfig`) and their parsed form.
//!
//! `listeners` defaults to `http://127.0.0.1:8083`: unlike Kafka, the API is only reachable
//! from the same machine until a listener names another interface (`http://0.0.0.0:8083` or
//! Kafka's `http://:8083` for all of them). `rest.extension.classes` accepts Kafka's
//! `BasicAuthSecurityRestExtension`, which turns on HTTP basic authentication with the users
//! of `rest.basic.auth.credentials.file` (see [`super::auth`]). `https://` listeners (with
//! the `tls` feature) read their certificate from the `listeners.https.ssl.*` keys (see
//! [`super::tls`]). Keys for features this build lacks (CORS, extra response headers, other
//! REST extensions) are declared so that setting them is an error instead of being silently
//! ignored.

use std::path::PathBuf;

use sluice_api::config::{
    ConfigDef, ConfigKey, ConfigType, ConfigValue, Importance, ParsedConfig, Validator,
};

/// Worker key: the URLs the REST API listens on.
pub const LISTENERS: &str = "listeners";
/// Worker key: listeners of the `/admin` endpoints (unset: `listeners`; empty: none).
pub const ADMIN_LISTENERS: &str = "admin.listeners";
/// Worker key: the host name other workers and statuses use for this worker.
pub const ADVERTISED_HOST: &str = "rest.advertised.host.name";
/// Worker key: the advertised port.
pub const ADVERTISED_PORT: &str = "rest.advertised.port";
/// Worker key: the advertised listener scheme.
pub const ADVERTISED_LISTENER: &str = "rest.advertised.listener";
/// Worker key: whether connectors' active topics are tracked.
pub const TOPIC_TRACKING_ENABLE: &str = "topic.tracking.enable";
/// Worker key: whether active topics may be reset through the API.
pub const TOPIC_TRACKING_ALLOW_RESET: &str = "topic.tracking.allow.reset";
/// Worker key: REST extension plugins (only the basic-authentication one exists).
pub const REST_EXTENSION_CLASSES: &str = "rest.extension.classes";
/// Worker key: the file of `user=password` lines basic authentication accepts.
pub const BASIC_AUTH_CREDENTIALS_FILE: &str = "rest.basic.auth.credentials.file";
/// Kafka's class name of the basic-authentication REST extension.
pub const BASIC_AUTH_EXTENSION: &str =
    "org.apache.kafka.connect.rest.basic.auth.extension.BasicAuthSecurityRestExtension";
/// The default listener.
pub const DEFAULT_LISTENER: &str = "http://127.0.0.1:8083";

/// Keys of features this build does not have; any non-empty value is an error.
const UNSUPPORTED: &[(&str, &str)] = &[
    (
        "access.control.allow.origin",
        "Value of the Access-Control-Allow-Origin header for cross-origin requests. CORS is not supported by this build yet: leave it empty.",
    ),
    (
        "access.control.allow.methods",
        "Methods allowed for cross-origin requests. CORS is not supported by this build yet: leave it empty.",
    ),
    (
        "response.http.headers.config",
        "Rules that add headers to every response. Not supported by this build yet: leave it empty.",
    ),
];

/// One listener: scheme, host (empty: every interface) and port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    /// `http` or `https`.
    pub scheme: String,
    /// Host name or address; empty for every interface.
    pub host: String,
    /// Port; 0 picks a free one.
    pub port: u16,
}

impl Listener {
    /// Parses `http://host:port` (host may be empty or a bracketed IPv6 address).
    pub fn parse(url: &str) -> Result<Listener, String> {
        let url = url.trim();
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| format!("'{url}' is not a URL like http://127.0.0.1:8083"))?;
        let scheme = scheme.to_ascii_lowercase();
        if scheme == "https" && !cfg!(feature = "tls") {
            return Err(format!(
                "'{url}': https listeners need a build with the 'tls' feature; use http"
            ));
        }
        if scheme != "http" && scheme != "https" {
            return Err(format!("'{url}': the scheme must be http or https"));
        }
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        let (host, port) = rest
            .rsplit_once(':')
            .ok_or_else(|| format!("'{url}' has no port (e.g. http://127.0.0.1:8083)"))?;
        if host.contains('/') || port.contains('/') {
            return Err(format!("'{url}' must not have a path"));
        }
        let port = port
            .parse::<u16>()
            .map_err(|_| format!("'{url}' has an invalid port '{port}'"))?;
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        Ok(Listener {
            scheme,
            host: host.to_string(),
            port,
        })
    }

    /// The address to bind: an empty host means every interface.
    pub fn bind_address(&self) -> String {
        match self.host.as_str() {
            "" => format!("0.0.0.0:{}", self.port),
            h if h.contains(':') => format!("[{h}]:{}", self.port),
            h => format!("{h}:{}", self.port),
        }
    }
}

fn check_listeners(key: &str, value: &ConfigValue) -> Result<(), String> {
    match value {
        ConfigValue::List(items) => {
            if items.is_empty() && key == LISTENERS {
                return Err("at least one listener is needed".into());
            }
            for item in items {
                Listener::parse(item)?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn check_advertised_listener(_key: &str, value: &ConfigValue) -> Result<(), String> {
    match value.as_str() {
        None | Some("http") => Ok(()),
        Some("https") if cfg!(feature = "tls") => Ok(()),
        Some("https") => Err("https listeners need a build with the 'tls' feature".into()),
        Some(_) => Err("String must be one of: http, https".into()),
    }
}

/// Whether a `rest.extension.classes` entry names the basic-authentication extension (by
/// its full or simple class name).
fn is_basic_auth(class: &str) -> bool {
    let class = class.trim();
    class == BASIC_AUTH_EXTENSION || class == "BasicAuthSecurityRestExtension"
}

fn check_extensions(_key: &str, value: &ConfigValue) -> Result<(), String> {
    match value {
        ConfigValue::List(items) => match items.iter().find(|c| !is_basic_auth(c)) {
            Some(other) => Err(format!(
                "unknown REST extension '{other}'; the only one is {BASIC_AUTH_EXTENSION}"
            )),
            None => Ok(()),
        },
        _ => Ok(()),
    }
}

fn check_unsupported(_key: &str, value: &ConfigValue) -> Result<(), String> {
    let set = match value {
        ConfigValue::String(s) => !s.is_empty(),
        ConfigValue::List(items) => !items.is_empty(),
        _ => false,
    };
    if set {
        Err("not supported by this build yet; leave it empty".into())
    } else {
        Ok(())
    }
}

/// The declaration of the REST server keys.
pub fn rest_config_def() -> ConfigDef {
    let mut def = ConfigDef::new()
        .define(
            ConfigKey::new(LISTENERS, ConfigType::List)
                .default_value(DEFAULT_LISTENER)
                .validator(Validator::Custom(check_listeners))
                .importance(Importance::Low)
                .doc("Comma-separated URLs the REST API listens on, like http://127.0.0.1:8083 or https://0.0.0.0:8443 (https takes its certificate from listeners.https.ssl.keystore.location or ssl.keystore.location, a PEM file; see docs/rest-api.md). The default only accepts connections from this machine; use http://0.0.0.0:8083 (or http://:8083) for every interface. Port 0 picks a free port (the log says which)."),
        )
        .define(
            ConfigKey::new(ADMIN_LISTENERS, ConfigType::List)
                .default_null()
                .validator(Validator::Custom(check_listeners))
                .importance(Importance::Low)
                .doc("URLs for the /admin endpoints (loggers). Unset: they are served on 'listeners'; empty: they are not served."),
        )
        .define(
            ConfigKey::new(ADVERTISED_HOST, ConfigType::String)
                .default_null()
                .importance(Importance::Low)
                .doc("Host name shown as this worker's id in statuses (default: the listener's host, or the machine's name when it listens on every interface)."),
        )
        .define(
            ConfigKey::new(ADVERTISED_PORT, ConfigType::Int)
                .default_null()
                .validator(Validator::Between(0, 65535))
                .importance(Importance::Low)
                .doc("Port shown as part of this worker's id (default: the port the listener bound)."),
        )
        .define(
            ConfigKey::new(ADVERTISED_LISTENER, ConfigType::String)
                .default_null()
                .validator(Validator::Custom(check_advertised_listener))
                .importance(Importance::Low)
                .doc("Which listener's scheme to advertise in this worker's URL: http or https (default: the first listener's)."),
        )
        .define(
            ConfigKey::new(TOPIC_TRACKING_ENABLE, ConfigType::Boolean)
                .default_value("true")
                .importance(Importance::Low)
                .doc("Track the topics each connector uses (GET /connectors/{name}/topics)."),
        )
        .define(
            ConfigKey::new(TOPIC_TRACKING_ALLOW_RESET, ConfigType::Boolean)
                .default_value("true")
                .importance(Importance::Low)
                .doc("Allow PUT /connectors/{name}/topics/reset."),
        )
        .define(
            ConfigKey::new(REST_EXTENSION_CLASSES, ConfigType::List)
                .default_value("")
                .validator(Validator::Custom(check_extensions))
                .importance(Importance::Low)
                .doc("REST extensions. The only one is org.apache.kafka.connect.rest.basic.auth.extension.BasicAuthSecurityRestExtension (or BasicAuthSecurityRestExtension): every request must then carry HTTP basic credentials of a user of rest.basic.auth.credentials.file, or it is answered 401."),
        )
        .define(
            ConfigKey::new(BASIC_AUTH_CREDENTIALS_FILE, ConfigType::String)
                .default_null()
                .importance(Importance::Low)
                .doc("Properties file of user=password lines accepted by the basic-authentication extension (read at startup; required when the extension is on). Keep it readable only by the worker's user."),
        );
    for (key, doc) in UNSUPPORTED {
        def = def.define(
            ConfigKey::new(*key, ConfigType::String)
                .default_value("")
                .validator(Validator::Custom(check_unsupported))
                .importance(Importance::Low)
                .doc(*doc),
        );
    }
    def
}

/// The REST server settings of a worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestSettings {
    /// Where the API listens.
    pub listeners: Vec<Listener>,
    /// Where the `/admin` endpoints listen: `None` on `listeners`, empty for nowhere.
    pub admin_listeners: Option<Vec<Listener>>,
    /// `rest.advertised.host.name`.
    pub advertised_host: Option<String>,
    /// `rest.advertised.port`.
    pub advertised_port: Option<u16>,
    /// `rest.advertised.listener`: the scheme of this worker's URL (default: the first
    /// listener's).
    pub advertised_listener: Option<String>,
    /// `topic.tracking.enable`.
    pub topic_tracking: bool,
    /// `topic.tracking.allow.reset`.
    pub topic_tracking_reset: bool,
    /// Basic authentication, when `rest.extension.classes` turns it on.
    pub basic_auth: Option<BasicAuthSettings>,
    /// The TLS settings (`listeners.https.ssl.*`, `ssl.*`), when a listener is https.
    pub tls: Option<super::tls::TlsSettings>,
    /// The same keys, for forwarding requests to https workers (whatever the listeners).
    pub forward_tls: super::tls::TlsSettings,
}

/// Where basic authentication finds its users.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BasicAuthSettings {
    /// `rest.basic.auth.credentials.file`; `None` when missing (an error at startup).
    pub credentials_file: Option<PathBuf>,
}

impl Default for RestSettings {
    fn default() -> Self {
        RestSettings {
            listeners: vec![Listener {
                scheme: "http".into(),
                host: "127.0.0.1".into(),
                port: 8083,
            }],
            admin_listeners: None,
            advertised_host: None,
            advertised_port: None,
            advertised_listener: None,
            topic_tracking: true,
            topic_tracking_reset: true,
            basic_auth: None,
            tls: None,
            forward_tls: super::tls::TlsSettings::default(),
        }
    }
}

impl RestSettings {
    /// Reads the settings from a worker config that passed validation against
    /// [`rest_config_def`].
    pub fn from_parsed(parsed: &ParsedConfig) -> RestSettings {
        let listeners = |items: &[String]| -> Vec<Listener> {
            items
                .iter()
                .filter_map(|u| Listener::parse(u).ok())
                .collect()
        };
        let defaults = RestSettings::default();
        let main = listeners(parsed.list(LISTENERS));
        let admin = match parsed.get(ADMIN_LISTENERS) {
            Some(ConfigValue::List(items)) => Some(listeners(items)),
            _ => None,
        };
        let https = main
            .iter()
            .chain(admin.iter().flatten())
            .any(|l| l.scheme == "https");
        RestSettings {
            listeners: if main.is_empty() {
                defaults.listeners
            } else {
                main
            },
            admin_listeners: admin,
            advertised_host: parsed
                .string(ADVERTISED_HOST)
                .map(str::to_string)
                .filter(|h| !h.is_empty()),
            advertised_port: parsed
                .int(ADVERTISED_PORT)
                .and_then(|p| u16::try_from(p).ok()),
            advertised_listener: parsed
                .string(ADVERTISED_LISTENER)
                .map(str::to_string)
                .filter(|l| !l.is_empty()),
            topic_tracking: parsed.boolean(TOPIC_TRACKING_ENABLE).unwrap_or(true),
            topic_tracking_reset: parsed.boolean(TOPIC_TRACKING_ALLOW_RESET).unwrap_or(true),
            basic_auth: parsed
                .list(REST_EXTENSION_CLASSES)
                .iter()
                .any(|c| is_basic_auth(c))
                .then(|| BasicAuthSettings {
                    credentials_file: parsed
                        .string(BASIC_AUTH_CREDENTIALS_FILE)
                        .filter(|f| !f.is_empty())
                        .map(PathBuf::from),
                }),
            tls: https.then(|| super::tls::TlsSettings::from_props(parsed.originals())),
            forward_tls: super::tls::TlsSettings::from_props(parsed.originals()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_api::config::ConfigMap;

    fn parse(pairs: &[(&str, &str)]) -> Result<RestSettings, Vec<String>> {
        let props: ConfigMap = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        rest_config_def()
            .parse(&props)
            .map(|p| RestSettings::from_parsed(&p))
            .map_err(|e| e.into_iter().map(|e| e.to_string()).collect())
    }

    #[test]
    fn listener_urls() {
        assert_eq!(
            Listener::parse("http://:8083").unwrap().bind_address(),
            "0.0.0.0:8083"
        );
        assert_eq!(
            Listener::parse("HTTP://[::1]:0/").unwrap().bind_address(),
            "[::1]:0"
        );
        assert_eq!(
            Listener::parse("http://localhost:9").unwrap().host,
            "localhost"
        );
        for bad in [
            "localhost:8083",
            "http://h",
            "http://h:x",
            "http://h:1/api",
            "ftp://h:1",
        ] {
            assert!(Listener::parse(bad).is_err(), "{bad}");
        }
        let https = Listener::parse("https://h:1");
        if cfg!(feature = "tls") {
            assert_eq!(https.unwrap().scheme, "https");
        } else {
            assert!(https.unwrap_err().contains("'tls' feature"));
        }
    }

    #[test]
    fn defaults_bind_loopback_and_track_topics() {
        let s = parse(&[]).unwrap();
        assert_eq!(s, RestSettings::default());
        assert_eq!(s.listeners[0].bind_address(), "127.0.0.1:8083");
    }

    #[test]
    fn settings_are_read_and_checked() {
        let s = parse(&[
            ("listeners", "http://0.0.0.0:0, http://127.0.0.1:0"),
            ("admin.listeners", ""),
            ("rest.advertised.host.name", "worker1"),
            ("rest.advertised.port", "9000"),
            ("topic.tracking.allow.reset", "false"),
        ])
        .unwrap();
        assert_eq!(s.listeners.len(), 2);
        assert_eq!(s.admin_listeners, Some(Vec::new()));
        assert_eq!(s.advertised_host.as_deref(), Some("worker1"));
        assert_eq!(s.advertised_port, Some(9000));
        assert!(!s.topic_tracking_reset);
        let https = parse(&[
            ("listeners", "http://127.0.0.1:0,https://127.0.0.1:0"),
            ("listeners.https.ssl.keystore.location", "/k.pem"),
        ]);
        if cfg!(feature = "tls") {
            let https = https.unwrap();
            let tls = https.tls.unwrap();
            assert_eq!(
                tls.get("ssl.keystore.location"),
                Some(("listeners.https.ssl.keystore.location", "/k.pem"))
            );
        } else {
            assert!(https.is_err());
        }
        assert_eq!(s.tls, None);
        let errors = parse(&[
            ("listeners", "ftp://0.0.0.0:8443"),
            ("access.control.allow.origin", "*"),
        ])
        .unwrap_err();
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].contains("listeners"), "{errors:?}");
        assert!(
            errors[1].contains("access.control.allow.origin"),
            "{errors:?}"
        );
    }
}
