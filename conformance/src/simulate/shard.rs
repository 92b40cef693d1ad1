//! `--shard K/N`: one of N processes that together provision one population against one
//! target. Owns the partition (which users and groups a shard creates), the look-ups of
//! what other shards created, and the waits that keep shards from stepping on each other.
//!
//! Design (see docs/benchmarks.md, "Sharded runs"):
//! - Every shard builds the whole population from the seed under the shared run prefix
//!   (`--run-id`), so user `i` and group `g` have the same names in every shard.
//! - Shard K owns user `i` when `i % N == K - 1` and group `g` when `g % N == K - 1`. It
//!   creates, updates, deactivates and deletes only its own users, and creates and deletes
//!   only its own groups.
//! - Memberships: every shard adds (and, in cycles, moves) only its own users, in every
//!   group. A group owned by another shard is found by its displayName; the shard waits
//!   (bounded by `--shard-wait`) until the owner has created it. Because every shard waits
//!   for every group, and a shard creates its groups only after its users, no shard passes
//!   its group phase before every shard has created its users.
//! - A manager owned by another shard is found by its userName, with the same wait.
//! - Cleanup: a shard deletes its users, then waits until no user under the run prefix is
//!   left (every shard has finished with the groups), then deletes its groups. A shard that
//!   gives up waiting leaves its groups and counts them as failed deletes.

use super::dialect::Requests;
use super::engine::{Engine, Failure, OpKind};
use super::population::Directory;
use crate::client::Request;
use serde_json::Value;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Shard `index` of `count` (both 1-based in the text form `K/N`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// K, 1..=count.
    pub index: usize,
    /// N.
    pub count: usize,
}

/// The largest N: a shard owns at least one user, and a run has at most 1,000,000.
pub const MAX_SHARDS: usize = 1_000_000;

impl std::str::FromStr for Shard {
    type Err = String;

    /// `K/N` exactly: two runs of ASCII digits without sign, spaces or leading zeros, and
    /// 1 <= K <= N <= [`MAX_SHARDS`]. Anything else is refused, so that two shards of one
    /// run cannot spell their number differently (`2/4`, `02/4`).
    fn from_str(text: &str) -> Result<Shard, String> {
        let bad = |why: &str| format!("`{text}`: {why}; expected K/N with 1 <= K <= N, e.g. 2/4");
        let (k, n) = text
            .split_once('/')
            .ok_or_else(|| bad("no `/` between K and N"))?;
        let number = |part: &str, name: &str| -> Result<usize, String> {
            if part.is_empty() {
                return Err(bad(&format!("{name} is missing")));
            }
            if !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad(&format!(
                    "{name} `{part}` is not a number of digits alone (no sign, space or `/`)"
                )));
            }
            if part.len() > 1 && part.starts_with('0') {
                return Err(bad(&format!("{name} `{part}` has a leading zero")));
            }
            match part.parse::<usize>() {
                Ok(v) if v <= MAX_SHARDS => Ok(v),
                _ => Err(bad(&format!("{name} `{part}` is more than {MAX_SHARDS}"))),
            }
        };
        let index = number(k, "K")?;
        let count = number(n, "N")?;
        if count == 0 {
            return Err(bad("N must be at least 1"));
        }
        if index == 0 {
            return Err(bad("K must be at least 1"));
        }
        if index > count {
            return Err(bad(&format!("K {index} is more than N {count}")));
        }
        Ok(Shard { index, count })
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl Shard {
    /// Whether this shard creates and maintains user `i`.
    pub fn owns_user(&self, i: usize) -> bool {
        i % self.count == self.index - 1
    }

    /// Whether this shard creates and deletes group `g`.
    pub fn owns_group(&self, g: usize) -> bool {
        g % self.count == self.index - 1
    }

    /// What the shard's read-back checks, for the report.
    pub fn scope(&self) -> String {
        let r = self.index - 1;
        format!(
            "shard {self}: users and groups whose index is {r} mod {n}, and these users' \
             memberships in every group",
            n = self.count
        )
    }
}

/// Whether `opt` (a shard or none) owns user `i`.
pub fn owns_user(opt: Option<Shard>, i: usize) -> bool {
    opt.is_none_or(|s| s.owns_user(i))
}

/// Whether `opt` owns group `g`.
pub fn owns_group(opt: Option<Shard>, g: usize) -> bool {
    opt.is_none_or(|s| s.owns_group(g))
}

/// The user index in a simulated userName (`<prefix>u<index>@example.test`).
pub fn user_index(prefix: &str, user_name: &str) -> Option<usize> {
    let lower = user_name.to_ascii_lowercase();
    let rest = lower.strip_prefix(&prefix.to_ascii_lowercase())?;
    let digits = rest.strip_prefix('u')?.strip_suffix("@example.test")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Polls `find` until it yields an id, `wait` has passed or `stop` is set (Ctrl-C); the
/// first try is immediate, later ones back off from 100 ms to 2 s. Once one wait of the
/// run has timed out (`gave_up`), later waits try once and give up at once, so a missing
/// shard costs the run about one `--shard-wait`, not one per item it needed.
async fn poll<F, Fut>(
    wait: Duration,
    stop: &AtomicBool,
    gave_up: &AtomicBool,
    what: &str,
    mut find: F,
) -> Result<String, Failure>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Option<String>, Failure>>,
{
    let started = Instant::now();
    let mut pause = Duration::from_millis(100);
    loop {
        if let Some(id) = find().await? {
            return Ok(id);
        }
        if stop.load(Ordering::Relaxed) {
            return Err(Failure::Transport(format!(
                "interrupted while waiting for {what}"
            )));
        }
        if gave_up.load(Ordering::Relaxed) {
            return Err(Failure::Transport(format!(
                "{what} is missing, and an earlier wait of this run already ran out \
                 (--shard-wait); did every shard start?"
            )));
        }
        if started.elapsed() >= wait {
            gave_up.store(true, Ordering::Relaxed);
            return Err(Failure::Transport(format!(
                "{what} did not appear within {:.0}s (--shard-wait); did every shard start?",
                wait.as_secs_f64()
            )));
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(2));
    }
}

fn first_id(body: &str, status: u16) -> Result<Option<String>, Failure> {
    let v: Value = serde_json::from_str(body)
        .map_err(|e| Failure::Status(status, format!("list body is not JSON: {e}")))?;
    Ok(v["Resources"][0]["id"].as_str().map(str::to_owned))
}

/// The id of user `i`, created by another shard, waiting for it up to `wait`.
pub async fn find_user(
    engine: &Engine,
    requests: &Requests,
    dir: &Directory,
    i: usize,
    wait: Duration,
    stop: &AtomicBool,
    gave_up: &AtomicBool,
) -> Result<String, Failure> {
    let user = &dir.users[i];
    let request = requests.lookup_user(user).map_err(Failure::Transport)?;
    let what = format!("user {} (another shard's)", user.user_name);
    poll(wait, stop, gave_up, &what, || async {
        let reply = engine.call_ok(OpKind::LookupUser, &request).await?;
        first_id(&reply.body, reply.status)
    })
    .await
}

/// The id of group `g`, created by another shard, waiting for it up to `wait`. Uses a
/// displayName filter (RFC 7644 section 3.4.2.2) whatever the dialect: this is the shards'
/// coordination, not a request the IdP would send.
pub async fn find_group(
    engine: &Engine,
    dir: &Directory,
    g: usize,
    wait: Duration,
    stop: &AtomicBool,
    gave_up: &AtomicBool,
) -> Result<String, Failure> {
    let name = &dir.groups[g].display_name;
    let mut request = Request::new(reqwest::Method::GET, "/Groups");
    request.query = vec![
        ("filter".into(), format!("displayName eq \"{name}\"")),
        ("attributes".into(), "id".into()),
    ];
    let what = format!("group {name} (another shard's)");
    poll(wait, stop, gave_up, &what, || async {
        let reply = engine.call_ok(OpKind::LookupGroup, &request).await?;
        first_id(&reply.body, reply.status)
    })
    .await
}

/// Waits until no user under `prefix` is left on the target (every shard has deleted its
/// users), up to `wait`; the error says how many were left when it gave up.
pub async fn await_users_gone(
    engine: &Engine,
    prefix: &str,
    wait: Duration,
    stop: &AtomicBool,
) -> Result<(), String> {
    let mut request = Request::new(reqwest::Method::GET, "/Users");
    request.query = vec![
        ("filter".into(), format!("userName sw \"{prefix}\"")),
        ("count".into(), "1".into()),
        ("attributes".into(), "id".into()),
    ];
    let started = Instant::now();
    let mut pause = Duration::from_millis(100);
    loop {
        let left = match engine.call_ok(OpKind::Cleanup, &request).await {
            Ok(reply) => serde_json::from_str::<Value>(&reply.body)
                .ok()
                .and_then(|v| v["totalResults"].as_u64())
                .ok_or_else(|| "the user count has no totalResults".to_owned())?,
            Err(e) => return Err(format!("could not count the run's users: {e}")),
        };
        if left == 0 {
            return Ok(());
        }
        if stop.load(Ordering::Relaxed) {
            return Err(format!(
                "interrupted with {left} user(s) of the run still there"
            ));
        }
        if started.elapsed() >= wait {
            return Err(format!(
                "{left} user(s) of other shards were still on the target after {:.0}s \
                 (--shard-wait)",
                wait.as_secs_f64()
            ));
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(2));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn k_of_n_parses_and_bad_forms_are_rejected() {
        assert_eq!("2/4".parse::<Shard>(), Ok(Shard { index: 2, count: 4 }));
        assert_eq!("1/1".parse::<Shard>(), Ok(Shard { index: 1, count: 1 }));
        for bad in [
            "0/2",
            "3/2",
            "2",
            "a/b",
            "1/0",
            "",
            "/",
            "2/-1",
            " 1/2",
            "1/2 ",
            "1 /2",
            "+1/2",
            "01/2",
            "1/02",
            "1/2/3",
            "1/99999999999999999999999",
            "1/1000001",
        ] {
            let e = bad.parse::<Shard>().expect_err(bad);
            assert!(e.contains("1 <= K <= N, e.g. 2/4"), "{bad}: {e}");
            assert!(e.contains(&format!("`{bad}`")), "{bad}: {e}");
        }
        assert_eq!(
            "1000000/1000000".parse::<Shard>().map(|s| s.count),
            Ok(MAX_SHARDS)
        );
    }

    #[test]
    fn shards_partition_users_and_groups() {
        let shards: Vec<Shard> = (1..=3).map(|k| Shard { index: k, count: 3 }).collect();
        for i in 0..100 {
            assert_eq!(shards.iter().filter(|s| s.owns_user(i)).count(), 1);
            assert_eq!(shards.iter().filter(|s| s.owns_group(i)).count(), 1);
        }
    }

    #[test]
    fn user_index_reads_simulated_names_only() {
        assert_eq!(user_index("p-", "p-u17@example.test"), Some(17));
        assert_eq!(user_index("p-", "P-U17@EXAMPLE.TEST"), Some(17));
        assert_eq!(user_index("p-", "p-u@example.test"), None);
        assert_eq!(user_index("p-", "p-x17@example.test"), None);
        assert_eq!(user_index("p-", "q-u17@example.test"), None);
    }
}
