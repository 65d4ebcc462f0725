//! The leader's assignor: which worker runs which connector and task.
//!
//! Pure logic, no I/O. The leader calls [`assign`] once per rebalance with what every member
//! reported in its JoinGroup metadata (its url, config offset and the work it runs now), the
//! connectors of the cluster with their task counts, and its own [`AssignorState`] from the
//! previous round. Connectors and tasks are two kinds of work, balanced separately.
//!
//! The rules, which the tests below check exhaustively:
//!
//! - **Sticky.** Work a member runs stays with it unless it must move. Work of a deleted
//!   connector (or a task number past the connector's new task count) is revoked.
//! - **Scoped per connector.** When the members are the same as in the previous round (and
//!   each runs what that round gave it), only work nobody runs is placed (a new connector, new task numbers, work revoked in the previous
//!   round): creating, updating or deleting connector A never moves connector B's work.
//! - **Incremental.** When the set of members changed (a worker joined or left), members above
//!   their balanced share give up only the surplus, in a first round (revocation); the freed
//!   work is placed in the next round, so a task never runs on two workers at once. After that
//!   second round every member runs within one connector and within one task of every other.
//! - **Scheduled delay.** Work of a member that left is held, unassigned, for
//!   `scheduled.rebalance.max.delay.ms` (the remaining delay is sent to every member, which
//!   rejoins when it ends). A worker that comes back with the same url within the delay gets
//!   that work back; when the delay ends, the held work is spread over the members.
//! - **Placement.** Unassigned work goes to the member with the least work of that kind, then
//!   the fewest tasks of the same connector, then the smallest member id, so one connector's
//!   tasks spread over the workers.
//!
//! The leader keeps [`AssignorState`] only in memory: a newly elected leader starts without it,
//! so work it cannot attribute to a departed member is simply unassigned and placed at once.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::{Duration, Instant};

/// One task of a connector: the connector's name and the task number (from 0).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TaskId {
    /// The connector's name.
    pub connector: String,
    /// The task number, from 0 to the connector's task count minus one.
    pub task: u32,
}

impl TaskId {
    /// The task `task` of connector `connector`.
    pub fn new(connector: impl Into<String>, task: u32) -> Self {
        Self {
            connector: connector.into(),
            task,
        }
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.connector, self.task)
    }
}

/// A set of work: connector instances and tasks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkSet {
    /// Connectors (the connector instance itself, which generates task configs).
    pub connectors: BTreeSet<String>,
    /// Tasks.
    pub tasks: BTreeSet<TaskId>,
}

impl WorkSet {
    /// True when the set holds no connector and no task.
    pub fn is_empty(&self) -> bool {
        self.connectors.is_empty() && self.tasks.is_empty()
    }

    /// Number of connectors plus number of tasks.
    pub fn len(&self) -> usize {
        self.connectors.len() + self.tasks.len()
    }

    /// Adds every item of `other`.
    pub fn extend(&mut self, other: &WorkSet) {
        self.connectors.extend(other.connectors.iter().cloned());
        self.tasks.extend(other.tasks.iter().cloned());
    }

    /// Removes every item of `other`.
    pub fn remove_all(&mut self, other: &WorkSet) {
        self.connectors.retain(|c| !other.connectors.contains(c));
        self.tasks.retain(|t| !other.tasks.contains(t));
    }

    /// The items of `self` that are not in `other`.
    pub fn difference(&self, other: &WorkSet) -> WorkSet {
        let mut out = self.clone();
        out.remove_all(other);
        out
    }

    /// The items of `self` that are also in `other`.
    pub fn intersection(&self, other: &WorkSet) -> WorkSet {
        WorkSet {
            connectors: self
                .connectors
                .intersection(&other.connectors)
                .cloned()
                .collect(),
            tasks: self.tasks.intersection(&other.tasks).cloned().collect(),
        }
    }
}

/// What the leader knows of the cluster's connectors when it assigns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterState {
    /// Offset of the config topic this view was read up to (`-1` when nothing was read).
    pub config_offset: i64,
    /// Every connector that should run, with its number of tasks (from its committed task
    /// configs; 0 when none were generated yet).
    pub connectors: BTreeMap<String, u32>,
}

impl ClusterState {
    /// Every connector and task of the cluster.
    pub fn all_work(&self) -> WorkSet {
        WorkSet {
            connectors: self.connectors.keys().cloned().collect(),
            tasks: self
                .connectors
                .iter()
                .flat_map(|(name, count)| (0..*count).map(move |t| TaskId::new(name.clone(), t)))
                .collect(),
        }
    }
}

/// A member as the leader sees it in the JoinGroup response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberState {
    /// The member id the group coordinator gave it.
    pub member_id: String,
    /// The worker's REST url (stable across restarts of the worker; used to give a returning
    /// worker its work back).
    pub url: String,
    /// The config topic offset the worker has read up to.
    pub config_offset: i64,
    /// The work it runs now.
    pub current: WorkSet,
}

/// What one member is told to do in one round.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemberAssignment {
    /// Work to start (new to this member).
    pub assigned: WorkSet,
    /// Work to stop.
    pub revoked: WorkSet,
    /// Time until held work of departed members is reassigned (zero when none is held).
    pub delay: Duration,
}

/// Work held for departed members, waiting for them to come back.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Held {
    /// Per departed worker url, the work it ran.
    lost: BTreeMap<String, WorkSet>,
    /// When the held work is given to the remaining members.
    deadline: Instant,
}

/// The leader's memory between rounds.
#[derive(Debug, Clone, Default)]
pub struct AssignorState {
    /// Per member url, the work it runs after the previous round; `None` before the first round.
    previous: Option<BTreeMap<String, WorkSet>>,
    /// Work of departed members held for the scheduled delay.
    held: Option<Held>,
}

impl AssignorState {
    /// True when work of departed members is being held.
    pub fn is_holding(&self) -> bool {
        self.held.is_some()
    }
}

/// Computes one round of assignments, keyed by member id. `max_delay` is
/// `scheduled.rebalance.max.delay.ms`; `now` is the current time (a parameter, for tests).
pub fn assign(
    state: &mut AssignorState,
    members: &[MemberState],
    cluster: &ClusterState,
    max_delay: Duration,
    now: Instant,
) -> BTreeMap<String, MemberAssignment> {
    let all = cluster.all_work();
    let mut out: BTreeMap<String, MemberAssignment> = members
        .iter()
        .map(|m| (m.member_id.clone(), MemberAssignment::default()))
        .collect();

    // What each member keeps: its current work that still exists, each item only once.
    let mut keep: BTreeMap<String, WorkSet> = BTreeMap::new();
    let mut running = WorkSet::default();
    for m in members {
        let mut kept = m.current.intersection(&all);
        let duplicates = kept.intersection(&running);
        kept.remove_all(&duplicates);
        running.extend(&kept);
        let revoked = m.current.difference(&kept);
        if let Some(a) = out.get_mut(&m.member_id) {
            a.revoked = revoked;
        }
        keep.insert(m.member_id.clone(), kept);
    }

    let urls: BTreeSet<&str> = members.iter().map(|m| m.url.as_str()).collect();
    // Balance when the members changed, when a member does not run what the previous round
    // gave it (it missed that round's SyncGroup), and when there is no memory (the first
    // round, or a newly elected leader).
    let membership_changed = match &state.previous {
        None => true,
        Some(prev) => {
            prev.keys().map(String::as_str).collect::<BTreeSet<_>>() != urls
                || members
                    .iter()
                    .any(|m| prev.get(&m.url).is_some_and(|p| p != &m.current))
        }
    };

    // Work of members that left since the previous round joins the held work.
    let mut held = state.held.take();
    if let Some(prev) = &state.previous {
        for (url, work) in prev {
            if urls.contains(url.as_str()) {
                continue;
            }
            let lost = work.intersection(&all).difference(&running);
            if lost.is_empty() {
                continue;
            }
            let h = held.get_or_insert_with(|| Held {
                lost: BTreeMap::new(),
                deadline: now + max_delay,
            });
            h.lost.entry(url.clone()).or_default().extend(&lost);
        }
    }

    // Returning workers get their held work back; expired or zero delays release the rest.
    let mut held_work = WorkSet::default();
    let mut delay = Duration::ZERO;
    if let Some(mut h) = held {
        for m in members {
            if let Some(work) = h.lost.remove(&m.url) {
                let back = work.intersection(&all).difference(&running);
                running.extend(&back);
                if let Some(k) = keep.get_mut(&m.member_id) {
                    k.extend(&back);
                }
                if let Some(a) = out.get_mut(&m.member_id) {
                    a.assigned.extend(&back);
                }
            }
        }
        for work in h.lost.values_mut() {
            *work = work.intersection(&all).difference(&running);
        }
        h.lost.retain(|_, work| !work.is_empty());
        if now < h.deadline && !h.lost.is_empty() {
            for work in h.lost.values() {
                held_work.extend(work);
            }
            delay = h.deadline - now;
            state.held = Some(h);
        }
    }

    if membership_changed && !members.is_empty() {
        revoke_surplus(members, &all, &held_work, &mut keep, &mut out);
    }

    // Place everything nobody runs and nobody holds, except what was revoked in this round:
    // that is placed in the next round, once its old owner has stopped it.
    let mut revoked_now = WorkSet::default();
    for a in out.values() {
        revoked_now.extend(&a.revoked);
    }
    let mut kept_all = WorkSet::default();
    for k in keep.values() {
        kept_all.extend(k);
    }
    let mut free = all.difference(&kept_all);
    free.remove_all(&held_work);
    free.remove_all(&revoked_now);
    if !members.is_empty() {
        place(&free, &mut keep, &mut out);
    }

    for a in out.values_mut() {
        a.delay = delay;
    }
    state.previous = Some(
        members
            .iter()
            .map(|m| {
                (
                    m.url.clone(),
                    keep.get(&m.member_id).cloned().unwrap_or_default(),
                )
            })
            .fold(BTreeMap::new(), |mut acc, (url, work)| {
                acc.entry(url)
                    .or_insert_with(WorkSet::default)
                    .extend(&work);
                acc
            }),
    );
    out
}

/// Takes the surplus over the balanced share from every member, for both kinds of work.
fn revoke_surplus(
    members: &[MemberState],
    all: &WorkSet,
    held: &WorkSet,
    keep: &mut BTreeMap<String, WorkSet>,
    out: &mut BTreeMap<String, MemberAssignment>,
) {
    let ids: Vec<&str> = members.iter().map(|m| m.member_id.as_str()).collect();
    let total_connectors = all.connectors.len() - held.connectors.len().min(all.connectors.len());
    let total_tasks = all.tasks.len() - held.tasks.len().min(all.tasks.len());

    let connector_loads: BTreeMap<&str, usize> = ids
        .iter()
        .map(|id| (*id, keep.get(*id).map_or(0, |k| k.connectors.len())))
        .collect();
    for (id, n) in surplus(&connector_loads, total_connectors) {
        let Some(k) = keep.get_mut(id) else { continue };
        let victims: Vec<String> = k.connectors.iter().rev().take(n).cloned().collect();
        for c in victims {
            k.connectors.remove(&c);
            if let Some(a) = out.get_mut(id) {
                a.revoked.connectors.insert(c);
            }
        }
    }

    let task_loads: BTreeMap<&str, usize> = ids
        .iter()
        .map(|id| (*id, keep.get(*id).map_or(0, |k| k.tasks.len())))
        .collect();
    for (id, n) in surplus(&task_loads, total_tasks) {
        let Some(k) = keep.get_mut(id) else { continue };
        for _ in 0..n {
            // Give up a task of the connector this member runs the most of, the highest number.
            let mut per_connector: BTreeMap<&str, usize> = BTreeMap::new();
            for t in &k.tasks {
                *per_connector.entry(t.connector.as_str()).or_default() += 1;
            }
            let Some((busiest, _)) = per_connector
                .iter()
                .max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0)))
            else {
                break;
            };
            let busiest = (*busiest).to_owned();
            let Some(victim) = k
                .tasks
                .iter()
                .rev()
                .find(|t| t.connector == busiest)
                .cloned()
            else {
                break;
            };
            k.tasks.remove(&victim);
            if let Some(a) = out.get_mut(id) {
                a.revoked.tasks.insert(victim);
            }
        }
    }
}

/// How many items each member must give up so that `total` items are spread within one:
/// everyone ends at most at `ceil`, and at most `total % n` members at `ceil` when `ceil`
/// differs from `floor`. Members already at `ceil` keep it by member order (sticky first).
fn surplus<'a>(loads: &BTreeMap<&'a str, usize>, total: usize) -> Vec<(&'a str, usize)> {
    let n = loads.len();
    if n == 0 {
        return Vec::new();
    }
    let floor = total / n;
    let mut ceil_slots = total % n;
    let ceil = if ceil_slots == 0 { floor } else { floor + 1 };
    // Members with the most work keep the ceil slots first (fewest moves).
    let mut order: Vec<(&str, usize)> = loads.iter().map(|(id, l)| (*id, *l)).collect();
    order.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    let mut out = Vec::new();
    for (id, load) in order {
        let allowed = if load >= ceil && ceil_slots > 0 && ceil > floor {
            ceil_slots -= 1;
            ceil
        } else {
            floor
        };
        if load > allowed {
            out.push((id, load - allowed));
        }
    }
    out
}

/// Places `free` work on members: least loaded of that kind first, then fewest tasks of the
/// same connector, then smallest member id.
fn place(
    free: &WorkSet,
    keep: &mut BTreeMap<String, WorkSet>,
    out: &mut BTreeMap<String, MemberAssignment>,
) {
    for c in &free.connectors {
        let target = keep
            .iter()
            .min_by(|a, b| {
                a.1.connectors
                    .len()
                    .cmp(&b.1.connectors.len())
                    .then_with(|| a.0.cmp(b.0))
            })
            .map(|(id, _)| id.clone());
        if let Some(id) = target {
            if let Some(k) = keep.get_mut(&id) {
                k.connectors.insert(c.clone());
            }
            if let Some(a) = out.get_mut(&id) {
                a.assigned.connectors.insert(c.clone());
            }
        }
    }
    for t in &free.tasks {
        let same = |w: &WorkSet| {
            w.tasks
                .iter()
                .filter(|x| x.connector == t.connector)
                .count()
        };
        let target = keep
            .iter()
            .min_by(|a, b| {
                a.1.tasks
                    .len()
                    .cmp(&b.1.tasks.len())
                    .then_with(|| same(a.1).cmp(&same(b.1)))
                    .then_with(|| a.0.cmp(b.0))
            })
            .map(|(id, _)| id.clone());
        if let Some(id) = target {
            if let Some(k) = keep.get_mut(&id) {
                k.tasks.insert(t.clone());
            }
            if let Some(a) = out.get_mut(&id) {
                a.assigned.tasks.insert(t.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A leader and its members, applying each round as real members do.
    struct Sim {
        state: AssignorState,
        /// member id -> (url, running work)
        members: BTreeMap<String, (String, WorkSet)>,
        cluster: ClusterState,
        now: Instant,
        max_delay: Duration,
        last_delay: Duration,
    }

    impl Sim {
        fn new(members: &[&str], connectors: &[(&str, u32)], max_delay: Duration) -> Sim {
            let mut sim = Sim {
                state: AssignorState::default(),
                members: BTreeMap::new(),
                cluster: ClusterState {
                    config_offset: 0,
                    connectors: connectors
                        .iter()
                        .map(|(c, n)| (c.to_string(), *n))
                        .collect(),
                },
                now: Instant::now(),
                max_delay,
                last_delay: Duration::ZERO,
            };
            for m in members {
                sim.join(m);
            }
            sim
        }

        /// A member whose url is derived from its name (`m1` -> `http://m1/`).
        fn join(&mut self, id: &str) {
            let url = format!("http://{}/", id.split('#').next().unwrap_or(id));
            self.members
                .insert(id.to_owned(), (url, WorkSet::default()));
        }

        fn leave(&mut self, id: &str) {
            self.members.remove(id);
        }

        /// One rebalance round; returns the assignments after applying them.
        fn round(&mut self) -> BTreeMap<String, MemberAssignment> {
            let states: Vec<MemberState> = self
                .members
                .iter()
                .map(|(id, (url, work))| MemberState {
                    member_id: id.clone(),
                    url: url.clone(),
                    config_offset: 0,
                    current: work.clone(),
                })
                .collect();
            let out = assign(
                &mut self.state,
                &states,
                &self.cluster,
                self.max_delay,
                self.now,
            );
            assert_eq!(out.len(), self.members.len());
            for (id, a) in &out {
                let (_, work) = self.members.get_mut(id).unwrap();
                assert!(
                    a.revoked.difference(work).is_empty(),
                    "{id} was told to revoke work it does not run: {:?}",
                    a.revoked.difference(work)
                );
                assert!(
                    a.assigned.intersection(work).is_empty(),
                    "{id} was assigned work it already runs"
                );
                work.remove_all(&a.revoked);
                work.extend(&a.assigned);
                self.last_delay = a.delay;
            }
            self.check_no_double_ownership();
            out
        }

        /// Rounds until nobody is told to revoke (members rejoin after revoking).
        fn converge(&mut self) -> Vec<BTreeMap<String, MemberAssignment>> {
            let mut rounds = Vec::new();
            for _ in 0..4 {
                let out = self.round();
                let revoked = out.values().any(|a| !a.revoked.is_empty());
                rounds.push(out);
                if !revoked {
                    return rounds;
                }
            }
            panic!("no convergence after 4 rounds: {rounds:?}");
        }

        fn check_no_double_ownership(&self) {
            let mut seen = WorkSet::default();
            for (id, (_, work)) in &self.members {
                assert!(
                    work.intersection(&seen).is_empty(),
                    "{id} runs work another member runs too"
                );
                seen.extend(work);
            }
        }

        fn owners(&self) -> BTreeMap<String, String> {
            let mut out = BTreeMap::new();
            for (id, (_, work)) in &self.members {
                for c in &work.connectors {
                    out.insert(format!("connector {c}"), id.clone());
                }
                for t in &work.tasks {
                    out.insert(format!("task {t}"), id.clone());
                }
            }
            out
        }

        fn work(&self, id: &str) -> &WorkSet {
            &self.members[id].1
        }

        fn check_complete(&self) {
            let mut all = WorkSet::default();
            for (_, work) in self.members.values() {
                all.extend(work);
            }
            assert_eq!(
                all,
                self.cluster.all_work(),
                "not every item runs exactly once"
            );
        }

        fn check_balanced(&self) {
            let tasks: Vec<usize> = self.members.values().map(|(_, w)| w.tasks.len()).collect();
            let connectors: Vec<usize> = self
                .members
                .values()
                .map(|(_, w)| w.connectors.len())
                .collect();
            for loads in [&tasks, &connectors] {
                let (min, max) = (loads.iter().min(), loads.iter().max());
                if let (Some(min), Some(max)) = (min, max) {
                    assert!(max - min <= 1, "unbalanced loads {loads:?}");
                }
            }
        }
    }

    fn moved(before: &BTreeMap<String, String>, after: &BTreeMap<String, String>) -> Vec<String> {
        before
            .iter()
            .filter(|(item, owner)| after.get(*item).is_some_and(|o| o != *owner))
            .map(|(item, _)| item.clone())
            .collect()
    }

    #[test]
    fn first_assignment_is_balanced_and_spreads_each_connector() {
        let mut sim = Sim::new(&["m1", "m2", "m3"], &[("a", 6), ("b", 6)], Duration::ZERO);
        let rounds = sim.converge();
        assert_eq!(rounds.len(), 1, "nothing to revoke in the first round");
        sim.check_complete();
        sim.check_balanced();
        for m in ["m1", "m2", "m3"] {
            let w = sim.work(m);
            assert_eq!(w.tasks.len(), 4);
            for c in ["a", "b"] {
                assert_eq!(w.tasks.iter().filter(|t| t.connector == c).count(), 2);
            }
        }
    }

    #[test]
    fn adding_a_connector_moves_no_existing_work() {
        let mut sim = Sim::new(&["m1", "m2", "m3"], &[("a", 6), ("b", 5)], Duration::ZERO);
        sim.converge();
        let before = sim.owners();
        sim.cluster.connectors.insert("c".into(), 4);
        let rounds = sim.converge();
        assert_eq!(rounds.len(), 1);
        assert!(rounds[0].values().all(|a| a.revoked.is_empty()));
        assert!(moved(&before, &sim.owners()).is_empty());
        sim.check_complete();
        sim.check_balanced();
    }

    #[test]
    fn deleting_a_connector_revokes_only_its_work() {
        let mut sim = Sim::new(&["m1", "m2", "m3"], &[("a", 6), ("b", 6)], Duration::ZERO);
        sim.converge();
        let before = sim.owners();
        sim.cluster.connectors.remove("a");
        let rounds = sim.converge();
        for a in rounds[0].values() {
            assert!(a.revoked.connectors.iter().all(|c| c == "a"));
            assert!(a.revoked.tasks.iter().all(|t| t.connector == "a"));
            assert!(a.assigned.is_empty());
        }
        assert!(moved(&before, &sim.owners()).is_empty());
        sim.check_complete();
    }

    #[test]
    fn changing_a_task_count_touches_only_that_connector() {
        let mut sim = Sim::new(&["m1", "m2", "m3"], &[("a", 6), ("b", 6)], Duration::ZERO);
        sim.converge();
        let before = sim.owners();
        sim.cluster.connectors.insert("a".into(), 3);
        let rounds = sim.converge();
        let revoked: BTreeSet<TaskId> = rounds[0]
            .values()
            .flat_map(|a| a.revoked.tasks.iter().cloned())
            .collect();
        assert_eq!(
            revoked,
            (3..6).map(|t| TaskId::new("a", t)).collect::<BTreeSet<_>>()
        );
        sim.cluster.connectors.insert("a".into(), 9);
        let rounds = sim.converge();
        assert!(rounds
            .iter()
            .all(|r| r.values().all(|a| a.revoked.is_empty())));
        let after = sim.owners();
        assert!(moved(&before, &after).is_empty());
        sim.check_complete();
    }

    #[test]
    fn a_joining_member_takes_only_the_surplus() {
        let mut sim = Sim::new(&["m1", "m2", "m3"], &[("a", 6), ("b", 6)], Duration::ZERO);
        sim.converge();
        let before = sim.owners();
        sim.join("m4");
        let rounds = sim.converge();
        assert_eq!(rounds.len(), 2, "revoke first, then assign");
        assert!(rounds[0]["m4"].assigned.tasks.is_empty());
        let after = sim.owners();
        let moved = moved(&before, &after);
        // 12 tasks over 4 members: each old member gives exactly one task, all to m4;
        // 2 connectors over 4 members: no connector moves.
        assert_eq!(moved.len(), 3, "{moved:?}");
        assert!(moved.iter().all(|item| after[item] == "m4"));
        assert_eq!(sim.work("m4").tasks.len(), 3);
        sim.check_complete();
        sim.check_balanced();
    }

    #[test]
    fn a_member_leaving_with_no_delay_spreads_only_its_work() {
        let mut sim = Sim::new(&["m1", "m2", "m3"], &[("a", 6), ("b", 6)], Duration::ZERO);
        sim.converge();
        let before = sim.owners();
        let gone: BTreeSet<String> = before
            .iter()
            .filter(|(_, o)| *o == "m3")
            .map(|(i, _)| i.clone())
            .collect();
        sim.leave("m3");
        let rounds = sim.converge();
        assert_eq!(rounds.len(), 1);
        let after = sim.owners();
        for (item, owner) in &before {
            if !gone.contains(item) {
                assert_eq!(&after[item], owner, "{item} moved");
            }
        }
        sim.check_complete();
        sim.check_balanced();
    }

    #[test]
    fn departed_work_is_held_for_the_delay_then_spread() {
        let delay = Duration::from_secs(60);
        let mut sim = Sim::new(&["m1", "m2", "m3"], &[("a", 6), ("b", 6)], delay);
        sim.converge();
        let lost = sim.work("m3").clone();
        sim.leave("m3");
        sim.converge();
        assert_eq!(sim.last_delay, delay);
        for (_, w) in sim.members.values() {
            assert!(
                w.intersection(&lost).is_empty(),
                "held work was assigned early"
            );
        }
        assert!(sim.state.is_holding());

        sim.now += Duration::from_secs(20);
        sim.converge();
        assert_eq!(sim.last_delay, Duration::from_secs(40));

        sim.now += Duration::from_secs(40);
        sim.converge();
        assert_eq!(sim.last_delay, Duration::ZERO);
        assert!(!sim.state.is_holding());
        sim.check_complete();
        sim.check_balanced();
    }

    #[test]
    fn a_worker_returning_within_the_delay_gets_its_work_back() {
        let delay = Duration::from_secs(60);
        let mut sim = Sim::new(&["m1", "m2", "m3"], &[("a", 6), ("b", 6)], delay);
        sim.converge();
        let before = sim.owners();
        let lost = sim.work("m3").clone();
        sim.leave("m3");
        sim.converge();
        sim.now += Duration::from_secs(10);
        // Same url, new member id.
        sim.join("m3#2");
        let rounds = sim.converge();
        assert_eq!(rounds.len(), 1, "nothing had to be revoked");
        assert_eq!(sim.work("m3#2"), &lost);
        assert_eq!(sim.last_delay, Duration::ZERO);
        let after = sim.owners();
        for (item, owner) in &before {
            let now_owner = &after[item];
            assert!(now_owner == owner || (owner == "m3" && now_owner == "m3#2"));
        }
    }

    #[test]
    fn work_reported_twice_stays_with_one_member() {
        let cluster = ClusterState {
            config_offset: 3,
            connectors: BTreeMap::from([("a".to_owned(), 2)]),
        };
        let both = WorkSet {
            connectors: BTreeSet::from(["a".to_owned()]),
            tasks: BTreeSet::from([TaskId::new("a", 0)]),
        };
        let members = vec![
            MemberState {
                member_id: "m1".into(),
                url: "u1".into(),
                config_offset: 3,
                current: both.clone(),
            },
            MemberState {
                member_id: "m2".into(),
                url: "u2".into(),
                config_offset: 3,
                current: both.clone(),
            },
        ];
        let out = assign(
            &mut AssignorState::default(),
            &members,
            &cluster,
            Duration::ZERO,
            Instant::now(),
        );
        assert!(out["m1"].revoked.is_empty());
        assert_eq!(out["m2"].revoked, both);
        // The remaining task goes to the member with less work, the one just relieved.
        assert_eq!(
            out["m2"].assigned.tasks,
            BTreeSet::from([TaskId::new("a", 1)])
        );
    }

    #[test]
    fn a_new_leader_keeps_a_balanced_assignment() {
        let mut sim = Sim::new(&["m1", "m2", "m3"], &[("a", 7), ("b", 2)], Duration::ZERO);
        sim.converge();
        let before = sim.owners();
        sim.state = AssignorState::default();
        let rounds = sim.converge();
        assert_eq!(rounds.len(), 1);
        assert!(moved(&before, &sim.owners()).is_empty());
    }

    #[test]
    fn no_members_means_no_assignment() {
        let cluster = ClusterState {
            config_offset: 0,
            connectors: BTreeMap::from([("a".to_owned(), 2)]),
        };
        let out = assign(
            &mut AssignorState::default(),
            &[],
            &cluster,
            Duration::ZERO,
            Instant::now(),
        );
        assert!(out.is_empty());
    }

    #[test]
    fn surplus_keeps_the_ceil_slots_on_the_busiest_members() {
        let loads = BTreeMap::from([("a", 5), ("b", 5), ("c", 0)]);
        assert_eq!(surplus(&loads, 10), vec![("a", 1), ("b", 2)]);
        let even = BTreeMap::from([("a", 2), ("b", 2)]);
        assert!(surplus(&even, 4).is_empty());
    }

    /// A small deterministic generator for the property tests.
    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % n
        }
    }

    /// Random sequences of connector and membership changes; after each change and
    /// convergence: nothing runs twice, everything not held runs, connector changes move
    /// nothing of other connectors, and membership changes end balanced and move only from
    /// members above their share.
    #[test]
    fn property_random_changes_keep_the_invariants() {
        for seed in 1..=200u64 {
            let mut rng = XorShift(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
            let delay = if seed % 3 == 0 {
                Duration::from_secs(30)
            } else {
                Duration::ZERO
            };
            let mut sim = Sim::new(&["m0", "m1"], &[("c0", 3)], delay);
            sim.converge();
            let mut next_member = 2;
            let mut next_connector = 1;
            for _step in 0..25 {
                let before = sim.owners();
                let kind = rng.next(6);
                let mut membership = false;
                match kind {
                    0 => {
                        let n = rng.next(9) as u32;
                        sim.cluster
                            .connectors
                            .insert(format!("c{next_connector}"), n);
                        next_connector += 1;
                    }
                    1 => {
                        let names: Vec<String> = sim.cluster.connectors.keys().cloned().collect();
                        if let Some(name) = names.get(rng.next(names.len().max(1) as u64) as usize)
                        {
                            let n = rng.next(9) as u32;
                            sim.cluster.connectors.insert(name.clone(), n);
                        }
                    }
                    2 => {
                        let names: Vec<String> = sim.cluster.connectors.keys().cloned().collect();
                        if let Some(name) = names.get(rng.next(names.len().max(1) as u64) as usize)
                        {
                            sim.cluster.connectors.remove(name);
                        }
                    }
                    3 => {
                        sim.join(&format!("m{next_member}"));
                        next_member += 1;
                        membership = true;
                    }
                    4 if sim.members.len() > 1 => {
                        let ids: Vec<String> = sim.members.keys().cloned().collect();
                        let id = &ids[rng.next(ids.len() as u64) as usize];
                        sim.leave(id);
                        membership = true;
                    }
                    _ => sim.now += Duration::from_secs(rng.next(40)),
                }
                let loads_before: BTreeMap<String, usize> = sim
                    .members
                    .iter()
                    .map(|(id, (_, w))| (id.clone(), w.tasks.len()))
                    .collect();
                sim.converge();
                let after = sim.owners();
                if !membership {
                    // Only work of the changed connector (or released held work) may move;
                    // existing work never moves.
                    assert!(
                        moved(&before, &after).is_empty(),
                        "seed {seed}: a connector change moved work"
                    );
                }
                if !sim.state.is_holding() {
                    sim.check_complete();
                    if membership {
                        sim.check_balanced();
                        // Members that gave work up still hold at least the floor share.
                        let total: usize = sim.members.values().map(|(_, w)| w.tasks.len()).sum();
                        let floor = total / sim.members.len();
                        for (id, (_, w)) in &sim.members {
                            if loads_before.get(id).is_some_and(|b| *b > w.tasks.len()) {
                                assert!(
                                    w.tasks.len() >= floor,
                                    "seed {seed}: {id} gave up too much"
                                );
                            }
                        }
                    }
                }
                // A round with nothing changed is a no-op.
                let out = sim.round();
                assert!(
                    out.values()
                        .all(|a| a.assigned.is_empty() && a.revoked.is_empty()),
                    "seed {seed}: an idle round changed the assignment: {out:?}"
                );
            }
        }
    }
}
