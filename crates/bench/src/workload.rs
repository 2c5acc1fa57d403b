//! The workload: queries listed in `testdata/workload/workload.json`, each in its own `.promql`
//! file, tagged with the cAdvisor label style (`legacy` or `modern`) its data must use.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{io_err, Error, Result};

/// One workload query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkloadQuery {
    /// Short name (the file stem), unique in the workload.
    pub name: String,
    /// `legacy` (`pod_name`/`container_name`) or `modern` (`pod`/`container`).
    pub style: String,
    /// The PromQL text.
    pub query: String,
    /// What Prometheus does with it on the golden data: `success` or `error`.
    pub expect: String,
}

#[derive(Deserialize)]
struct Manifest {
    queries: Vec<ManifestQuery>,
}

#[derive(Deserialize)]
struct ManifestQuery {
    name: String,
    style: String,
    file: String,
    #[serde(default)]
    expect: String,
}

/// Loads `dir/workload.json` and the query files it lists (relative to `dir`).
pub fn load(dir: &Path) -> Result<Vec<WorkloadQuery>> {
    let manifest_path = dir.join("workload.json");
    let text = std::fs::read_to_string(&manifest_path).map_err(io_err(&manifest_path))?;
    let manifest: Manifest = serde_json::from_str(&text).map_err(|e| Error::Workload {
        path: manifest_path.clone(),
        line: e.line(),
        message: e.to_string(),
    })?;
    let mut out: Vec<WorkloadQuery> = Vec::with_capacity(manifest.queries.len());
    for entry in manifest.queries {
        if out.iter().any(|q| q.name == entry.name) {
            return Err(Error::Workload {
                path: manifest_path.clone(),
                line: 0,
                message: format!("query name {:?} appears twice", entry.name),
            });
        }
        let file: PathBuf = dir.join(&entry.file);
        let query = std::fs::read_to_string(&file).map_err(io_err(&file))?;
        let query = strip_comments(&query);
        if query.trim().is_empty() {
            return Err(Error::Workload {
                path: file,
                line: 1,
                message: "empty query".into(),
            });
        }
        out.push(WorkloadQuery {
            name: entry.name,
            style: entry.style,
            query,
            expect: entry.expect,
        });
    }
    Ok(out)
}

/// Drops whole-line `#` comments (PromQL's comment syntax) and trailing blank lines.
fn strip_comments(text: &str) -> String {
    let kept: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect();
    kept.join("\n").trim().to_string()
}

/// Keeps the queries of `style` whose name contains one of `filters` (all if `filters` is
/// empty).
pub fn select(queries: Vec<WorkloadQuery>, style: &str, filters: &[String]) -> Vec<WorkloadQuery> {
    queries
        .into_iter()
        .filter(|q| q.style == style)
        .filter(|q| filters.is_empty() || filters.iter().any(|f| q.name.contains(f.as_str())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) {
        std::fs::create_dir_all(dir.join(name).parent().unwrap()).unwrap();
        std::fs::write(dir.join(name), text).unwrap();
    }

    #[test]
    fn loads_the_manifest_and_query_files() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "workload.json",
            r#"{"comment":"x","queries":[
                {"name":"a","style":"legacy","file":"legacy/a.promql","expect":"success","description":"d"},
                {"name":"b","style":"modern","file":"modern/b.promql","expect":"error"}]}"#,
        );
        write(
            dir.path(),
            "legacy/a.promql",
            "# comment\nsum(\n  up\n)\n\n",
        );
        write(dir.path(), "modern/b.promql", "up");
        let queries = load(dir.path()).unwrap();
        assert_eq!(queries.len(), 2);
        assert_eq!(queries[0].query, "sum(\n  up\n)");
        assert_eq!(queries[1].expect, "error");
        let legacy = select(queries.clone(), "legacy", &[]);
        assert_eq!(
            legacy.iter().map(|q| q.name.as_str()).collect::<Vec<_>>(),
            ["a"]
        );
        assert!(select(queries, "modern", &["zzz".into()]).is_empty());
    }

    #[test]
    fn problems_are_named() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "workload.json",
            "{\"queries\": [\n{\"name\": 1}]}",
        );
        let err = load(dir.path()).unwrap_err();
        assert!(matches!(err, Error::Workload { line: 2, .. }), "{err}");

        write(
            dir.path(),
            "workload.json",
            r#"{"queries":[{"name":"a","style":"legacy","file":"missing.promql"}]}"#,
        );
        let err = load(dir.path()).unwrap_err();
        assert!(err.to_string().contains("missing.promql"), "{err}");

        write(
            dir.path(),
            "workload.json",
            r#"{"queries":[{"name":"a","style":"l","file":"q"},{"name":"a","style":"l","file":"q"}]}"#,
        );
        write(dir.path(), "q", "up");
        let err = load(dir.path()).unwrap_err();
        assert!(err.to_string().contains("appears twice"), "{err}");
    }

    #[test]
    fn the_repository_workload_loads() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/workload");
        let queries = load(&dir).unwrap();
        assert!(queries
            .iter()
            .any(|q| q.name == "owner_join" && q.query.contains("group_right")));
        assert!(
            queries
                .iter()
                .all(|q| q.style == "legacy" || q.style == "modern"),
            "{queries:?}"
        );
    }
}
