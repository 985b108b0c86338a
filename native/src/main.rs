//! The `tend` binary.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use tend::cli::{self, Cli, Command, ConfigCommand, Failure, init, replay, run, status};
use tend::config::Config;

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
    // The pure computations need no runtime; reading a service from the chains does.
    if let Command::Funding(f) = &cli.command
        && !matches!(f, cli::FundingCommand::Olas(a) if a.service.is_some())
    {
        return funding(f);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "error: cannot start the runtime: {e}");
            return ExitCode::from(cli::EXIT_FAILURE);
        }
    };
    match runtime.block_on(dispatch(&cli.command)) {
        Ok(out) => {
            let mut stdout = std::io::stdout().lock();
            if stdout
                .write_all(out.as_bytes())
                .and_then(|()| stdout.flush())
                .is_err()
            {
                return ExitCode::from(cli::EXIT_FAILURE);
            }
            ExitCode::SUCCESS
        }
        Err(f) => {
            let _ = writeln!(std::io::stderr().lock(), "error: {}", f.message);
            ExitCode::from(f.code)
        }
    }
}

async fn dispatch(command: &Command) -> Result<String, Failure> {
    match command {
        Command::Run(args) => {
            run::init_logs(args.log_format);
            let config = Config::load(&args.config.config)?;
            run::run(config, args.record.as_deref()).await?;
            Ok(String::new())
        }
        Command::Demo(args) => {
            run::init_logs(args.log_format);
            cli::demo::run(args).await?;
            Ok(String::new())
        }
        Command::DemoAgent(args) => {
            cli::demo::agent(args).await?;
            Ok(String::new())
        }
        Command::Init(args) => init::init(args),
        Command::Replay(args) => replay::replay(args),
        Command::Config(ConfigCommand::Check(args)) => init::check(&args.config).await,
        Command::Status(args) => status::status(&Config::load(&args.config.config)?, args).await,
        Command::Nonces(args) => status::nonces(&Config::load(&args.config.config)?, args).await,
        Command::Fund(args) => status::fund(&Config::load(&args.client.config.config)?, args).await,
        Command::Stop(args) => status::stop(&Config::load(&args.config.config)?).await,
        Command::Funding(cli::FundingCommand::Olas(args)) => {
            cli::funding::olas_from_chain(args).await
        }
        Command::Funding(_) => Ok(String::new()),
        Command::Olas(cli::OlasCommand::Status(args)) => cli::olas::status(args).await,
        Command::Olas(cli::OlasCommand::Deploy(args)) => {
            cli::olas_act::act(args, cli::olas_act::Action::Deploy).await
        }
        Command::Olas(cli::OlasCommand::Stake(args)) => {
            cli::olas_act::act(args, cli::olas_act::Action::Stake).await
        }
        Command::Olas(cli::OlasCommand::Unstake(args)) => {
            cli::olas_act::act(args, cli::olas_act::Action::Unstake).await
        }
        Command::Olas(cli::OlasCommand::Claim(args)) => {
            cli::olas_act::act(args, cli::olas_act::Action::Claim).await
        }
        Command::Olas(cli::OlasCommand::Terminate(args)) => {
            cli::olas_act::act(args, cli::olas_act::Action::Terminate).await
        }
    }
}

fn funding(command: &cli::FundingCommand) -> ExitCode {
    match cli::funding::run(command, &mut std::io::stdin().lock()) {
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
