//! Consumer groups: committed offsets on disk and an in-process coordinator.
//!
//! Committed offsets of group `G` live in `DIR/groups/<G>.json` (the name escaped to
//! `[A-Za-z0-9._-]` with `%XX`), rewritten whole on every commit through a temporary
//! file, fsync and rename, so a crash leaves either the old or the new file.
//!
//! Membership exists only inside the owning process. Subscribed consumers of a group join
//! it; the target assignment is Kafka's range assignor (per topic, partitions split into
//! contiguous ranges over the members subscribed to it, in join order). Handover is
//! incremental: a member gives up partitions it no longer should own during its next
//! `poll` (revoke callback, then commit), and only then can another member claim them,
//! so two members never read the same partition at once.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::error::{LogError, LogResult};
use crate::types::{Subscription, TopicPartition};

/// A subscription with its pattern compiled.
#[derive(Debug, Clone)]
pub(crate) enum Interest {
    Topics(BTreeSet<String>),
    Pattern(Regex),
}

impl Interest {
    /// Compiles a subscription; a pattern must match whole topic names.
    pub fn new(sub: &Subscription) -> LogResult<Self> {
        match sub {
            Subscription::Topics(t) => Ok(Interest::Topics(t.iter().cloned().collect())),
            Subscription::Pattern(p) => Regex::new(&format!("^(?:{p})$"))
                .map(Interest::Pattern)
                .map_err(|e| LogError::InvalidConfig {
                    key: "topics.regex".into(),
                    message: format!("'{p}' is not a valid regular expression: {e}"),
                }),
        }
    }

    /// True when the subscription covers `topic`.
    pub fn matches(&self, topic: &str) -> bool {
        match self {
            Interest::Topics(t) => t.contains(topic),
            Interest::Pattern(r) => r.is_match(topic),
        }
    }
}

#[derive(Debug)]
struct Member {
    interest: Interest,
}

/// State of one group.
#[derive(Debug, Default)]
pub(crate) struct Group {
    offsets: BTreeMap<TopicPartition, i64>,
    applied_txn: i64,
    members: BTreeMap<u64, Member>,
    owners: HashMap<TopicPartition, u64>,
    /// Bumped on every membership or ownership change.
    pub epoch: u64,
    target: Option<(u64, u64, HashMap<u64, BTreeSet<TopicPartition>>)>,
    members_version: u64,
}

/// What a member must do to reach its target assignment.
#[derive(Debug, Default)]
pub(crate) struct Moves {
    /// Owned partitions to give up.
    pub revoke: Vec<TopicPartition>,
    /// Partitions now owned by this member (claimed during the sync).
    pub claimed: Vec<TopicPartition>,
}

#[derive(Serialize, Deserialize)]
struct GroupFile {
    group: String,
    #[serde(default)]
    applied_txn: i64,
    offsets: Vec<OffsetEntry>,
}

#[derive(Serialize, Deserialize)]
struct OffsetEntry {
    topic: String,
    partition: i32,
    offset: i64,
}

/// All groups of the log.
#[derive(Debug)]
pub(crate) struct Groups {
    dir: PathBuf,
    read_only: bool,
    map: Mutex<HashMap<String, Arc<Mutex<Group>>>>,
    next_member: std::sync::atomic::AtomicU64,
}

fn poisoned<T>(_: std::sync::PoisonError<T>) -> LogError {
    LogError::Unavailable("a group lock was poisoned by a panic in another thread".into())
}

/// File name for a group id.
fn file_name(group: &str) -> String {
    let mut s = String::with_capacity(group.len() + 5);
    for b in group.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-') {
            s.push(b as char);
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    s.push_str(".json");
    s
}

impl Groups {
    /// Loads committed offsets from `dir` (created if missing on a writable log).
    pub fn open(dir: PathBuf, read_only: bool) -> LogResult<Self> {
        if !read_only {
            std::fs::create_dir_all(&dir)
                .map_err(|e| LogError::io(format!("creating '{}'", dir.display()), e))?;
        }
        let g = Groups {
            dir,
            read_only,
            map: Mutex::new(HashMap::new()),
            next_member: std::sync::atomic::AtomicU64::new(1),
        };
        g.load_all()?;
        Ok(g)
    }

    fn load_all(&self) -> LogResult<()> {
        let rd = match std::fs::read_dir(&self.dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(LogError::io(format!("listing '{}'", self.dir.display()), e)),
        };
        let mut map = self.map.lock().map_err(poisoned)?;
        for entry in rd {
            let entry =
                entry.map_err(|e| LogError::io(format!("listing '{}'", self.dir.display()), e))?;
            let path = entry.path();
            if path.extension().and_then(|e| e.to_str()) != Some("json") {
                continue;
            }
            let Some(file) = read_group_file(&path)? else {
                continue;
            };
            let group = map.entry(file.group.clone()).or_default().clone();
            let mut g = group.lock().map_err(poisoned)?;
            g.applied_txn = file.applied_txn;
            g.offsets = file
                .offsets
                .into_iter()
                .map(|o| (TopicPartition::new(o.topic, o.partition), o.offset))
                .collect();
        }
        Ok(())
    }

    /// In a read-only log, picks up commits made by the owning process.
    pub fn reload(&self) -> LogResult<()> {
        if self.read_only {
            self.map.lock().map_err(poisoned)?.clear();
            self.load_all()?;
        }
        Ok(())
    }

    /// The group's state, created empty if unknown.
    pub fn group(&self, id: &str) -> LogResult<Arc<Mutex<Group>>> {
        Ok(self
            .map
            .lock()
            .map_err(poisoned)?
            .entry(id.to_owned())
            .or_default()
            .clone())
    }

    fn existing(&self, id: &str) -> LogResult<Option<Arc<Mutex<Group>>>> {
        Ok(self.map.lock().map_err(poisoned)?.get(id).cloned())
    }

    /// Groups with committed offsets, sorted.
    pub fn list(&self) -> LogResult<Vec<String>> {
        self.reload()?;
        let map = self.map.lock().map_err(poisoned)?;
        let mut out = Vec::new();
        for (id, g) in map.iter() {
            if !g.lock().map_err(poisoned)?.offsets.is_empty() {
                out.push(id.clone());
            }
        }
        out.sort();
        Ok(out)
    }

    /// All committed offsets of a group; [`LogError::UnknownGroup`] if it has none.
    pub fn offsets(&self, id: &str) -> LogResult<Vec<(TopicPartition, i64)>> {
        self.reload()?;
        let g = self
            .existing(id)?
            .ok_or_else(|| LogError::UnknownGroup { group: id.into() })?;
        let g = g.lock().map_err(poisoned)?;
        if g.offsets.is_empty() && g.members.is_empty() {
            return Err(LogError::UnknownGroup { group: id.into() });
        }
        Ok(g.offsets.iter().map(|(tp, o)| (tp.clone(), *o)).collect())
    }

    /// Committed offsets of some partitions.
    pub fn committed(
        &self,
        id: &str,
        tps: &[TopicPartition],
    ) -> LogResult<Vec<(TopicPartition, Option<i64>)>> {
        self.reload()?;
        let g = self.existing(id)?;
        let g = match &g {
            Some(g) => Some(g.lock().map_err(poisoned)?),
            None => None,
        };
        Ok(tps
            .iter()
            .map(|tp| {
                (
                    tp.clone(),
                    g.as_ref().and_then(|g| g.offsets.get(tp).copied()),
                )
            })
            .collect())
    }

    /// The committed offset of one partition.
    pub fn committed_one(&self, id: &str, tp: &TopicPartition) -> LogResult<Option<i64>> {
        let Some(g) = self.existing(id)? else {
            return Ok(None);
        };
        let g = g.lock().map_err(poisoned)?;
        Ok(g.offsets.get(tp).copied())
    }

    fn check_writable(&self) -> LogResult<()> {
        if self.read_only {
            return Err(LogError::ReadOnly {
                path: self.dir.parent().unwrap_or(&self.dir).to_path_buf(),
            });
        }
        Ok(())
    }

    /// Stores offsets durably. `txn` marks offsets committed by that transaction.
    pub fn commit(
        &self,
        id: &str,
        offsets: &[(TopicPartition, i64)],
        txn: Option<i64>,
    ) -> LogResult<()> {
        self.check_writable()?;
        let group = self.group(id)?;
        let mut g = group.lock().map_err(poisoned)?;
        if let Some(t) = txn {
            if g.applied_txn >= t {
                return Ok(());
            }
            g.applied_txn = t;
        }
        for (tp, o) in offsets {
            g.offsets.insert(tp.clone(), *o);
        }
        self.write(id, &g)
    }

    /// Largest transaction id applied to any group.
    pub fn max_applied_txn(&self) -> LogResult<i64> {
        let map = self.map.lock().map_err(poisoned)?;
        let mut max = 0;
        for g in map.values() {
            max = max.max(g.lock().map_err(poisoned)?.applied_txn);
        }
        Ok(max)
    }

    /// Changes offsets of a group without active members.
    pub fn alter(&self, id: &str, offsets: &[(TopicPartition, i64)]) -> LogResult<()> {
        self.check_writable()?;
        let group = self.group(id)?;
        let mut g = group.lock().map_err(poisoned)?;
        if !g.members.is_empty() {
            return Err(LogError::GroupNotEmpty { group: id.into() });
        }
        for (tp, o) in offsets {
            g.offsets.insert(tp.clone(), *o);
        }
        self.write(id, &g)
    }

    /// Removes offsets of some partitions of a group without active members.
    pub fn delete_offsets(&self, id: &str, tps: &[TopicPartition]) -> LogResult<()> {
        self.check_writable()?;
        let group = self
            .existing(id)?
            .ok_or_else(|| LogError::UnknownGroup { group: id.into() })?;
        let mut g = group.lock().map_err(poisoned)?;
        if !g.members.is_empty() {
            return Err(LogError::GroupNotEmpty { group: id.into() });
        }
        for tp in tps {
            g.offsets.remove(tp);
        }
        self.write(id, &g)
    }

    /// Deletes a group without active members; a missing group is fine.
    pub fn delete(&self, id: &str) -> LogResult<()> {
        self.check_writable()?;
        let mut map = self.map.lock().map_err(poisoned)?;
        if let Some(group) = map.get(id) {
            if !group.lock().map_err(poisoned)?.members.is_empty() {
                return Err(LogError::GroupNotEmpty { group: id.into() });
            }
        }
        map.remove(id);
        let path = self.dir.join(file_name(id));
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(LogError::io(format!("deleting '{}'", path.display()), e)),
        }
    }

    /// Drops offsets of a deleted topic from every group.
    pub fn forget_topic(&self, topic: &str) -> LogResult<()> {
        let map = self.map.lock().map_err(poisoned)?;
        for (id, group) in map.iter() {
            let mut g = group.lock().map_err(poisoned)?;
            let before = g.offsets.len();
            g.offsets.retain(|tp, _| &*tp.topic != topic);
            if g.offsets.len() != before {
                self.write(id, &g)?;
            }
        }
        Ok(())
    }

    fn write(&self, id: &str, g: &Group) -> LogResult<()> {
        let path = self.dir.join(file_name(id));
        if g.offsets.is_empty() && g.applied_txn == 0 {
            return match std::fs::remove_file(&path) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(LogError::io(format!("deleting '{}'", path.display()), e)),
            };
        }
        let file = GroupFile {
            group: id.to_owned(),
            applied_txn: g.applied_txn,
            offsets: g
                .offsets
                .iter()
                .map(|(tp, o)| OffsetEntry {
                    topic: tp.topic.to_string(),
                    partition: tp.partition,
                    offset: *o,
                })
                .collect(),
        };
        let text = serde_json::to_vec_pretty(&file).map_err(|e| LogError::Corrupt {
            path: path.clone(),
            message: format!("group offsets do not serialize: {e}"),
        })?;
        super::write_atomically(&path, &text)
    }

    /// Adds a member; returns its id.
    pub fn join(&self, id: &str, interest: Interest) -> LogResult<u64> {
        let member = self
            .next_member
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let group = self.group(id)?;
        let mut g = group.lock().map_err(poisoned)?;
        g.members.insert(member, Member { interest });
        g.members_version += 1;
        g.epoch += 1;
        Ok(member)
    }

    /// Changes a member's subscription.
    pub fn resubscribe(&self, id: &str, member: u64, interest: Interest) -> LogResult<()> {
        let group = self.group(id)?;
        let mut g = group.lock().map_err(poisoned)?;
        g.members.insert(member, Member { interest });
        g.members_version += 1;
        g.epoch += 1;
        Ok(())
    }

    /// Removes a member and frees whatever it still owns.
    pub fn leave(&self, id: &str, member: u64) -> LogResult<()> {
        let group = self.group(id)?;
        let mut g = group.lock().map_err(poisoned)?;
        g.members.remove(&member);
        g.owners.retain(|_, m| *m != member);
        g.members_version += 1;
        g.epoch += 1;
        Ok(())
    }

    /// Frees partitions a member gave up.
    pub fn release(&self, id: &str, member: u64, tps: &[TopicPartition]) -> LogResult<()> {
        let group = self.group(id)?;
        let mut g = group.lock().map_err(poisoned)?;
        for tp in tps {
            if g.owners.get(tp) == Some(&member) {
                g.owners.remove(tp);
            }
        }
        g.epoch += 1;
        Ok(())
    }

    /// Computes what `member` must revoke, and claims the free partitions of its target.
    /// `owned` is what the member holds now; `topics` all topics with partition counts and
    /// `meta_version` identifies that list.
    pub fn sync(
        &self,
        id: &str,
        member: u64,
        owned: &BTreeSet<TopicPartition>,
        topics: &[(std::sync::Arc<str>, i32)],
        meta_version: u64,
    ) -> LogResult<(Moves, u64)> {
        let group = self.group(id)?;
        let mut g = group.lock().map_err(poisoned)?;
        let stale = match &g.target {
            Some((mv, tv, _)) => *mv != g.members_version || *tv != meta_version,
            None => true,
        };
        if stale {
            let t = range_assign(&g.members, topics);
            g.target = Some((g.members_version, meta_version, t));
        }
        let empty = BTreeSet::new();
        let target = g
            .target
            .as_ref()
            .and_then(|(_, _, t)| t.get(&member))
            .unwrap_or(&empty)
            .clone();
        let mut moves = Moves::default();
        for tp in owned {
            if !target.contains(tp) {
                moves.revoke.push(tp.clone());
            }
        }
        for tp in target {
            if owned.contains(&tp) {
                continue;
            }
            if g.owners.get(&tp).is_none_or(|m| *m == member) {
                g.owners.insert(tp.clone(), member);
                moves.claimed.push(tp);
            }
        }
        if !moves.claimed.is_empty() {
            g.epoch += 1;
        }
        Ok((moves, g.epoch))
    }

    /// The group's change counter (membership and ownership).
    pub fn epoch(&self, id: &str) -> LogResult<u64> {
        let group = self.group(id)?;
        let g = group.lock().map_err(poisoned)?;
        Ok(g.epoch)
    }
}

fn read_group_file(path: &Path) -> LogResult<Option<GroupFile>> {
    let text = match std::fs::read(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(LogError::io(format!("reading '{}'", path.display()), e)),
    };
    serde_json::from_slice(&text)
        .map(Some)
        .map_err(|e| LogError::Corrupt {
            path: path.to_path_buf(),
            message: format!("group offsets file does not parse: {e}"),
        })
}

/// Kafka's range assignor over members in join order.
fn range_assign(
    members: &BTreeMap<u64, Member>,
    topics: &[(std::sync::Arc<str>, i32)],
) -> HashMap<u64, BTreeSet<TopicPartition>> {
    let mut out: HashMap<u64, BTreeSet<TopicPartition>> = HashMap::new();
    for (topic, partitions) in topics {
        let subs: Vec<u64> = members
            .iter()
            .filter(|(_, m)| m.interest.matches(topic))
            .map(|(id, _)| *id)
            .collect();
        if subs.is_empty() {
            continue;
        }
        let n = *partitions as usize;
        let per = n / subs.len();
        let extra = n % subs.len();
        let mut next = 0;
        for (i, m) in subs.iter().enumerate() {
            let take = per + usize::from(i < extra);
            let set = out.entry(*m).or_default();
            for p in next..next + take {
                set.insert(TopicPartition::new(topic.clone(), p as i32));
            }
            next += take;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_assignor_splits_like_kafka() {
        let mut members = BTreeMap::new();
        for id in [1, 2] {
            members.insert(
                id,
                Member {
                    interest: Interest::Topics(["a".to_string(), "b".to_string()].into()),
                },
            );
        }
        let topics = vec![
            (std::sync::Arc::<str>::from("a"), 3),
            (std::sync::Arc::<str>::from("b"), 2),
        ];
        let t = range_assign(&members, &topics);
        let names = |m: u64| -> Vec<String> { t[&m].iter().map(|tp| tp.to_string()).collect() };
        assert_eq!(names(1), vec!["a-0", "a-1", "b-0"]);
        assert_eq!(names(2), vec!["a-2", "b-1"]);
    }

    #[test]
    fn patterns_match_whole_names() {
        let i = Interest::new(&Subscription::Pattern("test-.*".into())).unwrap();
        assert!(i.matches("test-1"));
        assert!(!i.matches("a-test-1"));
        let j = Interest::new(&Subscription::Pattern("a|b".into())).unwrap();
        assert!(j.matches("a") && j.matches("b") && !j.matches("ab"));
        assert!(Interest::new(&Subscription::Pattern("(".into())).is_err());
    }

    #[test]
    fn group_file_names_are_escaped() {
        assert_eq!(file_name("connect-sink"), "connect-sink.json");
        assert_eq!(file_name("a/b c"), "a%2Fb%20c.json");
    }
}
