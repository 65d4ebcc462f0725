//! Worker membership against the test broker (`sluice_kafka::testing::bootstrap`): several
//! members in one process join one group, elect a leader and share 2 connectors × 6 tasks.
//! Each test uses its own group id; waits have generous deadlines and no timing assertions.

use std::collections::BTreeMap;
use std::time::Duration;

use sluice_kafka::group::{ClusterState, GroupConfig, GroupEvent, WorkSet, WorkerGroup};
use sluice_kafka::testing::{bootstrap, unique_topic};
use tokio::sync::watch;
use tokio::task::JoinHandle;

fn cluster(offset: i64, connectors: &[(&str, u32)]) -> ClusterState {
    ClusterState {
        config_offset: offset,
        connectors: connectors
            .iter()
            .map(|(c, n)| (c.to_string(), *n))
            .collect::<BTreeMap<_, _>>(),
    }
}

/// What a test herder saw of its member.
#[derive(Debug, Clone, Default)]
struct View {
    generation: i32,
    is_leader: bool,
    leader_url: String,
    running: WorkSet,
    /// Everything this member was ever told to stop.
    revoked: WorkSet,
    failed: Option<String>,
    /// One line per event, printed when a wait fails.
    history: Vec<String>,
}

struct Worker {
    url: String,
    group: Option<WorkerGroup>,
    view: watch::Receiver<View>,
    herder: JoinHandle<()>,
}

impl Worker {
    fn start(group_id: &str, name: &str, max_delay: Duration, state: ClusterState) -> Worker {
        let url = format!("http://{name}:8083/");
        let mut config = GroupConfig::new(&bootstrap(), group_id, &url);
        config.session_timeout = Duration::from_millis(6000);
        config.heartbeat_interval = Duration::from_millis(500);
        config.rebalance_timeout = Duration::from_millis(20_000);
        config.scheduled_rebalance_max_delay = max_delay;
        config.request_timeout = Duration::from_millis(30_000);
        config.client_id = format!("sluice-test-{name}");
        let (group, mut events) = WorkerGroup::join(config, state).unwrap();
        let (tx, view) = watch::channel(View {
            generation: -1,
            ..View::default()
        });
        let herder = tokio::spawn(async move {
            while let Some(event) = events.next().await {
                match event {
                    GroupEvent::Revoked { revoked, ack, .. } => {
                        tx.send_modify(|v| {
                            v.history.push(format!("revoked {revoked:?}"));
                            v.running.remove_all(&revoked);
                            v.revoked.extend(&revoked);
                        });
                        ack.done();
                    }
                    GroupEvent::Assigned(a) => tx.send_modify(|v| {
                        assert!(
                            v.running.difference(&a.running).is_empty(),
                            "work disappeared without a revocation"
                        );
                        v.history.push(format!(
                            "generation {} leader {} assigned {:?} delay {:?}",
                            a.generation, a.is_leader, a.assigned, a.delay
                        ));
                        v.generation = a.generation;
                        v.is_leader = a.is_leader;
                        v.leader_url = a.leader_url.clone();
                        v.running = a.running.clone();
                    }),
                    GroupEvent::ConfigMismatch { generation, .. } => {
                        tx.send_modify(|v| v.history.push(format!("config mismatch {generation}")))
                    }
                    GroupEvent::Failed(e) => tx.send_modify(|v| v.failed = Some(e.to_string())),
                }
            }
        });
        Worker {
            url,
            group: Some(group),
            view,
            herder,
        }
    }

    fn view(&self) -> View {
        self.view.borrow().clone()
    }

    fn handle(&self) -> &WorkerGroup {
        self.group.as_ref().unwrap()
    }

    async fn leave(&mut self) {
        if let Some(g) = self.group.take() {
            g.leave().await.unwrap();
        }
        self.herder.abort();
    }

    /// Stops without leaving: no LeaveGroup, no more heartbeats, the connection drops.
    fn vanish(&mut self) {
        self.group.take();
        self.herder.abort();
    }
}

/// Waits until the live workers agree on one generation newer than `after`, run every item of
/// `expected` exactly once between them, and nothing else.
async fn settle(workers: &[&Worker], expected: &WorkSet, after: i32) -> Vec<View> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    loop {
        let views: Vec<View> = workers.iter().map(|w| w.view()).collect();
        for v in &views {
            assert!(v.failed.is_none(), "a member failed: {:?}", v.failed);
        }
        let generation = views[0].generation;
        let same = views.iter().all(|v| v.generation == generation) && generation > after;
        let mut union = WorkSet::default();
        let mut overlap = false;
        for v in &views {
            overlap |= !v.running.intersection(&union).is_empty();
            union.extend(&v.running);
        }
        if same && !overlap && &union == expected {
            return views;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the group did not settle: {views:#?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn check_balanced(views: &[View]) {
    let tasks: Vec<usize> = views.iter().map(|v| v.running.tasks.len()).collect();
    let connectors: Vec<usize> = views.iter().map(|v| v.running.connectors.len()).collect();
    for loads in [tasks, connectors] {
        let min = loads.iter().min().copied().unwrap_or(0);
        let max = loads.iter().max().copied().unwrap_or(0);
        assert!(max - min <= 1, "unbalanced: {loads:?} in {views:#?}");
    }
}

fn check_one_leader(workers: &[&Worker], views: &[View]) {
    let leaders: Vec<&View> = views.iter().filter(|v| v.is_leader).collect();
    assert_eq!(leaders.len(), 1, "{views:#?}");
    let leader_url = &views[0].leader_url;
    assert!(views.iter().all(|v| &v.leader_url == leader_url));
    let leader_worker = workers
        .iter()
        .zip(views)
        .find(|(_, v)| v.is_leader)
        .map(|(w, _)| w.url.clone());
    assert_eq!(leader_worker.as_ref(), Some(leader_url));
    // The handle's status agrees with the events.
    for (w, v) in workers.iter().zip(views) {
        let status = w.handle().status();
        assert_eq!(status.generation, v.generation);
        assert_eq!(status.is_leader, v.is_leader);
        assert_eq!(&status.leader_url, leader_url);
        assert_eq!(status.running, v.running);
        assert!(!status.member_id.is_empty());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_workers_elect_one_leader_share_the_work_and_keep_it_when_a_connector_is_added() {
    let group = unique_topic("connect-group-three");
    let state = cluster(1, &[("a", 6), ("b", 6)]);
    let workers: Vec<Worker> = ["w1", "w2", "w3"]
        .iter()
        .map(|n| Worker::start(&group, n, Duration::ZERO, state.clone()))
        .collect();
    let live: Vec<&Worker> = workers.iter().collect();
    let views = settle(&live, &state.all_work(), -1).await;
    check_one_leader(&live, &views);
    check_balanced(&views);
    for v in &views {
        assert_eq!(v.running.tasks.len(), 4);
    }

    // A new connector: every member reads it (higher config offset), then one asks to rejoin.
    let bigger = cluster(2, &[("a", 6), ("b", 6), ("c", 3)]);
    for w in &workers {
        w.handle().set_cluster_state(bigger.clone());
    }
    let leader = workers.iter().zip(&views).find(|(_, v)| v.is_leader);
    leader.unwrap().0.handle().request_rejoin();
    let after = settle(&live, &bigger.all_work(), views[0].generation).await;
    for (before, now) in views.iter().zip(&after) {
        assert!(
            before.running.difference(&now.running).is_empty(),
            "existing work moved when a connector was added"
        );
        assert!(now.revoked.is_empty(), "something was revoked: {now:?}");
    }
    check_balanced(&after);

    for mut w in workers {
        w.leave().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_leaving_cleanly_hands_over_only_its_work() {
    let group = unique_topic("connect-group-leave");
    let state = cluster(1, &[("a", 6), ("b", 6)]);
    let mut workers: Vec<Worker> = ["w1", "w2", "w3"]
        .iter()
        .map(|n| Worker::start(&group, n, Duration::ZERO, state.clone()))
        .collect();
    let views = {
        let live: Vec<&Worker> = workers.iter().collect();
        settle(&live, &state.all_work(), -1).await
    };
    // The leader leaves: the others elect a new one, take its work, and keep theirs.
    let leader_index = views.iter().position(|v| v.is_leader).unwrap();
    let mut leaving = workers.remove(leader_index);
    let mut before = views.clone();
    before.remove(leader_index);
    leaving.leave().await;

    let live: Vec<&Worker> = workers.iter().collect();
    let after = settle(&live, &state.all_work(), views[0].generation).await;
    check_one_leader(&live, &after);
    check_balanced(&after);
    for (b, a) in before.iter().zip(&after) {
        assert!(
            b.running.difference(&a.running).is_empty(),
            "survivor lost work"
        );
        assert!(a.revoked.is_empty(), "survivor had work revoked: {a:?}");
    }
    for mut w in workers {
        w.leave().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vanished_worker_is_replaced_after_the_session_timeout_and_the_delay() {
    let group = unique_topic("connect-group-vanish");
    let state = cluster(1, &[("a", 6), ("b", 6)]);
    let delay = Duration::from_millis(2000);
    let mut workers: Vec<Worker> = ["w1", "w2", "w3"]
        .iter()
        .map(|n| Worker::start(&group, n, delay, state.clone()))
        .collect();
    let views = {
        let live: Vec<&Worker> = workers.iter().collect();
        settle(&live, &state.all_work(), -1).await
    };
    // A member that is not the leader disappears: no LeaveGroup, no heartbeats.
    let index = views.iter().position(|v| !v.is_leader).unwrap();
    let mut gone = workers.remove(index);
    let mut before = views.clone();
    let gone_view = before.remove(index);
    gone.vanish();

    let live: Vec<&Worker> = workers.iter().collect();
    let after = settle(&live, &state.all_work(), views[0].generation).await;
    check_one_leader(&live, &after);
    check_balanced(&after);
    let mut taken = WorkSet::default();
    for (b, a) in before.iter().zip(&after) {
        assert!(
            b.running.difference(&a.running).is_empty(),
            "survivor lost work"
        );
        assert!(a.revoked.is_empty(), "survivor had work revoked: {a:?}");
        taken.extend(&a.running.difference(&b.running));
    }
    assert_eq!(
        taken, gone_view.running,
        "only the vanished worker's work moved"
    );
    for mut w in workers {
        w.leave().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fourth_worker_takes_a_share_moving_only_the_surplus() {
    let group = unique_topic("connect-group-join");
    let state = cluster(1, &[("a", 6), ("b", 6)]);
    let mut workers: Vec<Worker> = ["w1", "w2", "w3"]
        .iter()
        .map(|n| Worker::start(&group, n, Duration::ZERO, state.clone()))
        .collect();
    let views = {
        let live: Vec<&Worker> = workers.iter().collect();
        settle(&live, &state.all_work(), -1).await
    };
    workers.push(Worker::start(&group, "w4", Duration::ZERO, state.clone()));
    let live: Vec<&Worker> = workers.iter().collect();
    let after = settle(&live, &state.all_work(), views[0].generation).await;
    check_one_leader(&live, &after);
    check_balanced(&after);
    assert_eq!(after[3].running.tasks.len(), 3);
    let mut moved = WorkSet::default();
    for (b, a) in views.iter().zip(&after) {
        // Each old member gave up exactly its surplus task and gained nothing.
        assert!(
            a.running.difference(&b.running).is_empty(),
            "old member gained work"
        );
        assert_eq!(a.revoked.tasks.len(), 1, "{a:?}");
        assert!(a.revoked.connectors.is_empty(), "{a:?}");
        moved.extend(&a.revoked);
    }
    assert_eq!(moved, after[3].running);
    for mut w in workers {
        w.leave().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_returning_within_the_delay_gets_its_own_work_back() {
    let group = unique_topic("connect-group-return");
    let state = cluster(1, &[("a", 6), ("b", 6)]);
    let delay = Duration::from_secs(120);
    let names = ["w1", "w2", "w3"];
    let mut workers: Vec<Worker> = names
        .iter()
        .map(|n| Worker::start(&group, n, delay, state.clone()))
        .collect();
    let views = {
        let live: Vec<&Worker> = workers.iter().collect();
        settle(&live, &state.all_work(), -1).await
    };
    let index = views.iter().position(|v| !v.is_leader).unwrap();
    let mut gone = workers.remove(index);
    let mut before = views.clone();
    let gone_view = before.remove(index);
    gone.vanish();

    // The survivors move to a new generation without the vanished worker; its work is held.
    let held = state.all_work().difference(&gone_view.running);
    let survivors = {
        let live: Vec<&Worker> = workers.iter().collect();
        settle(&live, &held, views[0].generation).await
    };
    for (b, a) in before.iter().zip(&survivors) {
        assert_eq!(b.running, a.running, "held work was handed out early");
    }

    // The same worker (same url) comes back within the delay.
    workers.push(Worker::start(&group, names[index], delay, state.clone()));
    let live: Vec<&Worker> = workers.iter().collect();
    let after = settle(&live, &state.all_work(), survivors[0].generation).await;
    assert_eq!(after[2].running, gone_view.running);
    for (b, a) in before.iter().zip(&after) {
        assert_eq!(b.running, a.running, "a survivor's work changed");
    }
    for mut w in workers {
        w.leave().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_cluster_keeps_the_member_retrying_and_leave_still_returns() {
    // Nothing listens on port 1 of the loopback address.
    let mut config = GroupConfig::new("127.0.0.1:1", "connect-nowhere", "http://w:8083/");
    config.retry_backoff = Duration::from_millis(50);
    config.request_timeout = Duration::from_millis(500);
    let (group, mut events) = WorkerGroup::join(config, cluster(0, &[("a", 1)])).unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let status = group.status();
    assert_eq!(status.generation, -1);
    assert!(status.running.is_empty());
    group.leave().await.unwrap();
    // No assignment ever came; the stream ends once the member has stopped.
    while let Some(event) = events.next().await {
        assert!(
            !matches!(event, GroupEvent::Assigned(_)),
            "assigned without a cluster: {event:?}"
        );
    }
}
