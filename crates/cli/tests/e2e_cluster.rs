//! Several `sluice distributed` workers on the test broker forming one Connect cluster
//! through Kafka's group coordinator: work spreads over the workers, a killed worker's share
//! moves to the others within `scheduled.rebalance.max.delay.ms` plus the session timeout,
//! a worker that comes back gets a share, no record is lost, and rebalances are sticky
//! (creating or updating one connector never restarts another's tasks); admin requests (log
//! levels for the whole cluster, source offsets) answer alike on every worker.

mod common;
mod rest_support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::*;
use rest_support::Worker;
use serde_json::{json, Value as Json};
use sluice_kafka::testing::{bootstrap, unique_topic};

/// Workers of one cluster; those still running are killed when the test ends, even on a
/// failure.
struct Cluster<'s> {
    scratch: &'s Scratch,
    config: PathBuf,
    workers: Vec<Option<Worker>>,
}

/// Log file names of the workers (the helpers want `&'static str`).
const LOGS: [&str; 6] = [
    "worker-0.log",
    "worker-1.log",
    "worker-2.log",
    "worker-3.log",
    "worker-4.log",
    "worker-5.log",
];

impl<'s> Cluster<'s> {
    /// The shared worker config: its own group and internal topics; short session and
    /// rebalance delay so a departed worker's work moves within seconds.
    fn new(scratch: &'s Scratch, prefix: &str) -> Self {
        let content = rest_support::kafka_distributed_config(
            prefix,
            "status.storage.partitions=1\n\
             session.timeout.ms=6000\n\
             heartbeat.interval.ms=1000\n\
             scheduled.rebalance.max.delay.ms=3000\n",
        );
        Cluster {
            scratch,
            config: scratch.write("cluster.properties", &content),
            workers: Vec::new(),
        }
    }

    /// Starts one more worker and waits until its API answers; answers its index.
    fn add(&mut self) -> usize {
        let index = self.workers.len();
        let child = self
            .scratch
            .spawn(&["distributed", self.config.to_str().unwrap()], LOGS[index]);
        let worker =
            rest_support::wait_for_api(self.scratch, child, LOGS[index], Duration::from_secs(90));
        rest_support::wait_joined(self.scratch, LOGS[index]);
        self.workers.push(Some(worker));
        index
    }

    fn worker(&self, index: usize) -> &Worker {
        self.workers[index].as_ref().expect("a running worker")
    }

    /// The worker id (`host:port`) of a worker, as statuses show it.
    fn id(&self, index: usize) -> String {
        self.worker(index)
            .url
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned()
    }

    fn kill(&mut self, index: usize) {
        let mut worker = self.workers[index].take().expect("a running worker");
        signal(&worker.child, "KILL");
        wait_exit(&mut worker.child, Duration::from_secs(10));
    }

    /// Stops every running worker gracefully (each must exit 0).
    fn stop_all(&mut self) {
        for worker in self.workers.iter_mut().filter_map(Option::take) {
            worker.stop();
        }
    }

    /// How often each worker's log says a task of `connector` went RUNNING (a start or a
    /// restart).
    fn task_starts(&self, connector: &str) -> BTreeMap<String, usize> {
        let mut starts = BTreeMap::new();
        for log in &LOGS[..self.workers.len()] {
            for line in self.scratch.read_log(log).lines() {
                if let Some(rest) = line.split(&format!("Task {connector}-")).nth(1) {
                    if let Some((task, _)) = rest.split_once(" is RUNNING") {
                        *starts.entry(task.to_owned()).or_insert(0) += 1;
                    }
                }
            }
        }
        starts
    }

    /// What the workers' logs say about `connector` (its tasks' partition assignments and
    /// revocations, starts and stops) and every warning or error, for a failure message.
    fn story_of(&self, connector: &str) -> String {
        let mut lines = Vec::new();
        for (index, log) in LOGS[..self.workers.len()].iter().enumerate() {
            for line in self.scratch.read_log(log).lines() {
                if line.contains(connector) || line.contains(" WARN ") || line.contains(" ERROR ") {
                    lines.push(format!("worker {index}: {line}"));
                }
            }
        }
        let skip = lines.len().saturating_sub(80);
        lines[skip..].join("\n")
    }
}

impl Drop for Cluster<'_> {
    fn drop(&mut self) {
        for worker in self.workers.iter_mut().filter_map(Option::take) {
            let mut child = worker.child;
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The worker id of each task of a connector whose tasks all run; `None` until then.
fn running_tasks(w: &Worker, connector: &str, tasks: usize) -> Option<Vec<String>> {
    let (code, status) = w.call("GET", &format!("/connectors/{connector}/status"), None);
    if code != 200 || status["connector"]["state"] != "RUNNING" {
        return None;
    }
    let list = status["tasks"].as_array()?;
    if list.len() != tasks || list.iter().any(|t| t["state"] != "RUNNING") {
        return None;
    }
    Some(
        list.iter()
            .map(|t| t["worker_id"].as_str().unwrap_or("").to_owned())
            .collect(),
    )
}

fn create(w: &Worker, name: &str, config: Json) {
    let (code, body) = w.send(
        "POST",
        "/connectors",
        &json!({"name": name, "config": config}),
    );
    assert_eq!(code, 201, "creating {name}: {body}");
}

fn create_topic(s: &Scratch, topic: &str, partitions: u32) {
    let server = bootstrap();
    let out = s.run(&[
        "topics",
        "--bootstrap-server",
        &server,
        "create",
        topic,
        "--partitions",
        &partitions.to_string(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The `orderid` of each whole line the sink wrote, and the lines cut short: a worker
/// killed during a write leaves part of its last chunk, whose records are written again
/// in full after the restart (the sink ends the cut line first).
fn order_ids(path: &std::path::Path) -> (Vec<u64>, Vec<String>) {
    let (whole, cut): (Vec<String>, Vec<String>) =
        lines(path).into_iter().partition(|l| l.ends_with('}'));
    (whole.iter().map(|l| order_id(l)).collect(), cut)
}

/// Where each order of `ids` sits in `topic` (partition@offset), or that it is not there:
/// tells a record the sink lost from one the source never wrote.
fn locate_orders(s: &Scratch, topic: &str, ids: &[u64]) -> String {
    let records = topic_records(s, topic);
    ids.iter()
        .map(|id| {
            let places: Vec<String> = records
                .iter()
                .filter(|r| r["value"].as_str().and_then(order_id_in) == Some(*id))
                .map(|r| format!("{}@{}", r["partition"], r["offset"]))
                .collect();
            if places.is_empty() {
                format!("{id} not in the topic")
            } else {
                format!("{id} at {}", places.join(" "))
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Every record of `topic`, read from the beginning (`sluice topics consume`, JSON lines
/// with partition, offset and value).
fn topic_records(s: &Scratch, topic: &str) -> Vec<Json> {
    let args = ["consume", topic, "--from-beginning", "--format", "json"];
    run_topics(s, &bootstrap(), None, &args)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// The order id of every record in `topic`, duplicates included.
fn topic_orders(s: &Scratch, topic: &str) -> Vec<u64> {
    topic_records(s, topic)
        .iter()
        .filter_map(|r| r["value"].as_str().and_then(order_id_in))
        .collect()
}

/// The worker id of each task of a connector, whatever their state; `None` until the
/// connector has tasks.
fn task_workers(w: &Worker, connector: &str) -> Option<Vec<String>> {
    let (code, status) = w.call("GET", &format!("/connectors/{connector}/status"), None);
    let list = status["tasks"]
        .as_array()
        .filter(|l| code == 200 && !l.is_empty())?;
    Some(
        list.iter()
            .map(|t| t["worker_id"].as_str().unwrap_or("").to_owned())
            .collect(),
    )
}

/// The `orderid` in a record value, whatever the converter's punctuation around it;
/// `None` when the value is cut short inside it.
fn order_id_in(value: &str) -> Option<u64> {
    let at = value.find("orderid")? + "orderid".len();
    let number = value[at..].trim_start_matches(['"', ':', '=', ' ']);
    let end = number.find([',', '}'])?;
    number[..end].parse().ok()
}

/// The tests of this file run one at a time: each runs three or four workers, and the
/// kill test waits for a rebalance whose time a loaded two-core machine would stretch.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn three_workers_share_tasks_and_survive_a_killed_worker() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    const TASKS: usize = 6;
    const PER_TASK: u64 = 2_000;
    let s = Scratch::new();
    let prefix = unique_topic("e2e-cluster");
    let topic = format!("{prefix}-orders");
    let output = s.path("orders.txt");
    create_topic(&s, &topic, 3);
    let mut cluster = Cluster::new(&s, &prefix);
    for _ in 0..3 {
        cluster.add();
    }
    // A name of its own: its consumer group (connect-<name>) is then this run's alone, not
    // shared with other tests or earlier runs on the same broker. The sink is paused before
    // any order is made and resumed once every order is in the topic: while several
    // producers write one partition, this broker can hand a consumer reading at the head a
    // later record before an earlier one is stored, and that consumer never sees the earlier
    // one (broker gap `concurrent-produce-visibility`, docs/kafka.md). The paused task keeps
    // its place on a worker, and moves when that worker dies.
    let sink = format!("{prefix}-sink");
    create(
        cluster.worker(2),
        &sink,
        json!({
            "connector.class": "FileStreamSink",
            "file": output.display().to_string(),
            "topics": topic,
        }),
    );
    cluster.worker(0).wait_state(&sink, "RUNNING", &["RUNNING"]);
    let (code, body) = cluster
        .worker(0)
        .call("PUT", &format!("/connectors/{sink}/pause"), None);
    assert_eq!(code, 202, "pausing {sink}: {body}");
    cluster.worker(0).wait_state(&sink, "PAUSED", &["PAUSED"]);
    println!("skipped: broker gap concurrent-produce-visibility: the sink reads the orders once they are all written, not while they are written");
    // Each order id (iteration * 6 + task) is made once; about 5 records/s per task at
    // first, so the kill below comes while every task is still producing.
    create(
        cluster.worker(1),
        "orders",
        json!({
            "connector.class": "DatagenConnector",
            "tasks.max": TASKS.to_string(),
            "kafka.topic": topic,
            "quickstart": "orders",
            "iterations": PER_TASK.to_string(),
            "max.interval": "8",
            "random.seed": "3",
        }),
    );
    let mut placement = Vec::new();
    wait_until(
        "six running tasks spread over the three workers",
        Duration::from_secs(120),
        || match running_tasks(cluster.worker(0), "orders", TASKS) {
            Some(p) if p.iter().collect::<BTreeSet<_>>().len() == 3 => {
                placement = p;
                true
            }
            _ => false,
        },
    );
    println!(
        "task placement: {placement:?}; sink task on {:?}",
        task_workers(cluster.worker(0), &sink)
    );
    // Every worker answers for the whole cluster, once it has read the others' status
    // records (the status topic is eventually consistent, as in Kafka Connect).
    for index in 1..3 {
        wait_until(
            &format!("worker {index} reporting the same six running tasks"),
            Duration::from_secs(20),
            || running_tasks(cluster.worker(index), "orders", TASKS).as_ref() == Some(&placement),
        );
    }
    wait_until(
        "records flowing into the topic",
        Duration::from_secs(120),
        || topic_orders(&s, &topic).len() >= 500,
    );

    let victim = cluster.id(2);
    let moved: Vec<usize> = (0..TASKS).filter(|t| placement[*t] == victim).collect();
    assert!(!moved.is_empty());
    cluster.kill(2);
    let killed_at = Instant::now();
    wait_until(
        "the killed worker's tasks running on the others",
        Duration::from_secs(30),
        || {
            running_tasks(cluster.worker(0), "orders", TASKS)
                .is_some_and(|p| p.iter().all(|w| *w != victim))
        },
    );
    println!(
        "tasks {moved:?} of the killed worker ran elsewhere after {:.1} s",
        killed_at.elapsed().as_secs_f64()
    );

    let expected = TASKS as u64 * PER_TASK;
    let all_orders: BTreeSet<u64> = (0..expected).collect();
    wait_until("every order in the topic", Duration::from_secs(240), || {
        topic_orders(&s, &topic)
            .into_iter()
            .collect::<BTreeSet<_>>()
            == all_orders
    });
    wait_until(
        "the paused sink task on a running worker",
        Duration::from_secs(60),
        || task_workers(cluster.worker(0), &sink).is_some_and(|w| w.iter().all(|w| *w != victim)),
    );
    let (code, body) = cluster
        .worker(0)
        .call("PUT", &format!("/connectors/{sink}/resume"), None);
    assert_eq!(code, 202, "resuming {sink}: {body}");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let distinct: BTreeSet<u64> = order_ids(&output).0.into_iter().collect();
        if distinct.len() as u64 >= expected {
            break;
        }
        if Instant::now() > deadline {
            let missing: Vec<u64> = (0..expected).filter(|i| !distinct.contains(i)).collect();
            let (_, sink_status) =
                cluster
                    .worker(0)
                    .call("GET", &format!("/connectors/{sink}/status"), None);
            let first = &missing[..missing.len().min(12)];
            let odd_lines: Vec<String> = lines(&output)
                .into_iter()
                .filter(|l| !l.ends_with('}') || l.matches("orderid").count() != 1)
                .collect();
            panic!(
                "{} of {expected} orders missing from the sink file (first: {first:?}); \
                 in the topic: {}; sink: {sink_status}; lines of the sink file that are cut or \
                 hold other than one order: {odd_lines:?}; the workers' logs on the sink, and \
                 their warnings:\n{}",
                missing.len(),
                locate_orders(&s, &topic, first),
                cluster.story_of(&sink)
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let (ids, cut) = order_ids(&output);
    for line in cut {
        println!("a line cut short by the kill: {line}");
    }
    let distinct: BTreeSet<u64> = ids.iter().copied().collect();
    assert_eq!(distinct, (0..expected).collect::<BTreeSet<_>>());
    println!(
        "{expected} orders made, {} lines in the sink, {} duplicates (at-least-once)",
        ids.len(),
        ids.len() as u64 - expected
    );

    // A worker joining again gets a share of the tasks.
    let back = cluster.add();
    let back_id = cluster.id(back);
    wait_until(
        "the new worker running some tasks",
        Duration::from_secs(60),
        || running_tasks(cluster.worker(0), "orders", TASKS).is_some_and(|p| p.contains(&back_id)),
    );
    cluster.stop_all();
}

#[test]
fn creating_and_updating_connectors_leaves_the_others_running() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let s = Scratch::new();
    let prefix = unique_topic("e2e-sticky");
    let topic = format!("{prefix}-data");
    create_topic(&s, &topic, 3);
    let mut cluster = Cluster::new(&s, &prefix);
    for _ in 0..3 {
        cluster.add();
    }
    let datagen = |tasks: u32, interval: u32| {
        json!({
            "connector.class": "DatagenConnector",
            "tasks.max": tasks.to_string(),
            "kafka.topic": topic,
            "quickstart": "pageviews",
            "max.interval": interval.to_string(),
        })
    };
    create(cluster.worker(0), "first", datagen(3, 200));
    create(cluster.worker(1), "second", datagen(2, 200));
    let mut first = Vec::new();
    wait_until("both connectors running", Duration::from_secs(120), || {
        running_tasks(cluster.worker(2), "second", 2).is_some()
            && running_tasks(cluster.worker(2), "first", 3).is_some_and(|p| {
                first = p;
                true
            })
    });
    let starts = cluster.task_starts("first");
    assert_eq!(starts.len(), 3, "{starts:?}");

    // A third connector, then a new config for the second.
    create(cluster.worker(2), "third", datagen(2, 200));
    wait_until(
        "the third connector running",
        Duration::from_secs(120),
        || running_tasks(cluster.worker(0), "third", 2).is_some(),
    );
    let (code, body) = cluster
        .worker(1)
        .send("PUT", "/connectors/second/config", &datagen(2, 300));
    assert_eq!(code, 200, "{body}");
    wait_until(
        "the second connector running its new config",
        Duration::from_secs(120),
        || {
            let (_, tasks) = cluster
                .worker(0)
                .call("GET", "/connectors/second/tasks", None);
            tasks
                .as_array()
                .is_some_and(|t| t.iter().all(|t| t["config"]["max.interval"] == "300"))
                && running_tasks(cluster.worker(0), "second", 2).is_some()
        },
    );
    // Let any rebalance the change caused finish.
    std::thread::sleep(Duration::from_secs(8));
    assert_eq!(
        running_tasks(cluster.worker(0), "first", 3),
        Some(first.clone()),
        "the first connector's tasks stay where they were"
    );
    assert_eq!(
        cluster.task_starts("first"),
        starts,
        "the first connector's tasks were not restarted"
    );
    cluster.stop_all();
}

/// A stopped connector's offsets as one worker lists them: `(partition, offset)` pairs as
/// JSON text, sorted.
fn listed_offsets(w: &Worker, connector: &str) -> Vec<(String, String)> {
    let (code, body) = w.call("GET", &format!("/connectors/{connector}/offsets"), None);
    assert_eq!(code, 200, "{body}");
    let mut pairs: Vec<(String, String)> = body["offsets"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|o| (o["partition"].to_string(), o["offset"].to_string()))
                .collect()
        })
        .unwrap_or_default();
    pairs.sort();
    pairs
}

/// Admin requests about the whole cluster answer the same whichever worker is asked: a log
/// level set with `scope=cluster` reaches every worker (one set without a scope stays on the
/// worker asked), and a source connector's offsets listed by any worker include what its
/// tasks on every worker committed; a reset through one worker leaves nothing for another
/// to list.
#[test]
fn admin_requests_cover_every_worker() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let s = Scratch::new();
    let prefix = unique_topic("e2e-admin");
    let topic = format!("{prefix}-data");
    create_topic(&s, &topic, 2);
    let mut cluster = Cluster::new(&s, &prefix);
    cluster.add();
    cluster.add();

    let logger = "/admin/loggers/sluice_connector_datagen";
    let (code, body) = cluster.worker(1).send(
        "PUT",
        &format!("{logger}?scope=cluster"),
        &json!({"level": "DEBUG"}),
    );
    assert_eq!(code, 204, "{body}");
    for index in 0..2 {
        wait_until(
            &format!("the cluster-wide level on worker {index}"),
            Duration::from_secs(60),
            || {
                let (code, level) = cluster.worker(index).call("GET", logger, None);
                code == 200 && level["level"] == "DEBUG"
            },
        );
    }
    let (code, body) = cluster.worker(0).send(
        "PUT",
        "/admin/loggers/sluice_connector_file",
        &json!({"level": "TRACE"}),
    );
    assert_eq!(code, 200, "{body}");
    let (code, body) = cluster
        .worker(1)
        .call("GET", "/admin/loggers/sluice_connector_file", None);
    assert_eq!(
        code, 404,
        "a worker-scope level stays on the worker asked: {body}"
    );

    create(
        cluster.worker(0),
        "counted",
        json!({
            "connector.class": "DatagenConnector",
            "tasks.max": "2",
            "kafka.topic": topic,
            "quickstart": "pageviews",
            "max.interval": "20",
        }),
    );
    let mut placement = Vec::new();
    wait_until("both tasks running", Duration::from_secs(120), || {
        running_tasks(cluster.worker(0), "counted", 2).is_some_and(|p| {
            placement = p;
            true
        })
    });
    assert_ne!(
        placement[0], placement[1],
        "the two tasks should run on different workers"
    );
    // Both workers list the topic the tasks used, read from the status topic.
    let active_topics = |index: usize| {
        let (code, body) = cluster
            .worker(index)
            .call("GET", "/connectors/counted/topics", None);
        assert_eq!(code, 200, "{body}");
        body["counted"]["topics"].clone()
    };
    for index in 0..2 {
        wait_until(
            &format!("worker {index} listing the active topic"),
            Duration::from_secs(60),
            || active_topics(index) == json!([topic]),
        );
    }
    // Let both tasks commit a few times (offset.flush.interval.ms=200), then stop them.
    std::thread::sleep(Duration::from_secs(2));
    let (code, body) = cluster
        .worker(1)
        .call("PUT", "/connectors/counted/stop", None);
    assert_eq!(code, 204, "{body}");
    let mut listings = Vec::new();
    wait_until(
        "both workers listing the offsets of both tasks alike",
        Duration::from_secs(60),
        || {
            listings = (0..2)
                .map(|index| listed_offsets(cluster.worker(index), "counted"))
                .collect();
            listings[0].len() == 2 && listings[0] == listings[1]
        },
    );
    let (code, body) = cluster
        .worker(1)
        .call("DELETE", "/connectors/counted/offsets", None);
    assert_eq!(code, 200, "{body}");
    for index in 0..2 {
        assert_eq!(
            listed_offsets(cluster.worker(index), "counted"),
            Vec::new(),
            "worker {index} lists offsets after the reset (before: {listings:?})"
        );
    }
    // A reset of the stopped connector's active topics through one worker empties both
    // workers' lists.
    let (code, body) = cluster
        .worker(0)
        .call("PUT", "/connectors/counted/topics/reset", None);
    assert_eq!(code, 202, "{body}");
    for index in 0..2 {
        assert_eq!(active_topics(index), json!([]), "worker {index}");
    }
    cluster.stop_all();
}
