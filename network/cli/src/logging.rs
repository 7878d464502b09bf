//! Log setup shared by every subcommand: `tracing` to stderr, filtered by `CARECHAIN_LOG` (or
//! `RUST_LOG`), text by default or JSON with `CARECHAIN_LOG_FORMAT=json`. The filter handle is kept so
//! nodes can change the level at runtime through their admin service.

use std::sync::OnceLock;

use tracing_subscriber::{EnvFilter, Registry, layer::SubscriberExt, reload, util::SubscriberInitExt};

static HANDLE: OnceLock<reload::Handle<EnvFilter, Registry>> = OnceLock::new();

/// Installs the global subscriber (idempotent). `default` applies when neither `CARECHAIN_LOG` nor
/// `RUST_LOG` is set: nodes log at `info`, one-shot commands only warnings (their output is the result).
pub fn init(default: &str) {
    let spec = std::env::var("CARECHAIN_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| default.to_string());
    let filter = EnvFilter::try_new(&spec).unwrap_or_else(|_| EnvFilter::new("info"));
    let (filter, handle) = reload::Layer::new(filter);
    let json = std::env::var("CARECHAIN_LOG_FORMAT").is_ok_and(|f| f == "json");
    let registry = tracing_subscriber::registry().with(filter);
    let ok = if json {
        registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_writer(std::io::stderr),
            )
            .try_init()
            .is_ok()
    } else {
        registry
            .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr))
            .try_init()
            .is_ok()
    };
    if ok {
        let _ = HANDLE.set(handle);
    }
}

/// Replaces the log filter; returns the previous one.
pub fn set_filter(spec: &str) -> Result<String, String> {
    let handle = HANDLE.get().ok_or("logging is not initialised")?;
    let new = EnvFilter::try_new(spec).map_err(|e| format!("invalid log filter {spec:?}: {e}"))?;
    let mut previous = String::new();
    handle
        .modify(|f| {
            previous = f.to_string();
            *f = new;
        })
        .map_err(|e| e.to_string())?;
    Ok(previous)
}

/// The log filter in force.
pub fn get_filter() -> String {
    HANDLE
        .get()
        .and_then(|h| h.with_current(|f| f.to_string()).ok())
        .unwrap_or_default()
}

/// The process's log control, for the nodes' admin service and operations endpoint.
pub struct Logs;

impl carechain_ops::LogSpec for Logs {
    fn get(&self) -> String {
        get_filter()
    }
    fn set(&self, filter: &str) -> Result<String, String> {
        set_filter(filter)
    }
}
