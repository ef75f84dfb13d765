//! JWT verification with a pinned algorithm, and the `Caller` extractor handlers take.

use std::{collections::HashMap, future::Future, pin::Pin, sync::Arc};

use actix_web::{dev::Payload, web, FromRequest, HttpRequest};
use jsonwebtoken::{
    decode, decode_header, encode, jwk::JwkSet, DecodingKey, EncodingKey, Header, Validation,
};
use serde::{Deserialize, Serialize};

use crate::{
    access::{self, Action, Role},
    config::{JwtKey, JwtSettings, Secret, MIN_SECRET_BYTES},
    error::ApiError,
};

/// Largest `Authorization` header accepted; anything longer is refused before decoding.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;
/// Clock skew tolerated on `exp` and `nbf`.
pub const LEEWAY_SECONDS: u64 = 30;

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub roles: Vec<Role>,
    pub iss: String,
    pub aud: String,
    pub exp: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub sub: String,
    pub roles: Vec<Role>,
    pub name: Option<String>,
}

impl Caller {
    /// Refuses with 403 naming the roles needed unless the matrix allows the action.
    pub fn require(&self, action: Action) -> Result<(), ApiError> {
        access::require(&self.roles, action)
    }
}

enum Keys {
    Single(DecodingKey),
    /// From a JWKS file, chosen by the token's `kid`.
    Set(HashMap<String, DecodingKey>),
}

/// Verifies tokens; built once at start.
pub struct Verifier {
    keys: Keys,
    validation: Validation,
    max_ttl_seconds: u64,
    /// Tokens this instance has verified, with their callers: a caller sends the same token
    /// with every request until it expires, and verifying it again (base64, the claims' JSON,
    /// the HMAC or signature) was a third of the instructions of a cached GET (callgrind).
    /// Only the passing of time can make a verified token invalid (the keys are fixed at start),
    /// so a hit is checked against `exp` again.
    verified: std::sync::Mutex<HashMap<Box<str>, Verified>>,
}

struct Verified {
    caller: Caller,
    exp: u64,
}

/// At most this many verified tokens are kept (all dropped at once beyond it), each at most
/// `MAX_CACHED_TOKEN_BYTES`: about 2 MB at worst, and only of tokens that verified.
const MAX_VERIFIED: usize = 1024;
const MAX_CACHED_TOKEN_BYTES: usize = 2048;

impl Verifier {
    pub fn new(settings: &JwtSettings) -> Result<Self, String> {
        let alg = settings.algorithm.as_jsonwebtoken();
        let keys = match &settings.key {
            JwtKey::Secret(_) | JwtKey::GeneratedSecret(_) => Keys::Single(
                DecodingKey::from_secret(&hs256_secret(settings)?.0)
                    .map_err(|e| format!("the HS256 secret: {e}"))?,
            ),
            JwtKey::PublicKeyFile(path) => {
                let pem = std::fs::read(path)
                    .map_err(|e| format!("JWT_PUBLIC_KEY_FILE {}: {e}", path.display()))?;
                let key = match alg {
                    jsonwebtoken::Algorithm::RS256 => DecodingKey::from_rsa_pem(&pem),
                    _ => DecodingKey::from_ec_pem(&pem),
                }
                .map_err(|e| {
                    format!(
                        "JWT_PUBLIC_KEY_FILE {}: not a usable public key: {e}",
                        path.display()
                    )
                })?;
                Keys::Single(key)
            }
            JwtKey::JwksFile(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("JWT_JWKS_FILE {}: {e}", path.display()))?;
                let set: JwkSet = serde_json::from_str(&text)
                    .map_err(|e| format!("JWT_JWKS_FILE {}: not a JWK set: {e}", path.display()))?;
                let mut keys = HashMap::new();
                for jwk in &set.keys {
                    let kid = jwk.common.key_id.clone().ok_or_else(|| {
                        format!("JWT_JWKS_FILE {}: every key needs a kid", path.display())
                    })?;
                    let key = DecodingKey::from_jwk(jwk)
                        .map_err(|e| format!("JWT_JWKS_FILE {}: key {kid}: {e}", path.display()))?;
                    keys.insert(kid, key);
                }
                if keys.is_empty() {
                    return Err(format!("JWT_JWKS_FILE {}: holds no keys", path.display()));
                }
                Keys::Set(keys)
            }
        };
        // The algorithm is pinned here; the token's header never chooses it.
        let mut validation = Validation::new(alg);
        validation.set_required_spec_claims(&["exp", "sub", "iss", "aud"]);
        validation.set_issuer(&[&settings.issuer]);
        validation.set_audience(&[&settings.audience]);
        validation.leeway = LEEWAY_SECONDS;
        validation.validate_nbf = true;
        validation.validate_exp = true;
        Ok(Verifier {
            keys,
            validation,
            max_ttl_seconds: settings.max_ttl_seconds,
            verified: Default::default(),
        })
    }

    /// The caller `token` names, or 401 saying why not.
    pub fn verify(&self, token: &str) -> Result<Caller, ApiError> {
        let now = jsonwebtoken::get_current_timestamp();
        let mut verified = self.verified.lock().unwrap_or_else(|e| e.into_inner());
        // Expired as `decode` has it: exp < now - leeway (then `decode` says so).
        let current = |v: &&Verified| v.exp >= now.saturating_sub(LEEWAY_SECONDS);
        if let Some(v) = verified.get(token).filter(current) {
            return Ok(v.caller.clone());
        }
        drop(verified);
        let (caller, exp) = self.decode(token)?;
        if token.len() <= MAX_CACHED_TOKEN_BYTES {
            verified = self.verified.lock().unwrap_or_else(|e| e.into_inner());
            if verified.len() >= MAX_VERIFIED {
                verified.clear();
            }
            let v = Verified {
                caller: caller.clone(),
                exp,
            };
            verified.insert(token.into(), v);
        }
        Ok(caller)
    }

    /// Verifies `token` in full: its caller and `exp`.
    fn decode(&self, token: &str) -> Result<(Caller, u64), ApiError> {
        let key = match &self.keys {
            Keys::Single(k) => k,
            Keys::Set(set) => {
                let header = decode_header(token)
                    .map_err(|_| ApiError::Unauthorized("the token is malformed".into()))?;
                let kid = header
                    .kid
                    .ok_or_else(|| ApiError::Unauthorized("the token has no kid".into()))?;
                set.get(&kid)
                    .ok_or_else(|| ApiError::Unauthorized("the token's kid is not known".into()))?
            }
        };
        let data = decode::<Claims>(token, key, &self.validation).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind as K;
            let why = match e.kind() {
                K::ExpiredSignature => "the token has expired",
                K::ImmatureSignature => "the token is not valid yet (nbf)",
                K::InvalidIssuer => "the token was issued by another issuer",
                K::InvalidAudience => "the token is meant for another audience",
                K::InvalidSignature => "the token's signature does not verify",
                K::InvalidAlgorithm => "the token is signed with another algorithm",
                K::MissingRequiredClaim(_) => {
                    "the token lacks a required claim (sub, iss, aud, exp)"
                }
                K::Json(_) => {
                    "the token's claims are malformed (roles must be a list of known roles)"
                }
                _ => "the token is malformed",
            };
            ApiError::Unauthorized(why.into())
        })?;
        let c = data.claims;
        if c.sub.trim().is_empty() {
            return Err(ApiError::Unauthorized("the token's sub is empty".into()));
        }
        // The caller's names reach the audit trail, logs and keys as text: no control characters.
        if [Some(&c.sub), c.name.as_ref()]
            .into_iter()
            .flatten()
            .any(|v| v.chars().any(char::is_control))
        {
            return Err(ApiError::Unauthorized(
                "the token's sub or name holds control characters".into(),
            ));
        }
        if lifetime(&c, jsonwebtoken::get_current_timestamp()) > self.max_ttl_seconds {
            return Err(ApiError::Unauthorized(format!(
                "the token's lifetime exceeds the {} seconds this service accepts (JWT_MAX_TTL)",
                self.max_ttl_seconds
            )));
        }
        let caller = Caller {
            sub: c.sub,
            roles: c.roles,
            name: c.name,
        };
        Ok((caller, c.exp))
    }
}

/// A token's lifetime in seconds: from `iat` to `exp`; without `iat`, from `nbf`; without
/// either, from `now` (what is left of it).
pub fn lifetime(c: &Claims, now: u64) -> u64 {
    c.exp.saturating_sub(c.iat.or(c.nbf).unwrap_or(now))
}

/// The HS256 secret: configured, or generated once and kept under the data folder (mode 0600).
pub fn hs256_secret(settings: &JwtSettings) -> Result<Secret, String> {
    match &settings.key {
        JwtKey::Secret(s) => Ok(s.clone()),
        JwtKey::GeneratedSecret(path) => {
            if let Ok(bytes) = std::fs::read(path) {
                if bytes.len() >= MIN_SECRET_BYTES {
                    return Ok(Secret(bytes));
                }
                return Err(format!(
                    "{} holds a secret under {MIN_SECRET_BYTES} bytes; delete it to make a new one",
                    path.display()
                ));
            }
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            }
            let raw: [u8; 48] = crate::model::secret_bytes();
            let text =
                base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, raw);
            write_private(path, text.as_bytes()).map_err(|e| format!("{}: {e}", path.display()))?;
            log::info!(
                "no JWT_SECRET configured: generated a random HS256 secret and kept it in {} (mode 0600); `token` uses it",
                path.display()
            );
            Ok(Secret(text.into_bytes()))
        }
        _ => Err(
            "this configuration verifies with a public key; it has no secret to sign with".into(),
        ),
    }
}

#[cfg(unix)]
fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::{io::Write, os::unix::fs::OpenOptionsExt};
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)
}

#[cfg(not(unix))]
fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

/// Signs a token with the configured HS256 secret (the `token` subcommand, an operator's tool):
/// at most `JWT_MAX_TTL` long, and with a warning on stderr when the secret is a configured
/// one, whose tokens every instance sharing it accepts.
pub fn mint(
    settings: &JwtSettings,
    sub: &str,
    roles: &[Role],
    name: Option<String>,
    ttl_seconds: u64,
) -> Result<String, String> {
    if ttl_seconds > settings.max_ttl_seconds {
        return Err(format!(
            "--ttl {ttl_seconds} exceeds JWT_MAX_TTL ({} seconds); the service would refuse the token",
            settings.max_ttl_seconds
        ));
    }
    if sub
        .chars()
        .chain(name.iter().flat_map(|n| n.chars()))
        .any(char::is_control)
    {
        return Err("--sub and --name must not hold control characters".into());
    }
    let secret = hs256_secret(settings)?;
    if matches!(settings.key, JwtKey::Secret(_)) {
        eprintln!(
            "warning: signing with the configured JWT_SECRET; this token is valid on every instance sharing it"
        );
    }
    let now = chrono::Utc::now().timestamp() as u64;
    let claims = Claims {
        sub: sub.into(),
        roles: roles.to_vec(),
        iss: settings.issuer.clone(),
        aud: settings.audience.clone(),
        exp: now + ttl_seconds,
        nbf: None,
        iat: Some(now),
        name,
    };
    let key = EncodingKey::from_secret(&secret.0).map_err(|e| format!("the HS256 secret: {e}"))?;
    encode(&Header::new(jsonwebtoken::Algorithm::HS256), &claims, &key).map_err(|e| e.to_string())
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let result = authenticate(req);
        Box::pin(async move { result })
    }
}

/// The caller a request's `Authorization: Bearer` token names (the scheme in any case, as
/// RFC 9110 §11.1 has it), or 401. The one way the service learns who is calling.
pub fn authenticate(req: &HttpRequest) -> Result<Caller, ApiError> {
    let verifier = req
        .app_data::<web::Data<Arc<Verifier>>>()
        .ok_or_else(|| ApiError::internal("verifier not configured"))?;
    let header = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .ok_or_else(|| {
            ApiError::Unauthorized("an Authorization: Bearer token is required".into())
        })?;
    if header.len() > MAX_TOKEN_BYTES {
        return Err(ApiError::Unauthorized("the token is too large".into()));
    }
    let value = header
        .to_str()
        .map_err(|_| ApiError::Unauthorized("the Authorization header is malformed".into()))?;
    let token = value
        .split_once(' ')
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            ApiError::Unauthorized("the Authorization header must be Bearer <token>".into())
        })?;
    verifier.verify(token)
}
