//! `network down` (stop every process this home started; `--clean` also deletes the home) and
//! `network status` (each node's process, health endpoint and height per channel).

use std::io::{Read, Write};
use std::time::Duration;

use super::home::Home;
use super::spec::{Kind, Topology};
use super::up::admin;

/// Stops every node of the topology (and any other node with a pid file in this home).
pub fn down(t: &Topology, home: &Home, clean: bool) -> anyhow::Result<()> {
    let mut names: Vec<String> = t.nodes.iter().map(|n| n.name.clone()).collect();
    if let Ok(entries) = std::fs::read_dir(home.root.join("pids")) {
        for e in entries.flatten() {
            if let Some(stem) = e.path().file_stem().and_then(|s| s.to_str())
                && !names.iter().any(|n| n == stem)
            {
                names.push(stem.to_string());
            }
        }
    }
    // Peers first: they are clients of the orderers.
    names.sort_by_key(|n| {
        t.nodes
            .iter()
            .find(|x| &x.name == n)
            .map_or(0, |x| matches!(x.kind, Kind::Orderer) as u8)
    });
    for n in &names {
        if home.stop(n, Duration::from_secs(10))? {
            println!("stopped {n}");
        }
    }
    if clean && home.root.exists() {
        std::fs::remove_dir_all(&home.root)?;
        println!("removed {}", home.root.display());
    }
    Ok(())
}

fn http_get(addr: &str, path: &str) -> Option<(u16, String)> {
    let mut s = std::net::TcpStream::connect_timeout(&addr.parse().ok()?, Duration::from_secs(2)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    let code = out.split_whitespace().nth(1)?.parse().ok()?;
    let body = out.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
    Some((code, body))
}

/// Prints each node's state.
pub async fn status(t: &Topology, home: &Home) -> anyhow::Result<bool> {
    let mut all_ok = true;
    println!(
        "{:<44} {:<8} {:<10} {:<8} heights",
        "node", "kind", "process", "health"
    );
    for n in &t.nodes {
        let process = match home.running_pid(&n.name) {
            Some(pid) => format!("pid {pid}"),
            None => "stopped".to_string(),
        };
        let ops = format!("{}:{}", t.spec.host, n.operations_port);
        let health = match http_get(&ops, "/healthz") {
            Some((200, _)) => "OK".to_string(),
            Some((code, _)) => format!("{code}"),
            None => "-".to_string(),
        };
        let mut heights = Vec::new();
        if let Ok(mut a) = admin(t, home, n).await
            && let Ok(chs) = a.list().await
        {
            for ch in chs {
                if let Ok(i) = a.info(&ch).await {
                    heights.push(format!("{ch}={} ({})", i.info.map_or(0, |x| x.height), i.role));
                }
            }
        }
        all_ok &= health == "OK";
        println!(
            "{:<44} {:<8} {:<10} {:<8} {}",
            n.name,
            n.kind.as_str(),
            process,
            health,
            heights.join(" ")
        );
    }
    Ok(all_ok)
}
