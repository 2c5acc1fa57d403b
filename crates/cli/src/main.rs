//! The `promlite` binary: thin glue from command-line flags to the `promlite` facade.

mod args;
mod commands;
mod output;
mod progress;

use std::process::ExitCode;

use clap::Parser as _;

/// The binary's allocator. Queries allocate and free many short-lived per-series buffers from
/// several threads; mimalloc's thread-local free lists serve that better than glibc's malloc.
/// Library users keep whatever allocator their program chooses.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = args::Cli::parse();
    let json = commands::wants_json(&cli.command);
    match commands::run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        // The command printed its own report and asks for this exit code.
        Err(err) if err.is::<commands::rules::ExitCode>() => ExitCode::from(
            err.downcast_ref::<commands::rules::ExitCode>()
                .map_or(1, |c| c.0),
        ),
        Err(err) if json => {
            println!("{}", commands::json_error(&err));
            ExitCode::FAILURE
        }
        Err(err) => {
            eprintln!("error: {}", commands::error_chain(&err));
            ExitCode::FAILURE
        }
    }
}
