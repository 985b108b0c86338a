//! The `tend` binary.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use tend::cli::{self, Cli};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // clap prints help and version on stdout with exit 0, usage errors on stderr with 2.
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                cli::EXIT_INVALID
            } else {
                cli::EXIT_OK
            });
        }
    };
    match cli::run(&cli, &mut std::io::stdin().lock()) {
        Ok(out) => {
            let mut stderr = std::io::stderr().lock();
            for w in &out.warnings {
                let _ = writeln!(stderr, "{w}");
            }
            let mut stdout = std::io::stdout().lock();
            if stdout
                .write_all(out.stdout.as_bytes())
                .and_then(|()| stdout.flush())
                .is_err()
            {
                return ExitCode::from(cli::EXIT_FAILURE);
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            let _ = writeln!(std::io::stderr().lock(), "error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
