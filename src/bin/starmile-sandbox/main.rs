//! `starmile-sandbox`: a local stand-in for the Starmile Partner API, for
//! tests, examples and benchmarks. See docs/SANDBOX.md.

mod api;
mod body;
mod cli;
mod control;
mod faults;
mod oauth;
mod server;
mod settings;
mod state;
mod tls;

use std::process::ExitCode;

fn main() -> ExitCode {
    let options = match cli::parse(std::env::args().skip(1)) {
        Ok(cli::Command::Run(options)) => options,
        Ok(cli::Command::Help) => {
            print!("{}", cli::USAGE);
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("starmile-sandbox: {message}\nTry 'starmile-sandbox --help'.");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("starmile-sandbox: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(server::run(options)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("starmile-sandbox: {message}");
            ExitCode::FAILURE
        }
    }
}
