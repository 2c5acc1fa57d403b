//! Tests of the measurement orders with fake engines that log every call and answer with values
//! derived from their call count.

use std::cell::RefCell;
use std::rc::Rc;

use super::*;
use crate::engine::Timed;
use crate::promjson::ServerTimings;
use crate::report::Check;
use crate::Error;

/// Everything the fakes did, in order: `"<engine> <what>"`.
type Log = Rc<RefCell<Vec<String>>>;

/// An engine whose n-th call (1-based, over its whole life) takes n ms and answers the scalar
/// `n + offset`, so the answer of every run is recognisable; it fails at call `fail_at`. Like
/// promlite in process, it answers only when the harness says it reads the answer
/// ([`Engine::want_answer`]): a kept placeholder would fail the answer checks.
struct Fake {
    name: &'static str,
    offset: f64,
    calls: u64,
    fail_at: Option<u64>,
    wanted: bool,
    log: Log,
}

impl Fake {
    fn new(name: &'static str, offset: f64, log: &Log) -> Self {
        Self {
            name,
            offset,
            calls: 0,
            fail_at: None,
            wanted: true,
            log: Rc::clone(log),
        }
    }

    fn call(&mut self, what: String, t_ms: i64) -> Result<Timed> {
        self.calls += 1;
        self.log.borrow_mut().push(format!("{} {what}", self.name));
        if self.fail_at == Some(self.calls) {
            return Err(Error::Http {
                url: format!("fake://{}", self.name),
                message: "connection refused".into(),
            });
        }
        let result = if self.wanted {
            QueryResult::Scalar(t_ms, self.calls as f64 + self.offset)
        } else {
            QueryResult::Error(crate::engine::ANSWER_NOT_KEPT.into())
        };
        Ok(Timed {
            result,
            wall: Duration::from_millis(self.calls),
            server: ServerTimings {
                eval_total: (self.name == "prometheus").then(|| Duration::from_millis(1)),
                ..ServerTimings::default()
            },
        })
    }
}

impl Engine for Fake {
    fn name(&self) -> &'static str {
        self.name
    }

    fn want_answer(&mut self, wanted: bool) {
        self.wanted = wanted;
    }

    fn instant_query(&mut self, query: &str, t_ms: i64) -> Result<Timed> {
        self.call(format!("instant {query}"), t_ms)
    }

    fn range_query(
        &mut self,
        query: &str,
        start_ms: i64,
        _end_ms: i64,
        _step_ms: i64,
    ) -> Result<Timed> {
        self.call(format!("range {query}"), start_ms)
    }
}

/// A prepared fake: logs `stop` and `drop`.
struct FakeServer {
    role: Role,
    engine: Fake,
}

impl Running for FakeServer {
    fn role(&self) -> Role {
        self.role
    }

    fn engine(&mut self) -> &mut dyn Engine {
        &mut self.engine
    }

    fn stop(self) -> Result<()> {
        self.engine
            .log
            .borrow_mut()
            .push(format!("{} stop", self.engine.name));
        Ok(())
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.engine
            .log
            .borrow_mut()
            .push(format!("{} drop", self.engine.name));
    }
}

/// The three engines these tests were written for (the schedules below are spelled out for
/// three); `promlite-http` takes part in real runs like any other engine.
const THREE: [Role; 3] = [Role::Prometheus, Role::Victoria, Role::Promlite];

fn name_of(role: Role) -> &'static str {
    match role {
        Role::Prometheus => "prometheus",
        Role::Victoria => "victoria-metrics",
        Role::Promlite => "promlite",
        Role::PromliteHttp => "promlite-http",
    }
}

/// Victoria's answers are off by 0.5, the others agree.
fn fake_server(role: Role, log: &Log) -> FakeServer {
    let offset = if role == Role::Victoria { 0.5 } else { 0.0 };
    FakeServer {
        role,
        engine: Fake::new(name_of(role), offset, log),
    }
}

fn queries() -> Vec<WorkloadQuery> {
    ["q1", "q2"]
        .iter()
        .map(|name| WorkloadQuery {
            name: (*name).into(),
            style: "legacy".into(),
            query: format!("sum(up{{job=\"{name}\"}})"),
            expect: "success".into(),
        })
        .collect()
}

fn jobs(queries: &[WorkloadQuery]) -> Vec<Job<'_>> {
    vec![
        Job {
            query: &queries[0],
            kind: QueryKind::Instant,
        },
        Job {
            query: &queries[1],
            kind: QueryKind::Range,
        },
    ]
}

const TIMES: Times = Times {
    instant: 1_000,
    start: 100,
    end: 700,
    step: 300,
};

/// The queries of the log (prepare/stop/drop lines left out), as `(engine, what)`.
fn query_calls(log: &Log) -> Vec<(String, String)> {
    log.borrow()
        .iter()
        .filter_map(|line| line.split_once(' '))
        .filter(|(_, what)| what.starts_with("instant ") || what.starts_with("range "))
        .map(|(engine, what)| (engine.to_string(), what.to_string()))
        .collect()
}

/// Runs the two jobs of [`jobs`] on the engines `prepare` gives, in `order`.
fn measure_fakes(
    order: Order,
    roles: &[Role],
    warmup: usize,
    timed: usize,
    prepare: impl FnMut(Role, &mut dyn Write) -> Result<Option<FakeServer>>,
) -> Result<Vec<(Role, Vec<Outcome>)>> {
    let queries = queries();
    measure_all(
        order,
        roles,
        prepare,
        &jobs(&queries),
        &TIMES,
        Runs {
            warmup,
            timed,
            settle: Duration::ZERO,
        },
        |_| WantedSteps::new(),
        &mut Vec::new(),
    )
    .map(|measured| measured.outcomes)
}

/// The table rows of [`measure_fakes`]'s outcomes.
fn rows_of(measured: &[(Role, Vec<Outcome>)]) -> Vec<crate::Row> {
    let queries = queries();
    crate::build_rows(&jobs(&queries), measured, &InstantAnswers::new(), 1e-9)
}

#[test]
fn rotation_shifts_the_first_engine_each_round() {
    let order = |n, round| rotation(n, round).collect::<Vec<_>>();
    assert_eq!(order(3, 0), vec![0, 1, 2]);
    assert_eq!(order(3, 1), vec![1, 2, 0]);
    assert_eq!(order(3, 2), vec![2, 0, 1]);
    assert_eq!(order(3, 3), vec![0, 1, 2]);
    assert_eq!(order(2, 5), vec![1, 0]);
    assert_eq!(order(1, 9), vec![0]);
    assert!(order(0, 4).is_empty());
    // Over n consecutive rounds, from any start, every engine stands at every position once.
    for n in 1..6 {
        for start in 0..2 * n {
            for position in 0..n {
                let mut at_position: Vec<usize> = (start..start + n)
                    .map(|round| order(n, round)[position])
                    .collect();
                at_position.sort_unstable();
                assert_eq!(
                    at_position,
                    (0..n).collect::<Vec<_>>(),
                    "n {n} start {start}"
                );
            }
        }
    }
}

/// Measures the two test jobs on fake Prometheus, VictoriaMetrics (answers offset by 0.5) and
/// promlite engines in `order`: the call log, the outcomes and the progress output.
fn measure_three_fakes(order: Order, runs: Runs) -> (Log, Vec<Vec<Outcome>>, Vec<u8>) {
    let log = Log::default();
    let mut prometheus = Fake::new("prometheus", 0.0, &log);
    let mut victoria = Fake::new("victoria-metrics", 0.5, &log);
    let mut promlite = Fake::new("promlite", 0.0, &log);
    let queries = queries();
    let jobs = jobs(&queries);
    let mut out = Vec::new();
    let outcomes = measure(
        &mut [&mut prometheus, &mut victoria, &mut promlite],
        &jobs,
        &TIMES,
        runs,
        order,
        &mut Settle::new(Duration::ZERO),
        &mut out,
    )
    .unwrap();
    drop((prometheus, victoria, promlite));
    (log, outcomes, out)
}

#[test]
fn interleaved_runs_rotate_and_keep_each_engines_first_answer() {
    let runs = Runs {
        warmup: 1,
        timed: 4,
        settle: Duration::ZERO,
    };
    let (log, outcomes, out) = measure_three_fakes(Order::Interleaved, runs);
    let queries = queries();
    let jobs = jobs(&queries);

    let names = ["prometheus", "victoria-metrics", "promlite"];
    let calls = query_calls(&log);
    let per_job = names.len() * (runs.warmup + runs.timed);
    assert_eq!(calls.len(), jobs.len() * per_job, "{calls:?}");
    for (job_idx, job_calls) in calls.chunks(per_job).enumerate() {
        let what = match job_idx {
            0 => "instant sum(up{job=\"q1\"})",
            _ => "range sum(up{job=\"q2\"})",
        };
        assert!(job_calls.iter().all(|(_, w)| w == what), "{job_calls:?}");
        // Round r (warm-ups, then timed runs, each counted from 0) starts with engine r mod 3
        // and runs every engine once.
        let rounds: Vec<usize> = (0..runs.warmup).chain(0..runs.timed).collect();
        for (round, round_calls) in rounds.iter().zip(job_calls.chunks(names.len())) {
            let engines: Vec<&str> = round_calls.iter().map(|(e, _)| e.as_str()).collect();
            let expected: Vec<&str> = (0..names.len())
                .map(|k| names[(round + k) % names.len()])
                .collect();
            assert_eq!(engines, expected, "job {job_idx} round {round}");
        }
    }

    assert_eq!(outcomes.len(), 3);
    for (engine_idx, engine_outcomes) in outcomes.iter().enumerate() {
        assert_eq!(engine_outcomes.len(), jobs.len());
        let offset = if engine_idx == 1 { 0.5 } else { 0.0 };
        // Each engine makes 5 calls per job: job 0 is calls 1..=5, job 1 calls 6..=10. The
        // answer kept is the job's first (warm-up) call's; only the 4 timed calls are timed.
        assert_eq!(
            engine_outcomes[0].answer,
            QueryResult::Scalar(TIMES.instant, 1.0 + offset)
        );
        assert_eq!(
            engine_outcomes[1].answer,
            QueryResult::Scalar(TIMES.start, 6.0 + offset)
        );
        assert_eq!(
            engine_outcomes[0].measurement.runs_ms,
            vec![2.0, 3.0, 4.0, 5.0]
        );
        assert_eq!(
            engine_outcomes[1].measurement.runs_ms,
            vec![7.0, 8.0, 9.0, 10.0]
        );
        assert_eq!(engine_outcomes[1].measurement.median_ms, 8.5);
    }
    assert_eq!(
        outcomes[0][0].measurement.server_eval_median_ms,
        Some(1.0),
        "prometheus's server timings are kept"
    );
    assert_eq!(outcomes[2][0].measurement.server_eval_median_ms, None);

    // One progress line per engine per job, in engine order.
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 6, "{text}");
    for (line, (job, engine)) in lines.iter().zip(
        ["q1", "q2"]
            .iter()
            .flat_map(|job| names.iter().map(move |engine| (job, engine))),
    ) {
        assert!(line.starts_with(engine), "{line}");
        assert!(line.contains(&format!(" {job} ")), "{line}");
        assert!(line.contains("(1 series)"), "{line}");
    }
    assert!(lines[3].contains("range") && lines[3].contains("median      8.50 ms"));
}

#[test]
fn interleaved_order_starts_every_engine_first_and_checks_each_against_prometheus() {
    let log = Log::default();
    let measured = measure_fakes(Order::Interleaved, &THREE, 2, 3, |role, _out| {
        log.borrow_mut().push(format!("{} prepare", name_of(role)));
        Ok(Some(fake_server(role, &log)))
    })
    .unwrap();
    let log_lines = log.borrow().clone();
    assert_eq!(
        log_lines[..3],
        [
            "prometheus prepare",
            "victoria-metrics prepare",
            "promlite prepare"
        ]
    );
    assert_eq!(
        log_lines[log_lines.len() - 6..],
        [
            "prometheus stop",
            "prometheus drop",
            "victoria-metrics stop",
            "victoria-metrics drop",
            "promlite stop",
            "promlite drop"
        ]
    );
    let calls = query_calls(&log);
    for name in ["prometheus", "victoria-metrics", "promlite"] {
        assert_eq!(
            calls.iter().filter(|(e, _)| e == name).count(),
            2 * (2 + 3), // jobs × (warm-up + timed runs)
            "{name}"
        );
    }
    // Per job: warm-up rounds 0 and 1, then timed rounds 0, 1 and 2, each led by engine
    // round mod 3.
    let leaders: Vec<&str> = calls.chunks(3).map(|round| round[0].0.as_str()).collect();
    let per_job = [
        "prometheus",
        "victoria-metrics",
        "prometheus",
        "victoria-metrics",
        "promlite",
    ];
    assert_eq!(leaders, [per_job, per_job].concat());

    let roles: Vec<Role> = measured.iter().map(|(role, _)| *role).collect();
    assert_eq!(roles, THREE);
    let rows = rows_of(&measured);
    assert_eq!(rows.len(), 2);
    for row in &rows {
        assert_eq!(row.promlite_check, Check::Same, "{row:?}");
        assert!(matches!(row.victoria_check, Check::Differs(_)), "{row:?}");
        assert_eq!(row.series, Some(1));
        assert!(row.prometheus.is_some() && row.promlite.is_some() && row.victoria.is_some());
    }
    assert_eq!(rows[0].kind, QueryKind::Instant);
    assert_eq!(rows[1].query, "q2");
}

#[test]
fn sequential_order_measures_one_engine_at_a_time() {
    let log = Log::default();
    let measured = measure_fakes(Order::Sequential, &THREE, 1, 2, |role, _out| {
        log.borrow_mut().push(format!("{} prepare", name_of(role)));
        // Victoria is skipped, as when its binary is missing.
        Ok((role != Role::Victoria).then(|| fake_server(role, &log)))
    })
    .unwrap();
    let calls = |engine: &str| {
        [
            format!("{engine} instant sum(up{{job=\"q1\"}})"),
            format!("{engine} instant sum(up{{job=\"q1\"}})"),
            format!("{engine} instant sum(up{{job=\"q1\"}})"),
            format!("{engine} range sum(up{{job=\"q2\"}})"),
            format!("{engine} range sum(up{{job=\"q2\"}})"),
            format!("{engine} range sum(up{{job=\"q2\"}})"),
        ]
    };
    let mut expected = vec!["prometheus prepare".to_string()];
    expected.extend(calls("prometheus"));
    expected.extend([
        "prometheus stop".into(),
        "prometheus drop".into(),
        "victoria-metrics prepare".into(),
        "promlite prepare".into(),
    ]);
    expected.extend(calls("promlite"));
    expected.extend(["promlite stop".into(), "promlite drop".into()]);
    assert_eq!(*log.borrow(), expected);

    let roles: Vec<Role> = measured.iter().map(|(role, _)| *role).collect();
    assert_eq!(roles, [Role::Prometheus, Role::Promlite]);
    let rows = rows_of(&measured);
    for row in &rows {
        assert_eq!(row.promlite_check, Check::Same, "{row:?}");
        assert_eq!(row.victoria_check, Check::NotRun, "{row:?}");
        assert!(row.victoria.is_none());
    }
}

#[test]
fn without_prometheus_nothing_is_checked() {
    let log = Log::default();
    let measured = measure_fakes(
        Order::Interleaved,
        &[Role::Victoria, Role::Promlite],
        0,
        1,
        |role, _out| Ok(Some(fake_server(role, &log))),
    )
    .unwrap();
    let rows = rows_of(&measured);
    for row in &rows {
        assert_eq!(row.promlite_check, Check::NoOracle);
        assert_eq!(row.victoria_check, Check::NoOracle);
        assert!(row.prometheus.is_none());
        // The shape comes from promlite's answer.
        assert_eq!(row.series, Some(1));
    }
}

#[test]
fn an_engine_failure_fails_the_run_and_every_started_engine_is_dropped() {
    let log = Log::default();
    let err = measure_fakes(Order::Interleaved, &THREE, 1, 3, |role, _out| {
        let mut server = fake_server(role, &log);
        if role == Role::Victoria {
            server.engine.fail_at = Some(3);
        }
        Ok(Some(server))
    })
    .unwrap_err();
    assert!(matches!(err, Error::Http { .. }), "{err}");
    let log_lines = log.borrow().clone();
    for name in ["prometheus", "victoria-metrics", "promlite"] {
        assert!(
            log_lines.contains(&format!("{name} drop")),
            "{name} left running: {log_lines:?}"
        );
    }
    // The failure came at Victoria's third call: nothing ran after it.
    let calls = query_calls(&log);
    assert_eq!(
        calls.last().map(|(e, _)| e.as_str()),
        Some("victoria-metrics")
    );
    assert_eq!(
        calls
            .iter()
            .filter(|(e, _)| e == "victoria-metrics")
            .count(),
        3
    );
}

#[test]
fn a_failing_preparation_drops_the_engines_already_started() {
    let log = Log::default();
    let err = measure_fakes(Order::Interleaved, &THREE, 1, 1, |role, _out| match role {
        Role::Promlite => Err(Error::Promlite("cannot open".into())),
        _ => Ok(Some(fake_server(role, &log))),
    })
    .unwrap_err();
    assert!(matches!(err, Error::Promlite(_)), "{err}");
    assert!(query_calls(&log).is_empty());
    assert_eq!(*log.borrow(), ["prometheus drop", "victoria-metrics drop"]);
}

#[test]
fn grouped_runs_each_engine_back_to_back_and_rotates_per_query() {
    let runs = Runs {
        warmup: 1,
        timed: 2,
        settle: Duration::ZERO,
    };
    let (log, outcomes, out) = measure_three_fakes(Order::Grouped, runs);

    let engines: Vec<String> = query_calls(&log).into_iter().map(|(e, _)| e).collect();
    let block = |name: &str| vec![name.to_string(); runs.warmup + runs.timed];
    // Job 0 starts with Prometheus, job 1 with VictoriaMetrics; each engine's runs are adjacent.
    let expected: Vec<String> = [
        "prometheus",
        "victoria-metrics",
        "promlite",
        "victoria-metrics",
        "promlite",
        "prometheus",
    ]
    .iter()
    .flat_map(|name| block(name))
    .collect();
    assert_eq!(engines, expected);

    // Answers are each engine's first call of the job; the timed runs are the two after it.
    // Prometheus makes calls 1..=3 for job 0 and 4..=6 for job 1.
    assert_eq!(
        outcomes[0][0].answer,
        QueryResult::Scalar(TIMES.instant, 1.0)
    );
    assert_eq!(outcomes[0][0].measurement.runs_ms, vec![2.0, 3.0]);
    assert_eq!(outcomes[0][1].measurement.runs_ms, vec![5.0, 6.0]);
    assert_eq!(outcomes[1][1].answer, QueryResult::Scalar(TIMES.start, 4.5));
    // Progress lines stay in engine order whoever went first.
    let text = String::from_utf8(out).unwrap();
    let firsts: Vec<&str> = text
        .lines()
        .map(|l| l.split_whitespace().next().unwrap_or(""))
        .collect();
    assert_eq!(
        firsts,
        ["prometheus", "victoria-metrics", "promlite"].repeat(2)
    );
}

#[test]
fn schedules_cover_every_engine_and_run() {
    let runs = Runs {
        warmup: 2,
        timed: 3,
        settle: Duration::ZERO,
    };
    for order in [Order::Interleaved, Order::Grouped, Order::Sequential] {
        for job in 0..4 {
            let calls = schedule(order, 3, job, runs);
            for engine in 0..3 {
                let mine: Vec<bool> = calls
                    .iter()
                    .filter(|(e, _)| *e == engine)
                    .map(|(_, timed)| *timed)
                    .collect();
                assert_eq!(
                    mine,
                    [false, false, true, true, true],
                    "{order:?} job {job} engine {engine}"
                );
            }
        }
    }
    assert!(schedule(Order::Grouped, 0, 3, runs).is_empty());
}

/// Runs the two jobs on two fakes with `wanted` asking for job 1's steps 400 and 100, in
/// `order`; returns the log and the instant answers.
fn measure_with_recheck(order: Order, roles: &[Role]) -> (Log, InstantAnswers) {
    let log = Log::default();
    let queries = queries();
    let measured = measure_all(
        order,
        roles,
        |role, _out| {
            log.borrow_mut().push(format!("{} prepare", name_of(role)));
            Ok(Some(fake_server(role, &log)))
        },
        &jobs(&queries),
        &TIMES,
        Runs {
            warmup: 0,
            timed: 1,
            settle: Duration::ZERO,
        },
        |outcomes| {
            // The callback sees every measured engine's outcomes.
            assert_eq!(outcomes.len(), roles.len());
            WantedSteps::from([(1, 400), (1, 100)])
        },
        &mut Vec::new(),
    )
    .unwrap();
    (log, measured.instants)
}

#[test]
fn wanted_steps_are_asked_of_prometheus_while_it_is_up() {
    let roles = [Role::Prometheus, Role::Promlite];
    let asks = [
        "prometheus instant sum(up{job=\"q2\"})".to_string(),
        "prometheus instant sum(up{job=\"q2\"})".to_string(),
    ];
    for order in [Order::Grouped, Order::Interleaved] {
        let (log, instants) = measure_with_recheck(order, &roles);
        let lines = log.borrow().clone();
        let stop = lines.iter().position(|l| l == "prometheus stop").unwrap();
        assert_eq!(lines[stop - 2..stop], asks[..], "{order:?}: {lines:?}");
        // Prometheus's third and fourth calls, in step order.
        assert_eq!(
            instants,
            InstantAnswers::from([(
                1,
                BTreeMap::from([
                    (100, QueryResult::Scalar(100, 3.0)),
                    (400, QueryResult::Scalar(400, 4.0))
                ])
            )]),
            "{order:?}"
        );
    }
    // Sequential: Prometheus was stopped before promlite ran, so it is started again.
    let (log, instants) = measure_with_recheck(Order::Sequential, &roles);
    let lines = log.borrow().clone();
    let tail: Vec<&str> = lines[lines.len() - 5..]
        .iter()
        .map(String::as_str)
        .collect();
    assert_eq!(
        tail,
        [
            "prometheus prepare",
            asks[0].as_str(),
            asks[1].as_str(),
            "prometheus stop",
            "prometheus drop"
        ]
    );
    assert_eq!(instants[&1][&100], QueryResult::Scalar(100, 1.0));
}

#[test]
fn without_prometheus_no_step_is_asked() {
    for order in [Order::Grouped, Order::Sequential] {
        let (log, instants) = measure_with_recheck(order, &[Role::Promlite]);
        assert!(instants.is_empty());
        assert!(
            query_calls(&log)
                .iter()
                .all(|(engine, _)| engine == "promlite"),
            "{order:?}"
        );
    }
}

#[test]
fn the_machine_settles_whenever_the_engine_changes() {
    let log: Log = Rc::default();
    let mut prometheus = Fake::new("prometheus", 0.0, &log);
    let mut promlite = Fake::new("promlite", 0.0, &log);
    let queries = queries();
    let jobs = jobs(&queries);
    let count = |order: Order, prometheus: &mut Fake, promlite: &mut Fake| {
        let mut settle = Settle::new(Duration::from_millis(1));
        let runs = Runs {
            warmup: 1,
            timed: 2,
            settle: Duration::from_millis(1),
        };
        measure(
            &mut [prometheus, promlite],
            &jobs,
            &TIMES,
            runs,
            order,
            &mut settle,
            &mut Vec::new(),
        )
        .unwrap();
        settle.stats().waits
    };
    // Once per change of engine within each job's schedule: grouped, once per engine;
    // interleaved, at most before every run. `/proc/stat` is absent off Linux, where waiting
    // returns without counting.
    let changes = |order: Order| -> usize {
        let runs = Runs {
            warmup: 1,
            timed: 2,
            settle: Duration::ZERO,
        };
        (0..jobs.len())
            .map(|j| {
                let engines: Vec<usize> = schedule(order, 2, j, runs)
                    .into_iter()
                    .map(|(e, _)| e)
                    .collect();
                1 + engines.windows(2).filter(|w| w[0] != w[1]).count()
            })
            .sum()
    };
    let linux = std::path::Path::new("/proc/stat").exists();
    let want = |n: usize| if linux { n } else { 0 };
    assert_eq!(changes(Order::Grouped), 2 * jobs.len());
    assert!(changes(Order::Interleaved) > changes(Order::Grouped));
    assert_eq!(
        count(Order::Grouped, &mut prometheus, &mut promlite),
        want(changes(Order::Grouped))
    );
    assert_eq!(
        count(Order::Interleaved, &mut prometheus, &mut promlite),
        want(changes(Order::Interleaved))
    );
}
