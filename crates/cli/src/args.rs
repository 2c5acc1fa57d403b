//! Command-line arguments of the `promlite` binary (clap derive).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// promlite: an embedded time-series database with PromQL.
#[derive(Debug, Parser)]
#[command(name = "promlite", version, about, long_about = None)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Replay exposition files (timestamped OpenMetrics/Prometheus text) or scrape directories
    /// into a data directory. The data is durable (compacted into blocks) when this exits 0.
    Replay(ReplayArgs),
    /// Evaluate an instant query.
    Query(QueryArgs),
    /// Evaluate a range query.
    QueryRange(QueryRangeArgs),
    /// List the series matching selectors.
    Series(SeriesArgs),
    /// List label names.
    Labels(LabelsArgs),
    /// List the values of one label.
    LabelValues(LabelValuesArgs),
    /// Generate a synthetic Kubernetes cluster's metrics (cAdvisor + kube-state-metrics).
    GenCluster(GenClusterArgs),
    /// Serve the Prometheus-compatible HTTP API (/api/v1/...).
    Serve(ServeArgs),
    /// Scrape the targets of a Prometheus-style scrape configuration into a data directory
    /// until SIGTERM/SIGINT, then make everything durable and exit 0.
    Scrape(crate::commands::scrape::ScrapeArgs),
    /// Generate a small cluster, replay it and run the workload join: the whole pipeline in one
    /// command.
    Demo(DemoArgs),
    /// Draw a range query as a line chart (PNG or SVG, by the output file's extension).
    Plot(PlotArgs),
    /// Benchmark the workload queries on promlite, Prometheus and VictoriaMetrics (answers are
    /// checked against Prometheus; engines whose binaries are missing are skipped).
    ///
    /// Check columns: `ok` is Prometheus's answer (relative tolerance 1e-9); `ok*` is a range
    /// answer that differs from Prometheus's range answer only at steps where it equals
    /// Prometheus's own instant answer at that step (its range evaluation broke a tie
    /// differently; at most 200 steps are re-checked); `DIFFERS` fails the run for promlite and
    /// promlite-http (VictoriaMetrics' differences are reported only); `-` means not run or no
    /// Prometheus.
    Bench(BenchArgs),
    /// Export stored series in another system's format (Prometheus TSDB blocks).
    Export(ExportArgs),
    /// Import another system's data (Prometheus TSDB blocks) into a data directory.
    Import(ImportArgs),
    /// Ship stored series to a remote write receiver (Prometheus, VictoriaMetrics, Mimir, ...).
    RemoteWrite(crate::commands::remote_write::RemoteWriteArgs),
    /// Run unit tests (`test rules TEST.yml...`, promtool's format and exit codes).
    Test(crate::commands::rules::TestArgs),
    /// Check files (`check rules RULES.yml...`, promtool's messages and exit codes).
    Check(crate::commands::rules::CheckArgs),
    /// Recording and alerting rules over stored data (`rules backfill`).
    Rules(crate::commands::rules::RulesArgs),
    /// Make a damaged data directory open again (`repair --data-dir DIR`), printing exactly
    /// what is dropped: blocks failing verification are moved aside to `<id>.corrupt`, the WAL
    /// is cut at its first bad frame. Run `check --data-dir` first to see the damage.
    Repair(RepairArgs),
}

/// `promlite repair`.
#[derive(Debug, Args)]
pub struct RepairArgs {
    /// The data directory to repair (must exist; locked while repairing).
    #[arg(long, value_name = "DIR")]
    pub data_dir: PathBuf,
}

/// Output formats of the query and listing commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Aligned, human-readable columns.
    Table,
    /// Exactly the body Prometheus's HTTP API returns.
    Json,
}

/// The data directory, shared by every command that reads or writes one.
#[derive(Debug, Args)]
pub struct DataDir {
    /// The data directory (created if missing).
    #[arg(long, value_name = "DIR")]
    pub data_dir: PathBuf,
}

/// Retention limits of a writing command, named as Prometheus's `--storage.tsdb.retention.*`
/// flags (without the `storage.tsdb.` prefix). Blocks entirely older than the time limit, and
/// the oldest blocks while the directory is larger than the size limit, are deleted.
#[derive(Debug, Args, Default)]
pub struct RetentionArgs {
    /// Delete blocks whose newest sample is older than this (Prometheus duration such as
    /// `15d`) relative to the newest sample stored. Also caps compacted blocks at 10 % of it.
    /// Default: keep forever.
    #[arg(long = "retention.time", value_name = "DURATION")]
    pub retention_time: Option<String>,
    /// Delete the oldest blocks while blocks plus WAL exceed this size (`512MB`, `10GB`; units
    /// B, KB, MB, GB, TB, PB, EB as powers of 1024, like Prometheus). Default: no limit.
    #[arg(long = "retention.size", value_name = "SIZE")]
    pub retention_size: Option<String>,
}

/// Value-run index settings (decode-free selectors over info-like series) of the commands that
/// open storage: `serve`, `query`, `query-range`, `replay`.
#[derive(Debug, Args, Default, Clone)]
pub struct RunIndexArgs {
    /// Metrics whose series get value runs, replacing the default list (the kube-state-metrics
    /// owner/info metrics and `*_info`): names or globs with one `*`, comma-separated or
    /// repeated.
    #[arg(long, value_name = "GLOB,...", value_delimiter = ',')]
    pub info_metrics: Vec<String>,
    /// Also give value runs to any other series whose values stay constant for long runs
    /// (info-like series detected at ingest and block load).
    #[arg(long)]
    pub detect_info_series: bool,
    /// No value runs at all: every selector decodes its samples.
    #[arg(long, conflicts_with_all = ["info_metrics", "detect_info_series"])]
    pub no_value_runs: bool,
}

/// PromQL extensions beyond Prometheus's language, each off by default.
#[derive(Debug, Args)]
pub struct ExtensionArgs {
    /// Turn on a PromQL extension (repeatable). `kube-pod-workload`: the selector
    /// `kube_pod_workload{namespace, pod, workload, workload_type}` answers each pod's workload
    /// as kubernetes-mixin's `namespace_workload_pod:kube_pod_owner:relabel` rules resolve it
    /// (docs/extensions/kube_pod_workload.md). Queries that do not name it answer as they
    /// would without the flag.
    #[arg(long = "enable-extension", value_name = "NAME", value_enum)]
    pub enable_extension: Vec<ExtensionName>,
}

/// The names `--enable-extension` takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExtensionName {
    /// `kube_pod_workload`: pod → workload resolution (ReplicaSet → Deployment, DaemonSet,
    /// StatefulSet, Job → CronJob, bare and static pods).
    KubePodWorkload,
}

impl ExtensionName {
    /// The engine's extension.
    pub fn extension(self) -> promlite::Extension {
        match self {
            ExtensionName::KubePodWorkload => promlite::Extension::KubePodWorkload,
        }
    }
}

/// `promlite replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    #[command(flatten)]
    pub data: DataDir,
    #[command(flatten)]
    pub retention: RetentionArgs,
    /// Exposition files (samples carry timestamps) or scrape directories (one scrape per file,
    /// named `<unix-ms>.prom` or given a time grid with --start/--interval).
    #[arg(value_name = "INPUT", required = true)]
    pub inputs: Vec<PathBuf>,
    /// Skip malformed lines (reported as warnings) instead of stopping at the first.
    #[arg(long)]
    pub lenient: bool,
    /// Time of the first scrape in a directory whose file names are not timestamps (RFC 3339
    /// or Unix seconds).
    #[arg(long, value_name = "TIME", requires = "interval")]
    pub start: Option<String>,
    /// Interval between scrapes for --start (Prometheus duration, e.g. `15s`).
    #[arg(long, value_name = "DURATION", requires = "start")]
    pub interval: Option<String>,
    #[command(flatten)]
    pub target: crate::commands::replay_target::ReplayTargetArgs,
    /// Rule files to record while replaying (repeatable): once the inputs are stored, every
    /// group is evaluated at its aligned slots over the data directory's time range, as
    /// `rules backfill` does, and the results are added as blocks.
    #[arg(long = "rules", value_name = "RULE_FILE")]
    pub rules: Vec<PathBuf>,
    /// Evaluation interval of rule groups that set none (Prometheus duration).
    #[arg(long, value_name = "DURATION", default_value = "1m")]
    pub rule_eval_interval: String,
    #[command(flatten)]
    pub runs: RunIndexArgs,
}

/// `promlite query`.
#[derive(Debug, Args)]
pub struct QueryArgs {
    #[command(flatten)]
    pub data: DataDir,
    /// Evaluation time: RFC 3339, Unix seconds, `now`, or relative to now (`-5m`, `now-1h`).
    /// Default: now.
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub time: Option<String>,
    /// Stop the query after this long with Prometheus's timeout error (Prometheus duration).
    #[arg(long, value_name = "DURATION", default_value = "2m")]
    pub timeout: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
    /// Print the evaluator's decisions per node (join keys pushed, fused range functions, names
    /// kept, concurrent sides, value runs used) and the series and samples each selector read,
    /// after the result (on stderr).
    #[arg(long)]
    pub explain: bool,
    /// Evaluate without any fast path (the generic evaluator), to cross-check answers.
    #[arg(long)]
    pub no_fast_path: bool,
    #[command(flatten)]
    pub runs: RunIndexArgs,
    #[command(flatten)]
    pub extensions: ExtensionArgs,
    /// The PromQL expression.
    #[arg(value_name = "EXPR")]
    pub expr: String,
}

/// `promlite query-range`.
#[derive(Debug, Args)]
pub struct QueryRangeArgs {
    #[command(flatten)]
    pub data: DataDir,
    /// Start time: RFC 3339, Unix seconds, `now`, or relative to now (`-5m`, `now-1h`).
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub start: String,
    /// End time, in the forms of --start.
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub end: String,
    /// Resolution step (Prometheus duration like `15s`, `1m`, or seconds).
    #[arg(long, value_name = "DURATION")]
    pub step: String,
    /// Stop the query after this long with Prometheus's timeout error (Prometheus duration).
    #[arg(long, value_name = "DURATION", default_value = "2m")]
    pub timeout: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
    /// Print the evaluator's decisions per node (join keys pushed, fused range functions, names
    /// kept, concurrent sides, value runs used) and the series and samples each selector read,
    /// after the result (on stderr).
    #[arg(long)]
    pub explain: bool,
    /// Evaluate without any fast path (the generic evaluator), to cross-check answers.
    #[arg(long)]
    pub no_fast_path: bool,
    #[command(flatten)]
    pub runs: RunIndexArgs,
    #[command(flatten)]
    pub extensions: ExtensionArgs,
    /// The PromQL expression.
    #[arg(value_name = "EXPR")]
    pub expr: String,
}

/// `promlite plot`.
#[derive(Debug, Args)]
pub struct PlotArgs {
    #[command(flatten)]
    pub data: DataDir,
    /// Start time (RFC 3339 or Unix seconds).
    #[arg(long, value_name = "TIME")]
    pub start: String,
    /// End time (RFC 3339 or Unix seconds).
    #[arg(long, value_name = "TIME")]
    pub end: String,
    /// Resolution step (Prometheus duration like `15s`, `1m`, or seconds). Default: the range
    /// divided into about 250 points, as Prometheus's graph page picks it.
    #[arg(long, value_name = "DURATION")]
    pub step: Option<String>,
    /// The picture to write: `.png` or `.svg`.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Picture width in pixels.
    #[arg(long, default_value_t = 1000)]
    pub width: u32,
    /// Picture height in pixels (the legend takes part of it).
    #[arg(long, default_value_t = 600)]
    pub height: u32,
    /// Caption (default: the expression).
    #[arg(long)]
    pub title: Option<String>,
    /// Unit of the values for the axis labels (`B` gives binary prefixes). Default: guessed from
    /// Prometheus's naming conventions (`_bytes`, `_seconds`, a rate of `_seconds_total`).
    #[arg(long)]
    pub unit: Option<String>,
    /// The PromQL expression.
    #[arg(value_name = "EXPR")]
    pub expr: String,
}

/// Time bounds of the listing commands (Prometheus's defaults: all time).
#[derive(Debug, Args)]
pub struct ListRange {
    /// Only series with samples at or after this time (RFC 3339, Unix seconds, `now`, `-5m`).
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub start: Option<String>,
    /// Only series with samples at or before this time (forms of --start).
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub end: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
}

/// `promlite series`.
#[derive(Debug, Args)]
pub struct SeriesArgs {
    #[command(flatten)]
    pub data: DataDir,
    #[command(flatten)]
    pub range: ListRange,
    /// Series selectors, e.g. `kube_pod_owner{namespace="kube-system"}`.
    #[arg(value_name = "MATCHER", required = true)]
    pub matchers: Vec<String>,
}

/// `promlite labels`.
#[derive(Debug, Args)]
pub struct LabelsArgs {
    #[command(flatten)]
    pub data: DataDir,
    #[command(flatten)]
    pub range: ListRange,
    /// Only consider series matching these selectors (repeatable).
    #[arg(long = "match", value_name = "MATCHER")]
    pub matchers: Vec<String>,
}

/// `promlite label-values`.
#[derive(Debug, Args)]
pub struct LabelValuesArgs {
    #[command(flatten)]
    pub data: DataDir,
    #[command(flatten)]
    pub range: ListRange,
    /// Only consider series matching these selectors (repeatable).
    #[arg(long = "match", value_name = "MATCHER")]
    pub matchers: Vec<String>,
    /// The label name.
    #[arg(value_name = "NAME")]
    pub name: String,
}

/// Cluster sizes offered on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SizeArg {
    /// Two nodes, 21 pods, 224 series, ten minutes.
    Tiny,
    /// Three nodes, 37 pods, 396 series, one hour.
    Small,
    /// Twenty nodes, 1,087 pods, 12,246 series, one hour.
    Medium,
    /// 5,727 pods, 71,450 series, 28.9M samples over two hours.
    Large,
    /// About 12,000 pods over two hours.
    Huge,
}

/// cAdvisor label naming.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LabelStyleArg {
    /// `pod` and `container` (Kubernetes ≥ 1.16).
    Modern,
    /// `pod_name` and `container_name`, as in the 2018 blog post the join comes from.
    #[value(name = "2018")]
    Legacy2018,
}

/// The character of a generated cluster (`promlite_cluster::Shape`), combined with `--size`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ShapeArg {
    /// The presets as they always were: seed 000's cluster, 15 s scrapes.
    Classic,
    /// kube-prometheus-style target labels, modern label names, 30 s scrapes, three
    /// kube-state-metrics replicas, pod churn (evictions, scale-downs and -ups, adoptions,
    /// CronJob runs), pod-level cgroups, other namespaces; about 5,800 pods at `--size large`.
    Churn,
}

/// Output layout of `gen-cluster`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ClusterFormat {
    /// One timestamped OpenMetrics file (also accepted by `promtool tsdb create-blocks-from
    /// openmetrics`).
    Openmetrics,
    /// A directory with one `<unix-ms>.prom` file per scrape.
    ScrapeDir,
}

/// `promlite gen-cluster`.
#[derive(Debug, Args)]
pub struct GenClusterArgs {
    /// Cluster size preset.
    #[arg(long, value_enum, default_value_t = SizeArg::Small)]
    pub size: SizeArg,
    /// Random seed; equal seeds give identical output.
    #[arg(long)]
    pub seed: Option<u64>,
    /// cAdvisor label names (default `2018` for the classic shape; the churn shape uses
    /// `modern` only).
    #[arg(long, value_enum)]
    pub label_style: Option<LabelStyleArg>,
    /// Cluster shape; `--size` sets its scale.
    #[arg(long, value_enum, default_value_t = ShapeArg::Classic)]
    pub shape: ShapeArg,
    /// Output layout.
    #[arg(long, value_enum, default_value_t = ClusterFormat::Openmetrics)]
    pub format: ClusterFormat,
    /// Output file (openmetrics) or directory (scrape-dir).
    #[arg(long, value_name = "PATH")]
    pub out: PathBuf,
}

/// `promlite serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub data: DataDir,
    #[command(flatten)]
    pub retention: RetentionArgs,
    /// Address to listen on. Loopback by default; bind other addresses deliberately.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9091")]
    pub listen: SocketAddr,
    /// Maximum time a query may run (Prometheus duration).
    #[arg(long, value_name = "DURATION", default_value = "2m")]
    pub query_timeout: String,
    /// Maximum samples a query may hold in memory.
    #[arg(long, value_name = "N", default_value_t = 50_000_000)]
    pub query_max_samples: usize,
    /// Connections served at once, one thread each (default 512).
    #[arg(long, value_name = "N")]
    pub workers: Option<usize>,
    /// Answer every query with the generic evaluator (no fast path), to cross-check answers.
    #[arg(long)]
    pub no_fast_path: bool,
    #[command(flatten)]
    pub runs: RunIndexArgs,
    #[command(flatten)]
    pub extensions: ExtensionArgs,
    /// Serve the directory read-only, beside a writer (another `serve`, a `replay`): no lock,
    /// nothing written; queries see what the writer made durable, checked for changes at most
    /// every --refresh-interval. The import endpoint is not mounted.
    #[arg(long)]
    pub read_only: bool,
    /// With --read-only: how often queries check the directory for the writer's changes
    /// (Prometheus duration; `0s` checks before every query).
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "1s",
        requires = "read_only"
    )]
    pub refresh_interval: String,
    /// Queries evaluated at once; more wait in a queue, their wait counting against their
    /// timeout (Prometheus's --query.max-concurrency).
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub query_max_concurrency: usize,
    /// Regex of origins answered with CORS headers, fully anchored (Prometheus's
    /// --web.cors.origin).
    #[arg(long, value_name = "REGEX", default_value = ".*")]
    pub web_cors_origin: String,
    /// Rule files to evaluate continuously (repeatable); `/api/v1/rules` and `/api/v1/alerts`
    /// serve their state; SIGHUP reloads them.
    #[arg(long = "rules", value_name = "RULE_FILE")]
    pub rules: Vec<PathBuf>,
    /// Evaluation interval of rule groups that set none (Prometheus duration).
    #[arg(long, value_name = "DURATION", default_value = "1m")]
    pub rule_eval_interval: String,
    /// Also scrape the targets of this Prometheus-style scrape configuration into the data
    /// directory (and serve /api/v1/targets).
    #[arg(long, value_name = "FILE")]
    pub scrape_config: Option<PathBuf>,
}

/// `promlite demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Cluster size preset.
    #[arg(long, value_enum, default_value_t = SizeArg::Small)]
    pub size: SizeArg,
    /// Random seed of the generated cluster.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Keep the generated files and data directory here instead of a temporary directory.
    #[arg(long, value_name = "DIR")]
    pub keep: Option<PathBuf>,
}

/// Engines `bench` can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BenchEngine {
    /// promlite, in process.
    Promlite,
    /// Prometheus (the oracle for answer checks).
    Prometheus,
    /// VictoriaMetrics single-node.
    Victoria,
    /// promlite over HTTP: this binary's `serve --read-only` on 127.0.0.1 (ports 18600-18699)
    /// over the data the in-process engine ingested, timed with the servers' client.
    PromliteHttp,
}

/// The order `bench` measures the engines in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BenchOrder {
    /// All engines up at once; per query, each engine runs its warm-ups and timed runs back to
    /// back, the first engine rotating from query to query: engines are measured within seconds
    /// of each other, each with warm caches.
    Grouped,
    /// All engines up at once; each timed run of a query executes on every engine in turn, the
    /// first engine rotating, so drifts in machine speed affect every engine alike (but every run
    /// starts with caches the other engines evicted).
    Interleaved,
    /// One engine at a time: each starts, runs every query and stops before the next starts.
    Sequential,
}

/// `promlite bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Cluster size preset (`large` is the acceptance size: 5,727 pods, 71,450 series).
    #[arg(long, value_enum, default_value_t = SizeArg::Large)]
    pub size: SizeArg,
    /// cAdvisor label names of the data; only the workload queries written for them run
    /// (default `2018` for the classic shape; the churn shape uses `modern` only).
    #[arg(long, value_enum)]
    pub label_style: Option<LabelStyleArg>,
    /// Cluster shape; `--size` sets its scale.
    #[arg(long, value_enum, default_value_t = ShapeArg::Classic)]
    pub shape: ShapeArg,
    /// Generator seed (default: the preset's).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Engines to run (repeatable or comma-separated; default all).
    #[arg(long = "engine", value_enum, value_delimiter = ',')]
    pub engines: Vec<BenchEngine>,
    /// Run only queries whose name contains this (repeatable).
    #[arg(long = "query", value_name = "NAME")]
    pub queries: Vec<String>,
    /// Only instant queries.
    #[arg(long, conflicts_with = "range_only")]
    pub instant_only: bool,
    /// Only range queries.
    #[arg(long)]
    pub range_only: bool,
    /// Timed runs per query and engine (the table shows the median).
    #[arg(long, default_value_t = 5)]
    pub runs: usize,
    /// Untimed warm-up runs before the timed ones.
    #[arg(long, default_value_t = 1)]
    pub warmup: usize,
    /// Measurement order of the engines.
    #[arg(long, value_enum, default_value_t = BenchOrder::Grouped)]
    pub order: BenchOrder,
    /// Before each engine's runs of a query (at each change of engine when interleaved), wait
    /// up to this long for the machine's CPUs to be nearly idle (at most 10 % busy over 50 ms),
    /// so that a server's leftover work (garbage collection, background merges) after its own
    /// runs does not slow the next engine; `0s` turns the waits off. Every engine gets the same
    /// wait; the total is reported (Prometheus duration).
    #[arg(long, value_name = "DURATION", default_value = "1s")]
    pub settle: String,
    /// Range query step (Prometheus duration).
    #[arg(long, value_name = "DURATION", default_value = "1m")]
    pub step: String,
    /// Query timeout for Prometheus and VictoriaMetrics (Prometheus duration).
    #[arg(long, value_name = "DURATION")]
    pub query_timeout: Option<String>,
    /// Disable promlite's workload-join fast path (to measure the generic evaluator).
    #[arg(long)]
    pub no_fast_path: bool,
    /// Where generated data and each engine's copy are kept between runs
    /// (default target/promlite-bench).
    #[arg(long, value_name = "DIR")]
    pub work_dir: Option<PathBuf>,
    /// Directory holding workload.json and the query files (default testdata/workload).
    #[arg(long, value_name = "DIR")]
    pub workload_dir: Option<PathBuf>,
    /// Also write the report as JSON here.
    #[arg(long, value_name = "FILE")]
    pub json_out: Option<PathBuf>,
    /// Also write the report as Markdown here.
    #[arg(long, value_name = "FILE")]
    pub markdown_out: Option<PathBuf>,
}

/// Formats `export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// Prometheus TSDB blocks (index v2, XOR chunks, meta.json, tombstones), one per 2 h
    /// aligned window: Prometheus, promtool, Thanos and Mimir open them as their own.
    PrometheusBlocks,
}

/// `promlite export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub data: DataDir,
    /// The output format.
    #[arg(long, value_enum)]
    pub format: ExportFormat,
    /// Only samples at or after this time (RFC 3339 or Unix seconds).
    #[arg(long, value_name = "TIME")]
    pub start: Option<String>,
    /// Only samples at or before this time (RFC 3339 or Unix seconds).
    #[arg(long, value_name = "TIME")]
    pub end: Option<String>,
    /// Only series matching these selectors (repeatable; default: every series).
    #[arg(long = "match", value_name = "MATCHER")]
    pub matchers: Vec<String>,
    /// The output directory (created if missing), e.g. a Prometheus `--storage.tsdb.path`.
    #[arg(value_name = "OUT_DIR")]
    pub out: PathBuf,
}

/// Formats `import` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ImportFormat {
    /// Prometheus TSDB blocks: one block directory, or a directory of blocks such as a
    /// Prometheus data directory (read-only; its WAL and head chunks are not read).
    PrometheusBlocks,
}

/// `promlite import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The input format.
    #[arg(value_enum, value_name = "FORMAT")]
    pub format: ImportFormat,
    /// The block directory or directory of blocks.
    #[arg(value_name = "DIR")]
    pub input: PathBuf,
    #[command(flatten)]
    pub data: DataDir,
}
