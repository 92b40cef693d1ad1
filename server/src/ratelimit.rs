//! The optional per-tenant rate limit: a token bucket per tenant holding up to `rate`
//! tokens (at least one), refilled at `rate` tokens per second. A request that finds the
//! bucket empty gets 429 (RFC 6585 section 4) with `Retry-After` and a SCIM error body.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Token buckets, one per tenant.
pub(crate) struct RateLimiter {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimiter {
    /// A limiter allowing `rate` requests per second per tenant.
    pub(crate) fn new(rate: f64) -> RateLimiter {
        RateLimiter {
            rate,
            burst: rate.max(1.0),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes a token for `tenant`, or says how long until one is there.
    pub(crate) fn take(&self, tenant: &str) -> Result<(), Duration> {
        self.take_at(tenant, Instant::now())
    }

    fn take_at(&self, tenant: &str, now: Instant) -> Result<(), Duration> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let (tokens, last) = buckets
            .entry(tenant.to_string())
            .or_insert((self.burst, now));
        let elapsed = now.saturating_duration_since(*last).as_secs_f64();
        *tokens = (*tokens + elapsed * self.rate).min(self.burst);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - *tokens) / self.rate))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_empties_refills_and_is_per_tenant() {
        let limiter = RateLimiter::new(2.0);
        let t0 = Instant::now();
        assert!(limiter.take_at("a", t0).is_ok());
        assert!(limiter.take_at("a", t0).is_ok());
        let wait = limiter.take_at("a", t0).unwrap_err();
        assert!(wait > Duration::from_millis(400) && wait <= Duration::from_millis(500));
        assert!(
            limiter.take_at("b", t0).is_ok(),
            "tenants have their own bucket"
        );
        assert!(limiter
            .take_at("a", t0 + Duration::from_millis(500))
            .is_ok());
    }
}
