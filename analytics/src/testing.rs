//! Test support: a throwaway PostgreSQL server from the Debian package (`postgresql`, installed by
//! `scripts/setup.sh`), so the PostgreSQL backend is tested against a real server. The server lives in a
//! temporary directory, listens on 127.0.0.1 on a free port, trusts local connections and is stopped when
//! dropped. As root it runs as the `postgres` system user (the server refuses to run as root).
//!
//! When the server binaries are missing, [`TestPostgres::start`] fails with a message saying what to
//! install: the PostgreSQL tests fail rather than silently pass.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A running throwaway server.
pub struct TestPostgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    run_as: Option<String>,
    /// Port on 127.0.0.1.
    pub port: u16,
}

/// Why the server could not be started.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct PgStartError(pub String);

fn fail(msg: impl Into<String>) -> PgStartError {
    PgStartError(msg.into())
}

/// The newest `/usr/lib/postgresql/<version>/bin` holding `initdb` and `pg_ctl`, or the directory named by
/// `CARECHAIN_PG_BIN`.
pub fn server_bin_dir() -> Result<PathBuf, PgStartError> {
    let missing = || {
        fail(
            "PostgreSQL server binaries not found (initdb and pg_ctl under /usr/lib/postgresql/<version>/bin): \
             install the Debian package `postgresql` (./scripts/setup.sh does), or set CARECHAIN_PG_BIN",
        )
    };
    let has_tools = |bin: &Path| bin.join("initdb").exists() && bin.join("pg_ctl").exists();
    if let Some(dir) = std::env::var_os("CARECHAIN_PG_BIN") {
        let dir = PathBuf::from(dir);
        return if has_tools(&dir) { Ok(dir) } else { Err(missing()) };
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .map_err(|_| missing())?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            has_tools(&bin).then_some((v, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, b)| b).ok_or_else(missing)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// uid and gid of a system user, from /etc/passwd.
fn user_ids(name: &str) -> Option<(u32, u32)> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.first() == Some(&name)).then(|| Some((f.get(2)?.parse().ok()?, f.get(3)?.parse().ok()?)))?
    })
}

impl TestPostgres {
    /// initdb + pg_ctl start on a free port.
    pub fn start() -> Result<TestPostgres, PgStartError> {
        let bin = server_bin_dir()?;
        let dir = tempfile::Builder::new()
            .prefix("carechain-pg-")
            .tempdir()
            .map_err(|e| fail(format!("temp dir: {e}")))?;
        let run_as = if is_root() {
            let (uid, gid) = user_ids("postgres").ok_or_else(|| {
                fail("running as root and there is no `postgres` system user to run the server")
            })?;
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid))
                .map_err(|e| fail(format!("chown {}: {e}", dir.path().display())))?;
            Some("postgres".to_string())
        } else {
            None
        };
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| fail(format!("free port: {e}")))?
            .port();
        let pg = TestPostgres {
            dir,
            bin,
            run_as,
            port,
        };
        let data = pg.dir.path().join("data");
        pg.run(
            "initdb",
            &[
                "-D",
                &data.display().to_string(),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
                "-E",
                "UTF8",
            ],
        )?;
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            pg.dir.path().display()
        );
        let log = pg.dir.path().join("server.log");
        pg.run(
            "pg_ctl",
            &[
                "-D",
                &data.display().to_string(),
                "-o",
                &options,
                "-l",
                &log.display().to_string(),
                "-w",
                "-t",
                "60",
                "start",
            ],
        )?;
        Ok(pg)
    }

    fn run(&self, tool: &str, args: &[&str]) -> Result<Output, PgStartError> {
        let exe = self.bin.join(tool);
        let mut cmd = match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(&exe);
                c
            }
            None => Command::new(&exe),
        };
        let out = cmd
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .map_err(|e| fail(format!("running {}: {e}", exe.display())))?;
        if !out.status.success() {
            return Err(fail(format!(
                "{tool} failed: {}{}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr),
                std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
            )));
        }
        Ok(out)
    }

    /// Creates database `name` and returns its connection URL.
    pub fn database(&self, name: &str) -> Result<String, PgStartError> {
        let admin = format!("postgres://postgres@127.0.0.1:{}/postgres", self.port);
        let mut client = postgres::Client::connect(&admin, postgres::NoTls)
            .map_err(|e| fail(format!("connecting to the test server: {e}")))?;
        client
            .batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .map_err(|e| fail(format!("CREATE DATABASE {name}: {e}")))?;
        Ok(format!("postgres://postgres@127.0.0.1:{}/{name}", self.port))
    }

    /// The server's data directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for TestPostgres {
    fn drop(&mut self) {
        let data = self.dir.path().join("data").display().to_string();
        let _ = self.run("pg_ctl", &["-D", &data, "-m", "immediate", "-w", "stop"]);
    }
}
