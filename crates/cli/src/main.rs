//! The `promlite` binary: thin glue from command-line flags to the `promlite` facade.

mod args;
mod commands;
mod output;
mod progress;

use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    let cli = args::Cli::parse();
    let json = commands::wants_json(&cli.command);
    match commands::run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) if json => {
            println!("{}", commands::json_error(&err));
            ExitCode::FAILURE
        }
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
