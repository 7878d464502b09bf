//! The operations endpoint every carechain node serves next to its gRPC port: `/healthz` (JSON, 503 when
//! a component is unhealthy), `/metrics` (Prometheus text format) and `/logspec` (GET the log filter, PUT
//! a new one at runtime). It watches the pipeline from the side: nodes register metrics and health checks
//! here; nothing in endorse → order → validate depends on it.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use parking_lot::Mutex;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// A component's health: `Ok` or a reason.
pub type HealthCheck = Arc<dyn Fn() -> Vec<(String, Result<(), String>)> + Send + Sync>;

/// Log filter control: get the current filter, set a new one (returns the previous).
pub trait LogSpec: Send + Sync {
    /// The filter in force.
    fn get(&self) -> String;
    /// Installs a filter, returning the previous one.
    fn set(&self, filter: &str) -> Result<String, String>;
}

/// What the endpoint serves.
#[derive(Clone)]
pub struct Ops {
    registry: Arc<Mutex<Registry>>,
    health: HealthCheck,
    refresh: Arc<dyn Fn() + Send + Sync>,
    log: Option<Arc<dyn LogSpec>>,
}

impl Ops {
    /// An endpoint over `registry`; `health` is asked on every `/healthz`; `refresh` runs before every
    /// scrape (to update gauges read from the node, like heights).
    pub fn new(
        registry: Registry,
        health: HealthCheck,
        refresh: Arc<dyn Fn() + Send + Sync>,
        log: Option<Arc<dyn LogSpec>>,
    ) -> Ops {
        Ops {
            registry: Arc::new(Mutex::new(registry)),
            health,
            refresh,
            log,
        }
    }

    /// Binds `addr` and serves until the process ends; returns the bound address.
    pub async fn serve(self, addr: SocketAddr) -> std::io::Result<SocketAddr> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let bound = listener.local_addr()?;
        let app = Router::new()
            .route("/healthz", get(healthz))
            .route("/metrics", get(metrics))
            .route("/logspec", get(get_logspec).put(put_logspec))
            .with_state(self);
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "operations endpoint stopped");
            }
        });
        Ok(bound)
    }

    /// Renders the metrics (for tests and the endpoint).
    pub fn render(&self) -> String {
        (self.refresh)();
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry.lock()).is_err() {
            out.clear();
        }
        out
    }
}

async fn healthz(State(ops): State<Ops>) -> Response {
    let checks = (ops.health)();
    let failed: Vec<serde_json::Value> = checks
        .iter()
        .filter_map(|(c, r)| {
            r.as_ref()
                .err()
                .map(|e| serde_json::json!({"component": c, "reason": e}))
        })
        .collect();
    let body = serde_json::json!({
        "status": if failed.is_empty() { "OK" } else { "Service Unavailable" },
        "failed_checks": failed,
        "components": checks.iter().map(|(c, _)| c.clone()).collect::<Vec<_>>(),
    });
    let code = if failed.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, [("content-type", "application/json")], body.to_string()).into_response()
}

async fn metrics(State(ops): State<Ops>) -> Response {
    let text = ops.render();
    (
        StatusCode::OK,
        [(
            "content-type",
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

async fn get_logspec(State(ops): State<Ops>) -> Response {
    match &ops.log {
        Some(l) => (StatusCode::OK, serde_json::json!({"spec": l.get()}).to_string()).into_response(),
        None => (StatusCode::NOT_IMPLEMENTED, "no adjustable logger").into_response(),
    }
}

async fn put_logspec(State(ops): State<Ops>, body: String) -> Response {
    let Some(l) = &ops.log else {
        return (StatusCode::NOT_IMPLEMENTED, "no adjustable logger").into_response();
    };
    // Accept Fabric's `{"spec": "..."}` body or a bare filter.
    let spec = serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v.get("spec").and_then(|s| s.as_str()).map(str::to_string))
        .unwrap_or_else(|| body.trim().to_string());
    match l.set(&spec) {
        Ok(prev) => (
            StatusCode::OK,
            serde_json::json!({"spec": spec, "previous": prev}).to_string(),
        )
            .into_response(),
        Err(e) => (
            StatusCode::BAD_REQUEST,
            serde_json::json!({"error": e}).to_string(),
        )
            .into_response(),
    }
}

/// Labels naming one of a node's certificates.
pub type CertLabels = Vec<(String, String)>;

/// Registers `carechain_certificate_expiry_seconds{cert=...}` with the not-after time (Unix seconds) of each
/// PEM certificate: alert on it before an expired certificate stops the node (the most common cause of
/// Fabric outages).
pub fn register_cert_expiry(registry: &mut Registry, certs: &[(&str, &[u8])]) {
    let family = Family::<CertLabels, Gauge>::default();
    for (name, pem) in certs {
        if let Some(t) = not_after(pem) {
            family
                .get_or_create(&vec![("cert".to_string(), name.to_string())])
                .set(t);
        }
    }
    registry.register(
        "carechain_certificate_expiry_seconds",
        "Not-after time of the node's own certificates, as Unix seconds",
        family,
    );
}

fn not_after(pem: &[u8]) -> Option<i64> {
    let (_, p) = x509_parser::pem::parse_x509_pem(pem).ok()?;
    let c = p.parse_x509().ok()?;
    Some(c.validity().not_after.timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn serves_health_metrics_and_logspec() {
        struct L(Mutex<String>);
        impl LogSpec for L {
            fn get(&self) -> String {
                self.0.lock().clone()
            }
            fn set(&self, f: &str) -> Result<String, String> {
                Ok(std::mem::replace(&mut self.0.lock(), f.to_string()))
            }
        }
        let mut reg = Registry::default();
        let g = Gauge::<i64>::default();
        reg.register("carechain_test_height", "test", g.clone());
        let g2 = g.clone();
        let healthy = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let h = healthy.clone();
        let ops = Ops::new(
            reg,
            Arc::new(move || {
                vec![(
                    "ledger".into(),
                    if h.load(std::sync::atomic::Ordering::SeqCst) {
                        Ok(())
                    } else {
                        Err("down".into())
                    },
                )]
            }),
            Arc::new(move || {
                g2.set(42);
            }),
            Some(Arc::new(L(Mutex::new("info".into())))),
        );
        assert!(ops.render().contains("carechain_test_height 42"));
        let addr = ops.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let get = move |path: &str| {
            let mut s = std::net::TcpStream::connect(addr).unwrap();
            use std::io::{Read, Write};
            write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
            let mut out = String::new();
            s.read_to_string(&mut out).unwrap();
            out
        };
        let r = tokio::task::spawn_blocking(move || (get("/healthz"), get("/metrics"), get("/logspec")))
            .await
            .unwrap();
        assert!(
            r.0.starts_with("HTTP/1.1 200") && r.0.contains("\"OK\""),
            "{}",
            r.0
        );
        assert!(r.1.contains("carechain_test_height 42"));
        assert!(r.2.contains("\"info\""));
        healthy.store(false, std::sync::atomic::Ordering::SeqCst);
        let r = tokio::task::spawn_blocking(move || get("/healthz"))
            .await
            .unwrap();
        assert!(r.starts_with("HTTP/1.1 503") && r.contains("down"), "{r}");
    }
}
