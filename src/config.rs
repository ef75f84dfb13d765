//! Settings from environment variables, validated once at start.
//! Secrets are held in `Secret` so that a `{:?}` of the settings can never print them.

use std::{fmt, net::SocketAddr, path::PathBuf};

/// A value that must never reach a log line.
#[derive(Clone)]
pub struct Secret(pub Vec<u8>);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JwtAlgorithm {
    Hs256,
    Rs256,
    Es256,
}

impl JwtAlgorithm {
    pub fn as_jsonwebtoken(self) -> jsonwebtoken::Algorithm {
        match self {
            JwtAlgorithm::Hs256 => jsonwebtoken::Algorithm::HS256,
            JwtAlgorithm::Rs256 => jsonwebtoken::Algorithm::RS256,
            JwtAlgorithm::Es256 => jsonwebtoken::Algorithm::ES256,
        }
    }
}

/// Where the verification key comes from.
#[derive(Clone, Debug)]
pub enum JwtKey {
    /// HS256 secret from `JWT_SECRET`.
    Secret(Secret),
    /// HS256 secret generated on first start and kept in this file.
    GeneratedSecret(PathBuf),
    PublicKeyFile(PathBuf),
    JwksFile(PathBuf),
}

#[derive(Clone, Debug)]
pub struct JwtSettings {
    pub algorithm: JwtAlgorithm,
    pub key: JwtKey,
    pub issuer: String,
    pub audience: String,
    /// The longest lifetime a token may have (`JWT_MAX_TTL`), in seconds; see `auth::lifetime`.
    pub max_ttl_seconds: u64,
}

#[derive(Clone, Debug)]
pub struct Settings {
    pub database_url: String,
    pub bind: SocketAddr,
    pub jwt: JwtSettings,
    pub pool_size: u32,
    /// Folder for the embedded database and the generated secret.
    pub data_dir: PathBuf,
    /// HTTP worker threads; default one per core.
    pub workers: Option<usize>,
    /// Bytes of rendered records kept in memory (`cache.rs`); 0 keeps none.
    pub render_cache_bytes: u64,
    /// When SQLite syncs an acknowledged COMMIT to disk.
    pub sqlite_synchronous: SqliteSync,
}

/// SQLite's `synchronous` setting in WAL mode. `Full` syncs the WAL at every COMMIT, so an
/// acknowledged write survives a power cut or an operating-system crash, as on PostgreSQL;
/// `Normal` syncs only at checkpoints, so such a crash can roll back the last acknowledged
/// writes (a process crash loses nothing either way).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SqliteSync {
    #[default]
    Full,
    Normal,
}

impl SqliteSync {
    pub fn pragma(self) -> &'static str {
        match self {
            SqliteSync::Full => "FULL",
            SqliteSync::Normal => "NORMAL",
        }
    }
}

pub const DEFAULT_ISSUER: &str = "rvn-intl-api";
pub const DEFAULT_AUDIENCE: &str = "rvn-intl-api";
pub const MIN_SECRET_BYTES: usize = 32;
/// `JWT_MAX_TTL`'s default: 12 hours.
pub const DEFAULT_MAX_TTL_SECONDS: u64 = 12 * 3600;
/// `JWT_MAX_TTL`'s largest value: 30 days.
pub const MAX_MAX_TTL_SECONDS: u64 = 30 * 24 * 3600;

#[derive(Debug, thiserror::Error)]
#[error("configuration error: {0}")]
pub struct ConfigError(pub String);

impl Settings {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads settings through `get`, so tests can pass their own environment.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |k: &str| get(k).filter(|v| !v.trim().is_empty());
        let data_dir = PathBuf::from(get("DATA_DIR").unwrap_or_else(|| "data".into()));
        let database_url = get("DATABASE_URL")
            .unwrap_or_else(|| data_dir.join("intl.sqlite3").to_string_lossy().into_owned());
        let bind_text = get("BIND").unwrap_or_else(|| "127.0.0.1:8080".into());
        let bind = bind_text.parse().map_err(|_| {
            ConfigError(format!(
                "BIND must be host:port with a numeric IP, e.g. 127.0.0.1:8080 (got {bind_text:?})"
            ))
        })?;
        let pool_size = match get("DB_POOL_SIZE") {
            None => 8,
            Some(v) => match v.parse::<u32>() {
                Ok(n) if (1..=256).contains(&n) => n,
                _ => {
                    return Err(ConfigError(format!(
                        "DB_POOL_SIZE must be a whole number from 1 to 256 (got {v:?})"
                    )))
                }
            },
        };
        let algorithm = match get("JWT_ALGORITHM").as_deref() {
            None | Some("HS256") => JwtAlgorithm::Hs256,
            Some("RS256") => JwtAlgorithm::Rs256,
            Some("ES256") => JwtAlgorithm::Es256,
            Some(other) => {
                return Err(ConfigError(format!(
                    "JWT_ALGORITHM must be HS256, RS256 or ES256 (got {other:?})"
                )))
            }
        };
        let secret = get("JWT_SECRET");
        let public_key = get("JWT_PUBLIC_KEY_FILE");
        let jwks = get("JWT_JWKS_FILE");
        let key = match algorithm {
            JwtAlgorithm::Hs256 => {
                if public_key.is_some() || jwks.is_some() {
                    return Err(ConfigError(
                        "JWT_PUBLIC_KEY_FILE and JWT_JWKS_FILE need JWT_ALGORITHM=RS256 or ES256"
                            .into(),
                    ));
                }
                match secret {
                    Some(s) if s.len() < MIN_SECRET_BYTES => {
                        return Err(ConfigError(format!(
                            "JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes (it has {})",
                            s.len()
                        )))
                    }
                    Some(s) => JwtKey::Secret(Secret(s.into_bytes())),
                    None => JwtKey::GeneratedSecret(data_dir.join("jwt-secret")),
                }
            }
            JwtAlgorithm::Rs256 | JwtAlgorithm::Es256 => {
                if secret.is_some() {
                    return Err(ConfigError(
                        "JWT_SECRET is for HS256; RS256 and ES256 take JWT_PUBLIC_KEY_FILE or JWT_JWKS_FILE".into(),
                    ));
                }
                match (public_key, jwks) {
                    (Some(p), None) => JwtKey::PublicKeyFile(p.into()),
                    (None, Some(j)) => JwtKey::JwksFile(j.into()),
                    _ => return Err(ConfigError(
                        "RS256 and ES256 need exactly one of JWT_PUBLIC_KEY_FILE or JWT_JWKS_FILE"
                            .into(),
                    )),
                }
            }
        };
        let workers = match get("WORKERS") {
            None => None,
            Some(v) => match v.parse::<usize>() {
                Ok(n) if (1..=64).contains(&n) => Some(n),
                _ => {
                    return Err(ConfigError(format!(
                        "WORKERS must be a whole number from 1 to 64 (got {v:?})"
                    )))
                }
            },
        };
        let render_cache_bytes = match get("RENDER_CACHE_MB") {
            None => 2 << 20,
            Some(v) => match v.parse::<u64>() {
                Ok(n) if n <= 4096 => n << 20,
                _ => {
                    return Err(ConfigError(format!(
                        "RENDER_CACHE_MB must be a whole number from 0 to 4096 (got {v:?})"
                    )))
                }
            },
        };
        let sqlite_synchronous = match get("SQLITE_SYNCHRONOUS").as_deref() {
            None | Some("full") => SqliteSync::Full,
            Some("normal") => SqliteSync::Normal,
            Some(v) => {
                return Err(ConfigError(format!(
                    "SQLITE_SYNCHRONOUS must be full or normal (got {v:?})"
                )))
            }
        };
        let max_ttl_seconds = match get("JWT_MAX_TTL") {
            None => DEFAULT_MAX_TTL_SECONDS,
            Some(v) => match v.parse::<u64>() {
                Ok(n) if (60..=MAX_MAX_TTL_SECONDS).contains(&n) => n,
                _ => {
                    return Err(ConfigError(format!(
                        "JWT_MAX_TTL must be a whole number of seconds from 60 to {MAX_MAX_TTL_SECONDS} (got {v:?})"
                    )))
                }
            },
        };
        Ok(Settings {
            sqlite_synchronous,
            workers,
            render_cache_bytes,
            database_url,
            bind,
            pool_size,
            data_dir,
            jwt: JwtSettings {
                algorithm,
                key,
                issuer: get("JWT_ISSUER").unwrap_or_else(|| DEFAULT_ISSUER.into()),
                audience: get("JWT_AUDIENCE").unwrap_or_else(|| DEFAULT_AUDIENCE.into()),
                max_ttl_seconds,
            },
        })
    }

    pub fn is_postgres(&self) -> bool {
        is_postgres_url(&self.database_url)
    }
}

pub fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn sqlite_synchronous_is_full_unless_normal_is_chosen() {
        assert_eq!(settings(&[]).unwrap().sqlite_synchronous, SqliteSync::Full);
        assert_eq!(
            settings(&[("SQLITE_SYNCHRONOUS", "normal")])
                .unwrap()
                .sqlite_synchronous,
            SqliteSync::Normal
        );
        for bad in ["off", "FULL", "2"] {
            assert!(settings(&[("SQLITE_SYNCHRONOUS", bad)])
                .unwrap_err()
                .0
                .contains("SQLITE_SYNCHRONOUS"));
        }
    }

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_are_embedded_sqlite_on_loopback() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.bind.to_string(), "127.0.0.1:8080");
        assert!(!s.is_postgres());
        assert!(matches!(s.jwt.key, JwtKey::GeneratedSecret(_)));
    }

    #[test]
    fn short_secret_is_refused() {
        let err = settings(&[("JWT_SECRET", "too-short")]).unwrap_err();
        assert!(err.0.contains("at least 32 bytes"), "{}", err.0);
    }

    #[test]
    fn bad_values_are_named() {
        assert!(settings(&[("BIND", "localhost")])
            .unwrap_err()
            .0
            .contains("BIND"));
        assert!(settings(&[("DB_POOL_SIZE", "0")])
            .unwrap_err()
            .0
            .contains("DB_POOL_SIZE"));
        assert!(settings(&[("JWT_ALGORITHM", "none")])
            .unwrap_err()
            .0
            .contains("JWT_ALGORITHM"));
        assert!(settings(&[("JWT_ALGORITHM", "RS256")])
            .unwrap_err()
            .0
            .contains("JWT_PUBLIC_KEY_FILE"));
        for bad in ["-1", "4097", "lots"] {
            assert!(settings(&[("RENDER_CACHE_MB", bad)])
                .unwrap_err()
                .0
                .contains("RENDER_CACHE_MB"));
        }
    }

    #[test]
    fn render_cache_is_sized_in_megabytes() {
        assert_eq!(settings(&[]).unwrap().render_cache_bytes, 2 << 20);
        assert_eq!(
            settings(&[("RENDER_CACHE_MB", "0")])
                .unwrap()
                .render_cache_bytes,
            0
        );
        assert_eq!(
            settings(&[("RENDER_CACHE_MB", "16")])
                .unwrap()
                .render_cache_bytes,
            16 << 20
        );
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let s = settings(&[("JWT_SECRET", "a-very-long-secret-of-at-least-32-bytes!!")]).unwrap();
        assert!(!format!("{s:?}").contains("a-very-long-secret"));
    }
}
