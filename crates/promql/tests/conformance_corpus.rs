//! Parses every expression in Prometheus's conformance scripts (`../shared/promqltest/*.test`)
//! and every query in the seed blog post, and reports which parse and which fail.
//!
//! Cases that expect success must parse. Cases that expect failure fail at evaluation in
//! Prometheus, so they must parse too, except the few listed in [`PARSE_ERRORS`] with a reason.

//!
//! Both files live in `../shared` beside the checkout; without it the tests print `SKIPPED:`
//! (and fail when `PROMLITE_REQUIRE_ORACLES` is set, as in CI).

use std::path::{Path, PathBuf};

use promlite_promql::parse;
use promlite_testkit::shared_path;

/// Expressions in the conformance files that this parser rejects although Prometheus parses them,
/// with the reason. Each must be an `expect fail` case in Prometheus too (it fails at evaluation).
///
/// Empty: the invalid-UTF-8 literals (`count_values("a\xc5z", version)`,
/// `label_replace(testmetric, "\xff", ...)`) parse as byte strings and fail at evaluation, as in
/// Prometheus.
const PARSE_ERRORS: &[(&str, &str)] = &[];

struct Case {
    file: String,
    line: usize,
    expr: String,
    expect_fail: bool,
}

/// Extracts the expression of an `eval*` command line, or `None` for other lines.
fn eval_expr(line: &str) -> Option<(bool, String)> {
    let line = line.trim_start();
    let (cmd, rest) = line.split_once(' ')?;
    if !cmd.starts_with("eval") {
        return None;
    }
    let words: Vec<&str> = rest.split_whitespace().collect();
    let skip = match words.first().copied() {
        Some("instant") => 3, // instant at <t>
        Some("range") => 7,   // range from <a> to <b> step <s>
        _ => panic!("unknown eval form: {line}"),
    };
    // Re-slice the original text after the `skip` words so spacing inside the query survives.
    let mut remaining = rest;
    for _ in 0..skip {
        remaining = remaining.trim_start();
        let end = remaining
            .find(char::is_whitespace)
            .unwrap_or(remaining.len());
        remaining = &remaining[end..];
    }
    Some((cmd == "eval_fail", remaining.trim().to_string()))
}

fn load_cases(dir: &Path) -> Vec<Case> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("../shared/promqltest exists beside the checkout")
        .map(|e| e.expect("readable dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "test"))
        .collect();
    files.sort();
    let mut cases = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).expect("readable test file");
        let lines: Vec<&str> = text.lines().collect();
        for (idx, line) in lines.iter().enumerate() {
            let Some((eval_fail, expr)) = eval_expr(line) else {
                continue;
            };
            // `expect fail` lines follow the eval line, indented.
            let expect_fail = eval_fail
                || lines[idx + 1..]
                    .iter()
                    .take_while(|l| l.starts_with(' ') || l.starts_with('\t'))
                    .any(|l| l.trim_start().starts_with("expect fail"));
            cases.push(Case {
                file: file_name(&path),
                line: idx + 1,
                expr,
                expect_fail,
            });
        }
    }
    cases
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[test]
fn every_conformance_expression_parses() {
    let Some(dir) = shared_path("promqltest", "every conformance expression parses") else {
        return;
    };
    let cases = load_cases(&dir);
    assert!(
        cases.len() >= 1000,
        "found only {} eval cases; is ../shared/promqltest complete?",
        cases.len()
    );
    let mut failures = Vec::new();
    let mut rejected_as_listed = Vec::new();
    let (mut ok, mut fail_cases) = (0, 0);
    for case in &cases {
        fail_cases += usize::from(case.expect_fail);
        match parse(&case.expr) {
            Ok(expr) => {
                ok += 1;
                // The printer's output must parse back to the same tree.
                let printed = expr.to_string();
                match parse(&printed) {
                    Ok(again) => assert!(
                        again.same_as(&expr),
                        "{}:{}: {} printed as {printed}",
                        case.file,
                        case.line,
                        case.expr
                    ),
                    Err(e) => failures.push(format!(
                        "{}:{}: printed form {printed:?} fails: {e}",
                        case.file, case.line
                    )),
                }
                if PARSE_ERRORS.iter().any(|(q, _)| *q == case.expr) {
                    failures.push(format!(
                        "{}:{}: listed as a parse error but parses: {}",
                        case.file, case.line, case.expr
                    ));
                }
            }
            Err(e) => {
                if case.expect_fail && PARSE_ERRORS.iter().any(|(q, _)| *q == case.expr) {
                    rejected_as_listed.push(case.expr.clone());
                } else {
                    failures.push(format!(
                        "{}:{}: {}\n    {e}",
                        case.file, case.line, case.expr
                    ));
                }
            }
        }
    }
    println!(
        "{} eval cases ({fail_cases} expect failure): {ok} parse, {} rejected as listed",
        cases.len(),
        rejected_as_listed.len()
    );
    for (q, why) in PARSE_ERRORS {
        println!("  rejected: {q}: {why}");
    }
    assert!(
        failures.is_empty(),
        "{} unexpected results:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(
        rejected_as_listed.len(),
        PARSE_ERRORS.len(),
        "every listed parse error occurs in the corpus"
    );
}

/// The seed post's queries use Grafana variables; substitute values a dashboard would.
fn substitute_grafana_variables(query: &str) -> String {
    query
        .replace("$__interval", "1m")
        .replace("$namespace", "kube-system")
        .replace("$daemonset", "calico-node")
        .replace("$kind", "ReplicaSet")
        .replace("$ns", "kube-system")
        .replace("$on", "calico-node")
}

#[test]
fn seed_queries_parse() {
    let Some(seed) = shared_path("seeds/000_1cc571ffcbe57f6e.txt", "seed queries parse") else {
        return;
    };
    let text = std::fs::read_to_string(seed).expect("seed 000 is readable");
    let mut blocks = Vec::new();
    let mut current: Option<Vec<&str>> = None;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            match current.take() {
                Some(block) => blocks.push(block.join("\n")),
                None => current = Some(Vec::new()),
            }
        } else if let Some(block) = current.as_mut() {
            block.push(line);
        }
    }
    let is_sample_output = |b: &str| {
        b.contains("...")
            || b.contains("//")
            || b.lines().any(|l| {
                let l = l.trim_end();
                // `} 0.0197` or `}   1`: a printed sample, not a query.
                l.rsplit_once('}').is_some_and(|(_, v)| {
                    let v = v.trim();
                    !v.is_empty() && v.parse::<f64>().is_ok()
                })
            })
    };
    // The post shows `or kube_pod_owner` on its own to explain the previous query.
    let fragments = ["or\nkube_pod_owner"];
    let queries: Vec<String> = blocks
        .iter()
        .filter(|b| !b.trim().is_empty() && !is_sample_output(b) && !fragments.contains(&b.trim()))
        .map(|b| substitute_grafana_variables(b))
        .collect();
    assert_eq!(
        queries.len(),
        25,
        "the seed post's query blocks: {queries:#?}"
    );
    for q in &queries {
        let expr = parse(q).unwrap_or_else(|e| panic!("seed query fails: {e}\n{q}"));
        let printed = expr.to_string();
        let again =
            parse(&printed).unwrap_or_else(|e| panic!("printed seed query fails: {e}\n{printed}"));
        assert!(
            again.same_as(&expr),
            "round trip of {q}\nprinted as {printed}"
        );
    }
    // The headline query: workload-owned pods joined with group_right.
    let headline = queries
        .iter()
        .filter(|q| q.contains("group_right(owner_kind, owner_name)"))
        .count();
    assert!(headline >= 2);
}
