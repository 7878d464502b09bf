//! `carechain analytics sync`: the thin async shell that follows a channel's committed blocks and feeds
//! them to the store.
//!
//! ```text
//! peer Deliver ──blocks──▶ [async loop] ──Cmd::Blocks──▶ [writer thread: effects → Store::apply] ──▶ SQL
//!        ▲                     │  every second: peer height ──▶ lag gauge, Cmd::Height
//!        └──── reconnect from the next block not yet sent, after an error
//! ```
//!
//! The writer thread owns the store (both backends are synchronous) and batches whatever blocks are queued
//! into one transaction, so catching up costs one commit per batch, not per block. Exactly-once holds
//! whatever happens to this process: the store skips blocks it already has and refuses gaps (see
//! [`crate::store`]). Progress goes to a bar while catching up (hidden when stderr is not a terminal) and
//! to Prometheus gauges on the optional operations address.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use carechain_proto::common::Block;
use carechain_proto::protos::deliver_response::Type as DeliverType;
use tokio::sync::{mpsc, watch};

use crate::deliver::{DeliverError, PeerReader, number};
use crate::events::effects;
use crate::link::LinkKey;
use crate::metrics::SyncMetrics;
use crate::safeharbor::RestrictedZip3;
use crate::store::{Access, Location, Store, StoreError};

/// What to follow and where to write.
pub struct SyncParams {
    /// The peer and the reading identity.
    pub peer: PeerReader,
    /// Chaincode whose events are kept.
    pub chaincode: String,
    /// The store.
    pub location: Location,
    /// The linking key file (created with the store).
    pub key_file: PathBuf,
    /// A restricted-ZIP3 table to install (replacing the store's).
    pub restricted: Option<RestrictedZip3>,
    /// Keep following new blocks (else stop once caught up with the height seen at start).
    pub follow: bool,
    /// Serve `/metrics` and `/healthz` here.
    pub metrics: Option<SocketAddr>,
    /// Draw a progress bar while catching up.
    pub progress: bool,
    /// Crash tests only: hold each store transaction open this long before it commits.
    pub commit_delay: Option<Duration>,
}

/// Where the store ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Progress {
    /// Next block the store needs.
    pub next_block: u64,
    /// Rows added by this run.
    pub entries: u64,
    /// Rows removed by revocations in this run.
    pub removed: u64,
    /// Events skipped by this run (not Safe Harbor-clean enough to keep).
    pub skipped: u64,
}

/// Why the sync stopped.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The peer failed and did not come back.
    #[error(transparent)]
    Deliver(#[from] DeliverError),
    /// A block could not be decoded.
    #[error(transparent)]
    Block(#[from] crate::events::BlockDecodeError),
    /// The metrics address could not be bound.
    #[error("operations address {0}: {1}")]
    Metrics(SocketAddr, std::io::Error),
    /// The writer thread died.
    #[error("the store writer stopped: {0}")]
    Writer(String),
}

enum Cmd {
    Blocks(Vec<Block>),
    Height(u64),
}

/// Largest run of blocks applied in one transaction.
const MAX_BATCH: usize = 512;

/// Runs until `shutdown` resolves (follow mode) or the store has caught up (otherwise).
pub async fn run(p: SyncParams, shutdown: impl Future<Output = ()>) -> Result<Progress, SyncError> {
    let metrics = SyncMetrics::new();
    if let Some(addr) = p.metrics {
        metrics
            .serve(addr)
            .await
            .map_err(|e| SyncError::Metrics(addr, e))?;
    }
    let (tx, rx) = mpsc::channel::<Cmd>(4 * MAX_BATCH);
    let (start_tx, start_rx) = tokio::sync::oneshot::channel();
    let (progress_tx, mut progress_rx) = watch::channel(Progress::default());
    let writer = Writer {
        location: p.location.clone(),
        key_file: p.key_file.clone(),
        channel: p.peer.channel.clone(),
        chaincode: p.chaincode.clone(),
        restricted: p.restricted.clone(),
        commit_delay: p.commit_delay,
    };
    let handle = std::thread::spawn(move || writer.run(rx, start_tx, progress_tx));
    let next = match start_rx.await {
        Ok(Ok(next)) => next,
        Ok(Err(e)) => return Err(e),
        Err(_) => return Err(writer_died(handle)),
    };
    let height = p.peer.height().await?;
    metrics.observe(next, height);
    tracing::info!(store = %p.location, next, height, "analytics sync starting");
    let bar = crate::metrics::progress_bar(p.progress && height > next, next, height);
    let follow = Follow {
        peer: &p.peer,
        follow: p.follow,
        tx,
        metrics: &metrics,
        bar: &bar,
    };
    let outcome = tokio::select! {
        r = follow.run(next, height, &mut progress_rx) => r,
        () = shutdown => Ok(()),
    };
    // Dropping the sender (with `follow`) lets the writer apply what is queued, then stop.
    let last = tokio::task::spawn_blocking(move || handle.join())
        .await
        .map_err(|_| SyncError::Writer("join failed".into()))?
        .map_err(|_| SyncError::Writer("panicked".into()))?;
    bar.finish_and_clear();
    // The writer's own error (a gap, a fork, the database) explains a failed send better than the send.
    let progress = last?;
    outcome?;
    Ok(progress)
}

fn writer_died(handle: std::thread::JoinHandle<Result<Progress, SyncError>>) -> SyncError {
    match handle.join() {
        Ok(Err(e)) => e,
        Ok(Ok(_)) => SyncError::Writer("stopped early".into()),
        Err(_) => SyncError::Writer("panicked".into()),
    }
}

/// The async half: the block stream, the height poll, reconnects.
struct Follow<'a> {
    peer: &'a PeerReader,
    follow: bool,
    tx: mpsc::Sender<Cmd>,
    metrics: &'a SyncMetrics,
    bar: &'a indicatif::ProgressBar,
}

/// Where the follower is.
struct Cursor {
    /// Next block to ask the peer for.
    sent: u64,
    /// Next block the store needs.
    next: u64,
    /// Peer height last seen.
    height: u64,
    /// Consecutive stream failures.
    failures: u32,
}

impl Follow<'_> {
    async fn run(
        self,
        next: u64,
        height: u64,
        progress: &mut watch::Receiver<Progress>,
    ) -> Result<(), SyncError> {
        let target = height;
        let mut c = Cursor {
            sent: next,
            next,
            height,
            failures: 0,
        };
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            if !self.follow && c.sent >= target {
                return self.wait_applied(target, progress).await;
            }
            let stop = (!self.follow).then(|| target - 1);
            match self.peer.blocks(c.sent, stop).await {
                Ok(stream) => self.stream(stream, &mut c, &mut tick, progress).await?,
                Err(e) => c.failures = self.backoff(c.failures, e).await?,
            }
        }
    }

    /// Forwards one block stream to the writer until it ends or fails, polling the height meanwhile.
    async fn stream(
        &self,
        mut stream: tonic::Streaming<carechain_proto::protos::DeliverResponse>,
        c: &mut Cursor,
        tick: &mut tokio::time::Interval,
        progress: &mut watch::Receiver<Progress>,
    ) -> Result<(), SyncError> {
        loop {
            tokio::select! {
                msg = stream.message() => match msg.map(|m| m.and_then(|m| m.r#type)) {
                    Ok(Some(DeliverType::Block(b))) => {
                        c.failures = 0;
                        c.sent = number(&b) + 1;
                        c.height = c.height.max(c.sent);
                        self.send(Cmd::Blocks(vec![b])).await?;
                    }
                    Ok(Some(DeliverType::Status(200))) if !self.follow => return Ok(()),
                    Ok(Some(DeliverType::Status(s))) => {
                        c.failures = self.backoff(c.failures, DeliverError::Refused(s)).await?;
                        return Ok(());
                    }
                    Ok(Some(_)) => {}
                    Ok(None) => return Ok(()),
                    Err(e) => {
                        c.failures = self.backoff(c.failures, e.into()).await?;
                        return Ok(());
                    }
                },
                _ = tick.tick() => {
                    if let Ok(h) = self.peer.height().await {
                        c.height = h;
                        self.send(Cmd::Height(h)).await?;
                    }
                    self.metrics.observe(c.next, c.height);
                }
                Ok(()) = progress.changed() => {
                    c.next = progress.borrow().next_block;
                    self.on_progress(&progress.borrow(), c.height);
                }
            }
        }
    }

    fn on_progress(&self, p: &Progress, height: u64) {
        self.metrics.observe(p.next_block, height);
        self.metrics.applied(p);
        self.bar.set_position(p.next_block);
        if p.next_block >= height && !self.bar.is_finished() {
            self.bar.finish_and_clear();
            tracing::info!(next = p.next_block, "analytics store caught up");
        }
    }

    async fn send(&self, cmd: Cmd) -> Result<(), SyncError> {
        self.tx
            .send(cmd)
            .await
            .map_err(|_| SyncError::Writer("the writer stopped (see its error)".into()))
    }

    /// Waits for the writer to apply up to `target` (exclusive).
    async fn wait_applied(
        &self,
        target: u64,
        progress: &mut watch::Receiver<Progress>,
    ) -> Result<(), SyncError> {
        loop {
            let next = progress.borrow().next_block;
            self.bar.set_position(next);
            self.metrics.applied(&progress.borrow());
            if next >= target {
                return Ok(());
            }
            if progress.changed().await.is_err() {
                return Err(SyncError::Writer("stopped before catching up".into()));
            }
        }
    }

    /// Waits before reconnecting. A follower retries for as long as it runs; `--once` gives up after
    /// about a minute of consecutive failures.
    async fn backoff(&self, failures: u32, e: DeliverError) -> Result<u32, SyncError> {
        if !self.follow && failures >= 30 {
            return Err(e.into());
        }
        tracing::warn!(error = %e, "block stream interrupted; reconnecting");
        tokio::time::sleep(Duration::from_millis(200 * u64::from(failures.min(10) + 1))).await;
        Ok(failures + 1)
    }
}

/// The synchronous half: owns the store.
struct Writer {
    location: Location,
    key_file: PathBuf,
    channel: String,
    chaincode: String,
    restricted: Option<RestrictedZip3>,
    commit_delay: Option<Duration>,
}

impl Writer {
    fn run(
        self,
        mut rx: mpsc::Receiver<Cmd>,
        start: tokio::sync::oneshot::Sender<Result<u64, SyncError>>,
        progress: watch::Sender<Progress>,
    ) -> Result<Progress, SyncError> {
        let opened = self.open();
        let (mut store, key, table, next) = match opened {
            Ok(x) => x,
            Err(e) => {
                let _ = start.send(Err(e));
                return Err(SyncError::Writer("could not open the store".into()));
            }
        };
        let _ = start.send(Ok(next));
        let mut state = Progress {
            next_block: next,
            ..Progress::default()
        };
        progress.send_replace(state);
        let mut last_height = None;
        while let Some(cmd) = rx.blocking_recv() {
            let mut blocks = Vec::new();
            let mut height = None;
            let mut next = Some(cmd);
            while let Some(c) = next.take() {
                match c {
                    Cmd::Blocks(b) => blocks.extend(b),
                    Cmd::Height(h) => height = Some(h),
                }
                if blocks.len() < MAX_BATCH {
                    next = rx.try_recv().ok();
                }
            }
            if !blocks.is_empty() {
                self.apply(&mut store, &key, &table, &blocks, &mut state)?;
                progress.send_replace(state);
            }
            if let Some(h) = height.filter(|h| Some(*h) != last_height) {
                store.observe_height(h)?;
                last_height = Some(h);
            }
        }
        Ok(state)
    }

    fn open(&self) -> Result<(Store, LinkKey, RestrictedZip3, u64), SyncError> {
        let mut store = Store::open(&self.location, Access::Write)?;
        let fresh = matches!(store.checkpoint(), Err(StoreError::Missing(_)));
        let key = LinkKey::load_or_create(&self.key_file, fresh).map_err(StoreError::from)?;
        let cp = store.init(&self.channel, &self.chaincode, &key)?;
        if let Some(t) = &self.restricted {
            let changed = store.set_restricted_zip3(t)?;
            tracing::info!(changed, "restricted ZIP3 table installed");
        }
        let table = store.restricted_zip3()?;
        store.set_commit_delay(self.commit_delay);
        Ok((store, key, table, cp.next_block()))
    }

    fn apply(
        &self,
        store: &mut Store,
        key: &LinkKey,
        table: &RestrictedZip3,
        blocks: &[Block],
        state: &mut Progress,
    ) -> Result<(), SyncError> {
        let mut fx = Vec::with_capacity(blocks.len());
        for b in blocks {
            let e = effects(b, &self.chaincode, table)?;
            for s in &e.skipped {
                tracing::warn!(block = e.number, tx = s.tx, reason = %s.reason, "de-identified entry skipped");
            }
            if !e.dropped_fields.is_empty() {
                tracing::warn!(block = e.number, fields = ?e.dropped_fields, "fields dropped from de-identified entries");
            }
            state.skipped += e.skipped.len() as u64;
            fx.push(e);
        }
        let (first, last) = (fx.first().map(|f| f.number), fx.last().map(|f| f.number));
        tracing::debug!(?first, ?last, "applying blocks");
        let applied = store.apply(&fx, key)?;
        state.entries += applied.entries as u64;
        state.removed += applied.removed as u64;
        if let Some(last) = last {
            state.next_block = state.next_block.max(last + 1);
        }
        tracing::debug!(
            next = state.next_block,
            blocks = applied.blocks,
            entries = applied.entries,
            removed = applied.removed,
            "committed blocks"
        );
        Ok(())
    }
}

/// The linking key file next to an SQLite store, or under `home` for PostgreSQL.
pub fn default_key_file(location: &Location, home: &std::path::Path, channel: &str) -> PathBuf {
    match location {
        Location::Sqlite(path) => {
            let mut p = path.clone().into_os_string();
            p.push(".key");
            PathBuf::from(p)
        }
        Location::Postgres(_) => home.join("analytics").join(format!("{channel}.key")),
    }
}
