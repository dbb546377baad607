//! `bearer`: a valid access token, API calls with it attached, and the quota budget, for an
//! OAuth 2.0 API of an API key + secret developer platform. See the README.

mod cli;
mod clock;
mod commands;
mod exit;
mod hold;
mod settings;

use clap::Parser as _;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match commands::run(cli) {
        Ok(()) => ExitCode::from(exit::SUCCESS),
        Err(failure) => {
            eprintln!("bearer: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}
