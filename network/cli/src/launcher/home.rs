//! `$CARECHAIN_HOME` (default `./.carechain`): everything one local network owns lives under it, so two
//! networks with different homes never collide: `crypto/`, `config/` (configtx.yaml, node configs),
//! `channel-artifacts/` (genesis blocks), `data/<node>/`, `logs/<node>.log`, `pids/<node>.pid`,
//! `profiles/` (connection profiles), `network-config` (the description `network up` used). Node processes are started detached from the terminal in their
//! own process group, and stopped by pid.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// The home directory of a local network.
#[derive(Debug, Clone)]
pub struct Home {
    /// Root.
    pub root: PathBuf,
}

/// The default consortium's description, relative to the repository root.
pub const DEFAULT_CONFIG: &str = "network/network.yaml";

impl Home {
    /// `$CARECHAIN_HOME`, or `./.carechain`.
    pub fn from_env() -> Home {
        let root = std::env::var_os("CARECHAIN_HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(".carechain"));
        let root = if root.is_absolute() {
            root
        } else {
            std::env::current_dir().map(|d| d.join(&root)).unwrap_or(root)
        };
        Home { root }
    }

    /// The network description `network up` last used with this home, if it recorded one.
    pub fn recorded_config(&self) -> Option<PathBuf> {
        let text = std::fs::read_to_string(self.root.join("network-config")).ok()?;
        let path = PathBuf::from(text.trim());
        path.exists().then_some(path)
    }

    /// Records the network description `network up` brings up, so `down`, `status`, `demo` and `bench`
    /// find the same network without `--config`.
    pub fn record_config(&self, config: &Path) -> anyhow::Result<()> {
        let abs = std::fs::canonicalize(config).with_context(|| format!("resolving {}", config.display()))?;
        std::fs::create_dir_all(&self.root).with_context(|| format!("creating {}", self.root.display()))?;
        std::fs::write(self.root.join("network-config"), abs.display().to_string())
            .with_context(|| format!("writing {}", self.root.join("network-config").display()))
    }

    /// `explicit` if given, else the description recorded by `network up`, else the default network.
    pub fn network_config(&self, explicit: Option<PathBuf>) -> PathBuf {
        explicit
            .or_else(|| self.recorded_config())
            .unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG))
    }

    /// Crypto material.
    pub fn crypto(&self) -> PathBuf {
        self.root.join("crypto")
    }
    /// Generated configuration.
    pub fn config(&self) -> PathBuf {
        self.root.join("config")
    }
    /// Genesis block of a channel.
    pub fn genesis(&self, channel: &str) -> PathBuf {
        self.root
            .join("channel-artifacts")
            .join(format!("{channel}.block"))
    }
    /// A node's data directory.
    pub fn data(&self, node: &str) -> PathBuf {
        self.root.join("data").join(node)
    }
    /// A node's log.
    pub fn log(&self, node: &str) -> PathBuf {
        self.root.join("logs").join(format!("{node}.log"))
    }
    /// A node's pid file.
    pub fn pid_file(&self, node: &str) -> PathBuf {
        self.root.join("pids").join(format!("{node}.pid"))
    }
    /// A node's config file.
    pub fn node_config(&self, node: &str) -> PathBuf {
        self.config().join(format!("{node}.yaml"))
    }
    /// Connection profiles.
    pub fn profiles(&self) -> PathBuf {
        self.root.join("profiles")
    }

    /// Creates the directory tree.
    pub fn create(&self) -> anyhow::Result<()> {
        for d in ["config", "channel-artifacts", "data", "logs", "pids", "profiles"] {
            std::fs::create_dir_all(self.root.join(d))
                .with_context(|| format!("creating {}", self.root.join(d).display()))?;
        }
        Ok(())
    }

    /// The running pid of a node, if its pid file names a live process.
    pub fn running_pid(&self, node: &str) -> Option<u32> {
        let pid: u32 = std::fs::read_to_string(self.pid_file(node))
            .ok()?
            .trim()
            .parse()
            .ok()?;
        alive(pid).then_some(pid)
    }

    /// Starts `carechain <kind> start --config <file>` detached, logging to the node's log file.
    pub fn spawn(&self, kind: &str, node: &str) -> anyhow::Result<u32> {
        use std::os::unix::process::CommandExt;
        let exe = std::env::current_exe().context("locating the carechain binary")?;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log(node))
            .with_context(|| format!("opening {}", self.log(node).display()))?;
        let child = Command::new(exe)
            .args([kind, "start", "--config"])
            .arg(self.node_config(node))
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone()?))
            .stderr(Stdio::from(log))
            // Its own process group: Ctrl-C in the terminal that ran `network up` must not stop it.
            .process_group(0)
            .spawn()
            .with_context(|| format!("starting {node}"))?;
        let pid = child.id();
        std::fs::write(self.pid_file(node), pid.to_string())?;
        Ok(pid)
    }

    /// Stops a node: SIGTERM, then SIGKILL after `grace`. Returns whether a process was stopped.
    pub fn stop(&self, node: &str, grace: Duration) -> anyhow::Result<bool> {
        let Some(pid) = self.running_pid(node) else {
            let _ = std::fs::remove_file(self.pid_file(node));
            return Ok(false);
        };
        signal(pid, "TERM")?;
        let deadline = Instant::now() + grace;
        while alive(pid) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        if alive(pid) {
            signal(pid, "KILL")?;
            let deadline = Instant::now() + Duration::from_secs(5);
            while alive(pid) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        if alive(pid) {
            bail!("{node} (pid {pid}) did not stop");
        }
        let _ = std::fs::remove_file(self.pid_file(node));
        Ok(true)
    }
}

/// Whether a process exists and is not a zombie.
pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the parenthesised command name: "Z" is a zombie (exited, not reaped).
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

fn signal(pid: u32, sig: &str) -> anyhow::Result<()> {
    let status = Command::new("kill")
        .args([&format!("-{sig}"), &pid.to_string()])
        .stderr(Stdio::null())
        .status()
        .context("running kill")?;
    if !status.success() && alive(pid) {
        bail!("kill -{sig} {pid} failed");
    }
    Ok(())
}

/// Waits until `addr` accepts TCP connections.
pub fn wait_port(addr: &str, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(addr).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// Whether `path` exists.
pub fn exists(path: &Path) -> bool {
    path.exists()
}
