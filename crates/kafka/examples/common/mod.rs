//! What the benchmark baselines share: the CPU time each of the process's threads used, so
//! the benchmark scripts can set a baseline's threads beside Sluice's.

use std::collections::BTreeMap;

/// Clock ticks per second of `/proc/*/stat` times (`USER_HZ`, 100 on Linux).
const TICKS_PER_SECOND: f64 = 100.0;

/// `threads: NAME SECONDS, ...`: user + system CPU of this process's threads, summed by
/// thread name, largest first (threads under 0.01 s left out); empty where `/proc` is not.
pub fn thread_cpu() -> String {
    let mut by_name: BTreeMap<String, f64> = BTreeMap::new();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return String::new();
    };
    for task in tasks.flatten() {
        let path = task.path();
        let (Ok(name), Ok(stat)) = (
            std::fs::read_to_string(path.join("comm")),
            std::fs::read_to_string(path.join("stat")),
        ) else {
            continue;
        };
        // The name in `stat` is in parentheses and may hold spaces: count fields after it.
        let Some((_, after_name)) = stat.rsplit_once(')') else {
            continue;
        };
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok());
        if let (Some(user), Some(system)) = (ticks(11), ticks(12)) {
            *by_name.entry(name.trim().to_string()).or_default() +=
                (user + system) / TICKS_PER_SECOND;
        }
    }
    let mut threads: Vec<(String, f64)> = by_name.into_iter().filter(|(_, s)| *s >= 0.01).collect();
    threads.sort_by(|a, b| b.1.total_cmp(&a.1));
    let list: Vec<String> = threads.iter().map(|(n, s)| format!("{n} {s:.2}")).collect();
    format!("threads: {}", list.join(", "))
}
