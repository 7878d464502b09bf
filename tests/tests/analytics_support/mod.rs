//! The analytics side of the tests: the real `carechain analytics ...` binary run as a separate process
//! (the sync in the background, killable with SIGKILL; the analyst commands as one-shot processes), and a
//! read-only look at the store through the data-access layer.

#![allow(dead_code)]

pub mod records;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use carechain_analytics::store::{Access, Checkpoint, Location, Stats, Store};
use carechain_analytics::testing::TestPostgres;
use carechain_tests::TestNet;

use records::{A, INSURER, RESEARCH};

/// Which backend a scenario runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The embedded file.
    Sqlite,
    /// A throwaway PostgreSQL server.
    Postgres,
}

/// The store and the sync process of one scenario.
pub struct Analytics {
    /// `CARECHAIN_HOME` of the CLI processes (access log, default key file).
    pub home: tempfile::TempDir,
    /// `--store` argument.
    pub store: String,
    /// The sync's operations endpoint.
    pub metrics: SocketAddr,
    sync: Option<Child>,
    starts: usize,
    _pg: Option<TestPostgres>,
}

fn free_addr() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
}

/// Who runs a command: (org index, user name).
pub type As = (usize, &'static str);
/// The analyst of the Research org.
pub const ANALYST: As = (RESEARCH, "analyst1");
/// A doctor of hospital A.
pub const DOCTOR: As = (A, "drsmith");
/// An insurer's claims user.
pub const INSURER_USER: As = (INSURER, "claims");

impl Analytics {
    /// A fresh store on `backend` (for PostgreSQL, a server started for this test).
    pub fn new(backend: Backend) -> Analytics {
        let home = tempfile::tempdir().unwrap();
        let (store, pg) = match backend {
            Backend::Sqlite => (
                format!("sqlite:{}", home.path().join("care.sqlite").display()),
                None,
            ),
            Backend::Postgres => {
                let pg = TestPostgres::start().unwrap_or_else(|e| panic!("{e}"));
                // The postgres client is synchronous (it runs its own runtime): keep it off the test's.
                let url = tokio::task::block_in_place(|| pg.database("care")).unwrap();
                (url, Some(pg))
            }
        };
        Analytics {
            home,
            store,
            metrics: free_addr(),
            sync: None,
            starts: 0,
            _pg: pg,
        }
    }

    fn command(&self, net: &TestNet, who: As, sub: &str) -> Command {
        let mut c = Command::new(carechain_tests::net::binary().unwrap());
        c.args(["analytics", sub, "--channel", "care", "--store", &self.store])
            .env("CARECHAIN_HOME", self.home.path())
            .env_remove("CARECHAIN_ANALYTICS_STORE");
        if sub != "status" {
            c.arg("--msp-dir")
                .arg(net.user_msp(who.0, who.1))
                .args(["--msp-id", &format!("{}MSP", net.spec.orgs[who.0])]);
        }
        c
    }

    /// Starts `carechain analytics sync` following Research's peer as the analyst, in the background.
    pub fn start_sync(&mut self, net: &TestNet) {
        self.start_sync_with(net, &[]);
    }

    /// [`Analytics::start_sync`] with extra flags.
    pub fn start_sync_with(&mut self, net: &TestNet, extra: &[&str]) {
        let peer = &net.peers[RESEARCH];
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.sync_log())
            .unwrap();
        let child = self
            .command(net, ANALYST, "sync")
            .args([
                "--address",
                &peer.address.to_string(),
                "--server-name",
                "127.0.0.1",
            ])
            .arg("--tls-ca")
            .arg(&peer.tls_ca)
            .args(["--metrics", &self.metrics.to_string()])
            .args(extra)
            .env("CARECHAIN_LOG", "info,carechain_analytics=debug")
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap();
        self.sync = Some(child);
        self.starts += 1;
    }

    /// SIGKILL, as a crash would.
    pub fn kill_sync(&mut self) {
        if let Some(mut c) = self.sync.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Whether the sync process is still running.
    pub fn sync_running(&mut self) -> bool {
        matches!(self.sync.as_mut().map(|c| c.try_wait()), Some(Ok(None)))
    }

    /// The sync's log (all runs).
    pub fn sync_log(&self) -> PathBuf {
        self.home.path().join("sync.log")
    }

    /// The log text, for failure messages.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(self.sync_log()).unwrap_or_default()
    }

    /// Runs `carechain analytics <sub> <args>` as `who`.
    pub fn run(&self, net: &TestNet, who: As, sub: &str, args: &[&str]) -> Output {
        self.command(net, who, sub).args(args).output().unwrap()
    }

    /// Runs a query as the analyst (JSON lines), which must succeed.
    pub fn query(&self, net: &TestNet, sql: &str) -> Vec<serde_json::Value> {
        let out = self.run(net, ANALYST, "query", &["--format", "json", sql]);
        assert!(
            out.status.success(),
            "query {sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    fn location(&self) -> Location {
        self.store.parse().unwrap()
    }

    /// The store's checkpoint and size, read directly (None before the sync created it).
    pub fn peek(&self) -> Option<(Checkpoint, Stats)> {
        tokio::task::block_in_place(|| {
            let mut s = Store::open(&self.location(), Access::Read).ok()?;
            Some((s.checkpoint().ok()?, s.stats().ok()?))
        })
    }

    /// Waits until the store has applied every block peer `RESEARCH` has.
    pub async fn wait_caught_up(&mut self, net: &TestNet) -> (Checkpoint, Stats) {
        let deadline = Instant::now() + records::WAIT;
        loop {
            let height = net.height(RESEARCH).await.unwrap();
            if let Some((cp, stats)) = self.peek()
                && cp.next_block() >= height
            {
                return (cp, stats);
            }
            assert!(self.sync_running(), "the sync exited:\n{}", self.log_text());
            assert!(
                Instant::now() < deadline,
                "the store did not catch up with height {height}: {:?}\n{}",
                self.peek(),
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Polls until the store holds `entries` rows; returns how long it took.
    pub async fn wait_entries(&mut self, entries: u64) -> Duration {
        let start = Instant::now();
        loop {
            if self.peek().is_some_and(|(_, s)| s.entries == entries) {
                return start.elapsed();
            }
            assert!(self.sync_running(), "the sync exited:\n{}", self.log_text());
            assert!(
                start.elapsed() < records::WAIT,
                "the store never reached {entries} rows: {:?}\n{}",
                self.peek(),
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// GET `path` on the sync's operations endpoint.
    pub fn http_get(&self, path: &str) -> String {
        let mut s = TcpStream::connect(self.metrics).unwrap();
        write!(s, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    }
}

impl Drop for Analytics {
    fn drop(&mut self) {
        self.kill_sync();
    }
}
