//! Where a benchmark's CPU goes: the user + system time that the bench itself and each node process of
//! the local network spent during the measured interval, and how busy the whole machine was. Read from
//! `/proc` (Linux), so `carechain bench` can say per transaction what each stage of endorse → order →
//! validate costs, next to its own client cost.

use std::path::Path;

use carechain::launcher::home::Home;
use carechain::launcher::spec::{NetworkSpec, Topology};

/// Clock ticks per second of `/proc` times (USER_HZ, 100 on Linux).
const TICKS: f64 = 100.0;

/// CPU seconds (user + system) used so far by process `pid` (`"self"` for this one).
pub fn process_seconds(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some((f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?) / TICKS)
}

/// Busy CPU seconds of the whole machine (all cores): everything but idle and iowait.
fn machine_busy_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let cpu = stat.lines().next()?.strip_prefix("cpu ")?;
    let v: Vec<f64> = cpu.split_whitespace().filter_map(|x| x.parse().ok()).collect();
    // user nice system idle iowait irq softirq steal
    let busy = v.iter().take(8).enumerate().filter(|(i, _)| *i != 3 && *i != 4);
    Some(busy.map(|(_, x)| x).sum::<f64>() / TICKS)
}

/// The processes to account: this bench and the local network's running nodes.
pub struct Accounting {
    nodes: Vec<(String, u32)>,
}

/// CPU seconds at one instant.
#[derive(Clone, Debug, Default)]
pub struct Sample {
    /// This bench process.
    pub bench: f64,
    /// Each node, by name, in the network description's order.
    pub nodes: Vec<(String, f64)>,
    /// The whole machine.
    pub machine: f64,
}

impl Accounting {
    /// The local network described by `config` under `$CARECHAIN_HOME`; none when it cannot be read
    /// (a `--profile` target, or a network this host does not run).
    pub fn local(config: &Path) -> Accounting {
        let nodes = NetworkSpec::load(config)
            .and_then(Topology::new)
            .map(|t| {
                let home = Home::from_env();
                t.nodes
                    .iter()
                    .filter_map(|n| home.running_pid(&n.name).map(|pid| (n.name.clone(), pid)))
                    .collect()
            })
            .unwrap_or_default();
        Accounting { nodes }
    }

    /// Only this bench process (a remote target).
    pub fn bench_only() -> Accounting {
        Accounting { nodes: Vec::new() }
    }

    /// The CPU seconds used so far.
    pub fn sample(&self) -> Sample {
        Sample {
            bench: process_seconds("self").unwrap_or(0.0),
            nodes: self
                .nodes
                .iter()
                .map(|(name, pid)| (name.clone(), process_seconds(&pid.to_string()).unwrap_or(0.0)))
                .collect(),
            machine: machine_busy_seconds().unwrap_or(0.0),
        }
    }
}

impl Sample {
    /// What was spent between `earlier` and `self`.
    pub fn since(&self, earlier: &Sample) -> Sample {
        Sample {
            bench: self.bench - earlier.bench,
            nodes: self
                .nodes
                .iter()
                .zip(&earlier.nodes)
                .map(|((n, a), (_, b))| (n.clone(), a - b))
                .collect(),
            machine: self.machine - earlier.machine,
        }
    }
}
