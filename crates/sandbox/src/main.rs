//! `bearer-sandbox serve`: the provider's platform on your machine. See `--help`.

fn main() -> std::process::ExitCode {
    bearer_sandbox::cli::main()
}
