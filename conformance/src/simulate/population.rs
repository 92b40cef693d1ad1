//! The simulated directory: a deterministic population of users and groups built from a
//! seed, and the changes each incremental cycle makes to it. The directory is the IdP's
//! source of truth; after every cycle the target must hold exactly what it says.

use std::collections::BTreeSet;

/// A small, fast, deterministic generator (SplitMix64); the same seed gives the same
/// population on every machine.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed; `stream` separates independent sequences of one seed.
    pub fn new(seed: u64, stream: u64) -> Rng {
        let mut rng = Rng(seed ^ stream.wrapping_mul(0xA076_1D64_78BD_642F));
        rng.next_u64();
        rng
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        ((self.next_u64() >> 11) % n as u64) as usize
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64) < p
    }
}

const GIVEN: &[&str] = &[
    "Ada", "Bela", "Chen", "Dana", "Emil", "Fatou", "Goran", "Hana", "Ines", "Jonas", "Kemal",
    "Lena", "Mateo", "Nia", "Omar", "Pia", "Quinn", "Rosa", "Sami", "Tove", "Uma", "Viktor", "Wen",
    "Ximena", "Yusuf", "Zofia",
];
const FAMILY: &[&str] = &[
    "Abara", "Berg", "Costa", "Dahl", "Eze", "Fischer", "Garcia", "Horvat", "Ito", "Jensen",
    "Kowalski", "Larsen", "Moreau", "Novak", "Okafor", "Petrov", "Quispe", "Rossi", "Silva",
    "Tanaka", "Ueda", "Varga", "Weber", "Xu", "Yilmaz", "Zeller",
];
const TITLES: &[&str] = &[
    "Engineer",
    "Analyst",
    "Designer",
    "Manager",
    "Consultant",
    "Technician",
    "Specialist",
    "Coordinator",
];

/// One simulated user: the values the target must hold for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    /// Position in the population, stable across cycles.
    pub index: usize,
    /// `userName`, also the work email: `<prefix>u<index>@example.test`.
    pub user_name: String,
    /// `externalId` (the IdP's object id).
    pub external_id: String,
    /// `name.givenName`.
    pub given: String,
    /// `name.familyName`.
    pub family: String,
    /// `displayName`.
    pub display_name: String,
    /// `title`.
    pub title: String,
    /// Enterprise `employeeNumber`.
    pub employee_number: String,
    /// Enterprise `department`: the display name of the user's department group.
    pub department: usize,
    /// Index of the manager, when the user has one.
    pub manager: Option<usize>,
    /// `active`.
    pub active: bool,
    /// Hard-deleted at the IdP: the target must no longer have it.
    pub deleted: bool,
}

/// One simulated group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    /// Position in the population.
    pub index: usize,
    /// `displayName`, `<prefix>g<index>-<label>`.
    pub display_name: String,
    /// `externalId`.
    pub external_id: String,
    /// Member user indices.
    pub members: BTreeSet<usize>,
}

/// What to build.
#[derive(Clone, Debug)]
pub struct Shape {
    /// Number of users.
    pub users: usize,
    /// Number of groups, the large one included.
    pub groups: usize,
    /// Members of the large group (group 0), capped at `users`.
    pub large_group: usize,
    /// Seed.
    pub seed: u64,
}

/// The IdP's directory: every user and group with the values the target must end with.
#[derive(Clone, Debug, Default)]
pub struct Directory {
    /// The run prefix every name starts with.
    pub prefix: String,
    /// Users by index (deleted ones stay, flagged).
    pub users: Vec<User>,
    /// Groups by index: group 0 is the large group, the others are departments.
    pub groups: Vec<Group>,
    /// Users deactivated by an earlier cycle, in the order they left.
    pub leavers: Vec<usize>,
}

impl Directory {
    /// Builds the population of `shape` under `prefix`.
    pub fn build(prefix: &str, shape: &Shape) -> Directory {
        let mut rng = Rng::new(shape.seed, 1);
        let departments = shape.groups.saturating_sub(1);
        let mut groups: Vec<Group> = (0..shape.groups)
            .map(|g| Group {
                index: g,
                display_name: if g == 0 {
                    format!("{prefix}g0-all-staff")
                } else {
                    format!("{prefix}g{g}-dept")
                },
                external_id: format!("{prefix}gx{g:08x}"),
                members: BTreeSet::new(),
            })
            .collect();
        // Managers come from the first tenth, so that deletes (taken from the rest) never
        // leave a dangling manager reference.
        let pool = (shape.users / 10).max(1);
        let users: Vec<User> = (0..shape.users)
            .map(|i| {
                let given = GIVEN[rng.below(GIVEN.len())].to_owned();
                let family = FAMILY[rng.below(FAMILY.len())].to_owned();
                let department = if departments == 0 {
                    0
                } else {
                    1 + skewed(&mut rng, departments)
                };
                let manager = if i == 0 || !rng.chance(0.9) {
                    None
                } else {
                    Some(rng.below(i.min(pool)))
                };
                User {
                    index: i,
                    user_name: format!("{prefix}u{i}@example.test"),
                    external_id: format!("{prefix}x{:016x}", rng.next_u64()),
                    display_name: format!("{given} {family}"),
                    given,
                    family,
                    title: TITLES[rng.below(TITLES.len())].to_owned(),
                    employee_number: format!("E{:07}", i + 1),
                    department,
                    manager,
                    active: true,
                    deleted: false,
                }
            })
            .collect();
        for user in &users {
            if user.department > 0 {
                groups[user.department].members.insert(user.index);
            }
        }
        if let Some(large) = groups.first_mut() {
            let k = shape.large_group.min(shape.users);
            large.members.extend(sample(&mut rng, shape.users, k));
        }
        Directory {
            prefix: prefix.to_owned(),
            users,
            groups,
            leavers: Vec::new(),
        }
    }

    /// The department label the target must show for `user`.
    pub fn department_name(&self, user: &User) -> String {
        match self.groups.get(user.department) {
            Some(g) if user.department > 0 => g.display_name.clone(),
            _ => format!("{}dept-none", self.prefix),
        }
    }

    /// Users the target must hold (not hard-deleted).
    pub fn live_users(&self) -> impl Iterator<Item = &User> {
        self.users.iter().filter(|u| !u.deleted)
    }

    /// Draws cycle `cycle`'s changes and applies them to the directory.
    pub fn cycle(&mut self, seed: u64, cycle: usize, rates: &Rates) -> Vec<Change> {
        let mut rng = Rng::new(seed, 1000 + cycle as u64);
        let n = self.users.len();
        let count = |share: f64| -> usize {
            if share <= 0.0 || n == 0 {
                0
            } else {
                ((n as f64 * share).round() as usize).max(1)
            }
        };
        let mut touched: BTreeSet<usize> = BTreeSet::new();
        let mut changes = Vec::new();
        // Re-hires first: a fraction of earlier leavers come back.
        let rehires = (self.leavers.len() as f64 * rates.rehire).round() as usize;
        let back: Vec<usize> = self
            .leavers
            .drain(..rehires.min(self.leavers.len()))
            .collect();
        for i in back {
            if self.users[i].deleted {
                continue;
            }
            self.users[i].active = true;
            touched.insert(i);
            changes.push(Change::Rehire(i));
        }
        let pick = |rng: &mut Rng, touched: &mut BTreeSet<usize>, users: &[User], from: usize| {
            // Bounded: a few tries per pick; a crowded population simply yields fewer.
            for _ in 0..32 {
                let i = from + rng.below(n - from);
                if !users[i].deleted && users[i].active && touched.insert(i) {
                    return Some(i);
                }
            }
            None
        };
        for _ in 0..count(rates.attributes) {
            if let Some(i) = pick(&mut rng, &mut touched, &self.users, 0) {
                let user = &mut self.users[i];
                user.display_name = format!("{} {} (c{cycle})", user.given, user.family);
                user.title = TITLES[rng.below(TITLES.len())].to_owned();
                changes.push(Change::Attributes(i));
            }
        }
        let departments = self.groups.len().saturating_sub(1);
        if departments > 1 {
            for _ in 0..count(rates.moves) {
                let Some(i) = pick(&mut rng, &mut touched, &self.users, 0) else {
                    continue;
                };
                let from = self.users[i].department;
                let mut to = 1 + rng.below(departments);
                if to == from {
                    to = 1 + (to % departments);
                }
                self.groups[from].members.remove(&i);
                self.groups[to].members.insert(i);
                self.users[i].department = to;
                changes.push(Change::Move { user: i, from, to });
            }
        }
        let pool = (n / 10).max(1);
        for _ in 0..count(rates.leavers) {
            if pool >= n {
                break;
            }
            if let Some(i) = pick(&mut rng, &mut touched, &self.users, pool) {
                self.users[i].active = false;
                self.leavers.push(i);
                changes.push(Change::Leave(i));
            }
        }
        if rates.deletes > 0.0 && pool < n {
            for _ in 0..count(rates.deletes) {
                // Hard deletes hit users who left in an earlier cycle (Entra purges 30 days
                // after the soft delete, MS-HOW).
                let Some(pos) = (0..self.leavers.len().min(32))
                    .map(|_| rng.below(self.leavers.len().max(1)))
                    .find(|&p| p < self.leavers.len() && !touched.contains(&self.leavers[p]))
                else {
                    break;
                };
                let i = self.leavers.remove(pos);
                touched.insert(i);
                self.users[i].deleted = true;
                for group in &mut self.groups {
                    group.members.remove(&i);
                }
                changes.push(Change::Delete(i));
            }
        }
        changes
    }
}

/// Shares of the population each cycle touches.
#[derive(Clone, Debug)]
pub struct Rates {
    /// Attribute changes (displayName, title).
    pub attributes: f64,
    /// Department moves (membership remove + add, department attribute).
    pub moves: f64,
    /// Leavers deactivated.
    pub leavers: f64,
    /// Share of earlier leavers re-hired (reactivated).
    pub rehire: f64,
    /// Hard deletes of earlier leavers (0 for IdPs that never delete).
    pub deletes: f64,
}

/// One change of an incremental cycle, already applied to the directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// displayName and title changed.
    Attributes(usize),
    /// Department changed: membership moves from one group to another.
    Move {
        /// The user.
        user: usize,
        /// Old department group.
        from: usize,
        /// New department group.
        to: usize,
    },
    /// Deactivated.
    Leave(usize),
    /// Reactivated.
    Rehire(usize),
    /// Hard-deleted.
    Delete(usize),
}

impl Change {
    /// The user the change is about.
    pub fn user(&self) -> usize {
        match self {
            Change::Attributes(i) | Change::Leave(i) | Change::Rehire(i) | Change::Delete(i) => *i,
            Change::Move { user, .. } => *user,
        }
    }
}

/// A department in `0..n`, skewed so that a few are big and most are small (weight
/// proportional to 1/(rank+1)).
fn skewed(rng: &mut Rng, n: usize) -> usize {
    // Inverse of the harmonic CDF, approximated by exp: cheap and deterministic.
    let u = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
    let x = ((n as f64 + 1.0).ln() * u).exp() - 1.0;
    (x as usize).min(n - 1)
}

/// `k` distinct indices from `0..n` (Floyd's algorithm), sorted.
fn sample(rng: &mut Rng, n: usize, k: usize) -> BTreeSet<usize> {
    let mut chosen = BTreeSet::new();
    for j in n - k..n {
        let t = rng.below(j + 1);
        if !chosen.insert(t) {
            chosen.insert(j);
        }
    }
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape() -> Shape {
        Shape {
            users: 500,
            groups: 8,
            large_group: 200,
            seed: 7,
        }
    }

    #[test]
    fn same_seed_same_population() {
        let a = Directory::build("p-", &shape());
        let b = Directory::build("p-", &shape());
        assert_eq!(a.users, b.users);
        assert_eq!(a.groups, b.groups);
        let c = Directory::build("p-", &Shape { seed: 8, ..shape() });
        assert_ne!(a.users, c.users);
    }

    #[test]
    fn large_group_and_departments_cover_everyone() {
        let d = Directory::build("p-", &shape());
        assert_eq!(d.groups[0].members.len(), 200);
        let in_departments: usize = d.groups[1..].iter().map(|g| g.members.len()).sum();
        assert_eq!(in_departments, 500);
        let sizes: Vec<usize> = d.groups[1..].iter().map(|g| g.members.len()).collect();
        assert!(sizes[0] > sizes[6], "skewed sizes: {sizes:?}");
        for u in &d.users {
            assert!(u.user_name.starts_with("p-"));
            if let Some(m) = u.manager {
                assert!(m < u.index && m < 50, "manager {m} of {}", u.index);
            }
        }
    }

    #[test]
    fn cycles_change_the_directory_deterministically() {
        let rates = Rates {
            attributes: 0.02,
            moves: 0.02,
            leavers: 0.02,
            rehire: 0.5,
            deletes: 0.01,
        };
        let mut a = Directory::build("p-", &shape());
        let mut b = a.clone();
        let first = a.cycle(7, 1, &rates);
        assert_eq!(first, b.cycle(7, 1, &rates));
        assert!(first.iter().any(|c| matches!(c, Change::Move { .. })));
        let leavers = first
            .iter()
            .filter(|c| matches!(c, Change::Leave(_)))
            .count();
        assert_eq!(leavers, 10);
        let second = a.cycle(7, 2, &rates);
        assert!(second.iter().any(|c| matches!(c, Change::Rehire(_))));
        assert!(second.iter().any(|c| matches!(c, Change::Delete(_))));
        for change in &second {
            if let Change::Delete(i) = change {
                assert!(a.users[*i].deleted);
                assert!(a.groups.iter().all(|g| !g.members.contains(i)));
                assert!(a.users.iter().all(|u| u.manager != Some(*i)));
            }
        }
    }
}
