use clap::Parser;

fn main() {
    let cli = kiln::cli::Cli::parse();
    let mut timer = kiln::output::Timer::start();
    let code = match kiln::commands::run(cli) {
        // A warning made an error by --warn-error fails the invocation.
        Ok(0) if kiln::output::promoted_count() > 0 => 1,
        Ok(code) => code,
        Err(err) => {
            kiln::output::error(&err.to_string());
            2
        }
    };
    timer.lap("whole command");
    std::process::exit(code);
}

// kiln allocates many small strings and maps across threads; mimalloc does
// that markedly faster than the system allocator. Its `override` feature
// (Cargo.toml) also serves the bundled DuckDB's malloc: on 5,000 models
// that cut `run` by about a sixth.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
