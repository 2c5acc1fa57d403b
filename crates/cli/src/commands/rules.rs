//! `promlite test rules` and `promlite check rules`: rule unit tests and rule file checks
//! with promtool's output and exit codes (0 success, 1 failure).

use std::path::PathBuf;

use clap::{Args, Subcommand};
use promlite_rules::file::{duplicate_rules, read_rule_file};
use promlite_rules::Error as RulesError;

/// `promlite test ...`.
#[derive(Debug, Args)]
pub struct TestArgs {
    /// What to test.
    #[command(subcommand)]
    pub what: TestCommand,
}

/// The `test` subcommands.
#[derive(Debug, Subcommand)]
pub enum TestCommand {
    /// Unit-test rule files (`promtool test rules` file format and verdicts).
    Rules {
        /// Test files.
        #[arg(value_name = "TEST_FILE", required = true)]
        files: Vec<PathBuf>,
    },
}

/// `promlite check ...`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// What to check.
    #[command(subcommand)]
    pub what: CheckCommand,
}

/// The `check` subcommands.
#[derive(Debug, Subcommand)]
pub enum CheckCommand {
    /// Check rule files for syntax and validity (`promtool check rules`).
    Rules {
        /// Rule files.
        #[arg(value_name = "RULE_FILE", required = true)]
        files: Vec<PathBuf>,
    },
}

/// The process exit code a command asks for without an error message of its own (the
/// command already printed its report).
#[derive(Debug)]
pub struct ExitCode(pub u8);

impl std::fmt::Display for ExitCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit code {}", self.0)
    }
}

impl std::error::Error for ExitCode {}

/// Runs `promlite test ...`.
pub fn test(args: &TestArgs) -> anyhow::Result<()> {
    match &args.what {
        TestCommand::Rules { files } => {
            let code = promlite_rules::unittest::run_files(
                files,
                &promlite::EngineOptions::default(),
                &mut std::io::stdout(),
                &mut std::io::stderr(),
            );
            exit_with(code)
        }
    }
}

fn exit_with(code: i32) -> anyhow::Result<()> {
    if code == 0 {
        Ok(())
    } else {
        Err(ExitCode(u8::try_from(code).unwrap_or(1)).into())
    }
}

/// Runs `promlite check ...`.
pub fn check(args: &CheckArgs) -> anyhow::Result<()> {
    match &args.what {
        CheckCommand::Rules { files } => {
            let mut failed = false;
            for path in files {
                println!("Checking {}", path.display());
                match read_rule_file(path) {
                    Ok(file) => {
                        let n_rules: usize = file.groups.iter().map(|g| g.rules.len()).sum();
                        let duplicates = duplicate_rules(&file);
                        if duplicates.is_empty() {
                            println!("  SUCCESS: {n_rules} rules found");
                        } else {
                            // promtool's default lint: reported as a failure, exit code 0.
                            let mut message =
                                format!("lint error {} duplicate rule(s) found.\n", duplicates.len());
                            for d in &duplicates {
                                message.push_str(&format!("Metric: {}\nLabel(s):\n", d.name));
                                for (k, v) in &d.labels {
                                    message.push_str(&format!("\t{k}: {v}\n"));
                                }
                            }
                            message.push_str("Might cause inconsistency while recording expressions");
                            eprintln!("  FAILED:\n{message}");
                        }
                    }
                    Err(RulesError::InvalidRules { path, errors }) => {
                        eprintln!("  FAILED:");
                        for e in &errors {
                            eprintln!("{path}: {e}");
                        }
                        failed = true;
                    }
                    Err(other) => {
                        eprintln!("  FAILED:");
                        eprintln!("{other}");
                        failed = true;
                    }
                }
                println!();
            }
            exit_with(i32::from(failed))
        }
    }
}
