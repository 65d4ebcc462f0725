//! What the benchmark baselines share: the CPU time each of the process's threads used, so
//! the benchmark scripts can set a baseline's threads beside Sluice's.

use std::collections::BTreeMap;

/// `threads: NAME SECONDS, ...`: CPU time of this process's threads, summed by thread name,
/// largest first (threads under 0.01 s left out); empty where `/proc` is not. Read from
/// `/proc/self/task/*/schedstat`, whose first field is the time on a CPU in nanoseconds (the
/// times in `stat` count 10 ms ticks, too coarse for a thread that runs 0.3 s).
pub fn thread_cpu() -> String {
    let mut by_name: BTreeMap<String, f64> = BTreeMap::new();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return String::new();
    };
    for task in tasks.flatten() {
        let path = task.path();
        let (Ok(name), Ok(schedstat)) = (
            std::fs::read_to_string(path.join("comm")),
            std::fs::read_to_string(path.join("schedstat")),
        ) else {
            continue;
        };
        let on_cpu = schedstat.split_whitespace().next();
        if let Some(nanos) = on_cpu.and_then(|f| f.parse::<f64>().ok()) {
            *by_name.entry(name.trim().to_string()).or_default() += nanos / 1e9;
        }
    }
    let mut threads: Vec<(String, f64)> = by_name.into_iter().filter(|(_, s)| *s >= 0.01).collect();
    threads.sort_by(|a, b| b.1.total_cmp(&a.1));
    let list: Vec<String> = threads.iter().map(|(n, s)| format!("{n} {s:.3}")).collect();
    format!("threads: {}", list.join(", "))
}
