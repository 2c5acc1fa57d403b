//! Per-engine setup, shared by both measurement orders: builds or reuses each engine's copy of
//! the data, starts it and records the ingest steps, or notes why the engine is skipped.

use std::io::Write;

use crate::dataset::Dataset;
use crate::engine::Engine;
use crate::error::Result;
use crate::measure::{Role, Running};
use crate::prometheus::{self, Prometheus};
use crate::promlite_http::PromliteHttp;
use crate::report::IngestLine;
use crate::victoria::Victoria;
use crate::BenchOptions;

/// An engine that is up and holds the data.
pub(crate) enum Prepared {
    Prometheus(Prometheus),
    Victoria(Victoria),
    PromliteHttp(PromliteHttp),
    #[cfg(feature = "promlite")]
    Promlite(crate::promlite_engine::Promlite),
}

impl Running for Prepared {
    fn role(&self) -> Role {
        match self {
            Prepared::Prometheus(_) => Role::Prometheus,
            Prepared::Victoria(_) => Role::Victoria,
            Prepared::PromliteHttp(_) => Role::PromliteHttp,
            #[cfg(feature = "promlite")]
            Prepared::Promlite(_) => Role::Promlite,
        }
    }

    fn engine(&mut self) -> &mut dyn Engine {
        match self {
            Prepared::Prometheus(server) => server,
            Prepared::Victoria(server) => server,
            Prepared::PromliteHttp(server) => server,
            #[cfg(feature = "promlite")]
            Prepared::Promlite(engine) => engine,
        }
    }

    fn stop(self) -> Result<()> {
        match self {
            Prepared::Prometheus(server) => server.stop(),
            Prepared::Victoria(server) => server.stop(),
            Prepared::PromliteHttp(server) => server.stop(),
            // In process: closing is dropping.
            #[cfg(feature = "promlite")]
            Prepared::Promlite(_) => Ok(()),
        }
    }
}

/// What [`prepare`] adds to the report besides the engine.
pub(crate) struct SetupLog {
    /// Ingest and start-up steps, in the order they happened.
    pub(crate) ingest: Vec<IngestLine>,
    /// Skipped engines.
    pub(crate) notes: Vec<String>,
}

/// Prepares the engine of `role` if it is selected and can run here: `None` when it is not
/// selected or is skipped (with a note saying why).
pub(crate) fn prepare(
    role: Role,
    opts: &BenchOptions,
    data: &Dataset,
    log: &mut SetupLog,
    out: &mut dyn Write,
) -> Result<Option<Prepared>> {
    match role {
        Role::Prometheus if opts.engines.prometheus => match opts.prometheus.missing() {
            Some(why) => log.notes.push(format!("prometheus skipped: {why}")),
            None => return prepare_prometheus(opts, data, log, out).map(Some),
        },
        Role::Victoria if opts.engines.victoria => match opts.victoria.missing() {
            Some(why) => log.notes.push(format!("victoria-metrics skipped: {why}")),
            None => return prepare_victoria(opts, data, log, out).map(Some),
        },
        #[cfg(feature = "promlite")]
        Role::Promlite if opts.engines.promlite => {
            return prepare_promlite(opts, data, log, out).map(Some);
        }
        #[cfg(not(feature = "promlite"))]
        Role::Promlite if opts.engines.promlite => log
            .notes
            .push("promlite skipped: built without the `promlite` feature".into()),
        Role::PromliteHttp if opts.engines.promlite_http => match opts.promlite_http.missing() {
            Some(why) => log.notes.push(format!("promlite-http skipped: {why}")),
            None => return prepare_promlite_http(opts, data, log, out),
        },
        Role::Prometheus | Role::Victoria | Role::Promlite | Role::PromliteHttp => {}
    }
    Ok(None)
}

/// Builds the TSDB blocks with promtool (unless reused) and starts Prometheus over them.
fn prepare_prometheus(
    opts: &BenchOptions,
    data: &Dataset,
    log: &mut SetupLog,
    out: &mut dyn Write,
) -> Result<Prepared> {
    let blocks = data.engine_dir("prometheus");
    writeln!(out, "# prometheus: building blocks with promtool")?;
    let built = prometheus::build_blocks(&opts.prometheus, &data.openmetrics, &blocks)?;
    log.ingest.push(IngestLine {
        engine: "prometheus".into(),
        step: "promtool tsdb create-blocks-from openmetrics".into(),
        seconds: built.as_secs_f64(),
        reused: built.is_zero(),
    });
    let (server, ready) = Prometheus::start(&opts.prometheus, &blocks, &data.dir)?;
    log.ingest.push(IngestLine {
        engine: "prometheus".into(),
        step: "start-up until /-/ready".into(),
        seconds: ready.as_secs_f64(),
        reused: false,
    });
    Ok(Prepared::Prometheus(server))
}

/// Starts VictoriaMetrics; on a fresh data directory imports the data and restarts it.
fn prepare_victoria(
    opts: &BenchOptions,
    data: &Dataset,
    log: &mut SetupLog,
    out: &mut dyn Write,
) -> Result<Prepared> {
    let dir = data.engine_dir("victoria-metrics");
    let (server, ready) = Victoria::start(&opts.victoria, &dir, &data.dir)?;
    if server.has_import() {
        log.ingest.push(IngestLine {
            engine: "victoria-metrics".into(),
            step: "start-up until /health".into(),
            seconds: ready.as_secs_f64(),
            reused: false,
        });
        return Ok(Prepared::Victoria(server));
    }
    writeln!(out, "# victoria-metrics: importing")?;
    let imported = server.import(&data.openmetrics)?;
    log.ingest.push(IngestLine {
        engine: "victoria-metrics".into(),
        step: format!(
            "/api/v1/import/prometheus ({} samples) + force_flush",
            imported.samples
        ),
        seconds: imported.elapsed.as_secs_f64(),
        reused: false,
    });
    // Restart so background merges of the fresh parts do not run during timing.
    server.stop()?;
    let (server, _ready) = Victoria::start(&opts.victoria, &dir, &data.dir)?;
    Ok(Prepared::Victoria(server))
}

/// Starts `promlite serve --read-only` over promlite's data directory, ingesting it first
/// (in this process, then closing it) when the in-process engine did not run. Without the
/// `promlite` feature an uningested directory skips the engine with a note.
fn prepare_promlite_http(
    opts: &BenchOptions,
    data: &Dataset,
    log: &mut SetupLog,
    out: &mut dyn Write,
) -> Result<Option<Prepared>> {
    let dir = data.engine_dir("promlite");
    #[cfg(feature = "promlite")]
    if !crate::promlite_engine::is_ingested(&dir) {
        writeln!(out, "# promlite-http: ingesting first")?;
        let (engine, stats) = crate::promlite_engine::Promlite::open_or_ingest(
            &dir,
            &data.openmetrics,
            opts.fast_path,
        )?;
        drop(engine);
        log.ingest.push(IngestLine {
            engine: "promlite".into(),
            step: format!(
                "replay of data.om ({} samples), durable blocks",
                stats.samples
            ),
            seconds: stats.elapsed.as_secs_f64(),
            reused: stats.elapsed.is_zero(),
        });
    }
    #[cfg(not(feature = "promlite"))]
    if !dir.is_dir() {
        log.notes.push(format!(
            "promlite-http skipped: {} holds no ingested data (built without the `promlite` feature)",
            dir.display()
        ));
        return Ok(None);
    }
    writeln!(out, "# promlite-http: starting promlite serve --read-only")?;
    let (server, ready) =
        PromliteHttp::start(&opts.promlite_http, &dir, &data.dir, opts.fast_path)?;
    log.ingest.push(IngestLine {
        engine: "promlite-http".into(),
        step: "serve --read-only start-up until /-/ready".into(),
        seconds: ready.as_secs_f64(),
        reused: false,
    });
    Ok(Some(Prepared::PromliteHttp(server)))
}

/// Opens promlite's data directory, ingesting the cluster first unless a finished ingest is there.
#[cfg(feature = "promlite")]
fn prepare_promlite(
    opts: &BenchOptions,
    data: &Dataset,
    log: &mut SetupLog,
    out: &mut dyn Write,
) -> Result<Prepared> {
    writeln!(out, "# promlite: opening (ingesting on first use)")?;
    let (engine, stats) = crate::promlite_engine::Promlite::open_or_ingest(
        &data.engine_dir("promlite"),
        &data.openmetrics,
        opts.fast_path,
    )?;
    // Every engine ingests data.om; the count promlite accepted must equal what the generator
    // wrote into it (a replay that dropped or rejected samples fails the setup).
    if stats.samples != 0 && stats.samples != data.stats.samples {
        return Err(crate::Error::Promlite(format!(
            "promlite stored {} samples but {} holds {}; delete {} and rerun",
            stats.samples,
            data.openmetrics.display(),
            data.stats.samples,
            data.dir.display()
        )));
    }
    log.ingest.push(IngestLine {
        engine: "promlite".into(),
        step: format!(
            "replay of data.om ({} samples), durable blocks",
            stats.samples
        ),
        seconds: stats.elapsed.as_secs_f64(),
        reused: stats.elapsed.is_zero(),
    });
    Ok(Prepared::Promlite(engine))
}
