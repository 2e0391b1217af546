//! Abuse limits: clients that probe many missing paths are rate limited with the
//! Workers rate-limiting binding `MISS_LIMIT_<ENV>` (per env: each env has its own
//! binding and namespace; per client: the key is the client's address).
//!
//! Only a request that already missed asks the limiter, so a valid redirect is never
//! slowed or refused by it. The limiter fails open: when the binding is missing or
//! answers with an error, the miss is answered as a plain 404.

use worker::{console_warn, Env, RateLimiter};

pub struct MissLimiter {
    limiter: Option<RateLimiter>,
}

impl MissLimiter {
    pub fn from_env(env: &Env, env_name: &str) -> Self {
        let name = format!("MISS_LIMIT_{}", env_name.to_ascii_uppercase());
        MissLimiter { limiter: env.rate_limiter(&name).ok() }
    }

    /// Whether this client has missed too often lately. `false` without a client
    /// address (nothing to key on), without the binding, or when it fails.
    pub async fn exceeded(&self, client_ip: Option<&str>) -> bool {
        let (Some(limiter), Some(ip)) = (&self.limiter, client_ip) else { return false };
        match limiter.limit(ip.to_string()).await {
            Ok(outcome) => !outcome.success,
            Err(e) => {
                console_warn!("miss limiter failed, failing open: {e}");
                false
            }
        }
    }
}
