use clap::Parser;

fn main() {
    let cli = kiln::cli::Cli::parse();
    let code = match kiln::commands::run(cli) {
        Ok(code) => code,
        Err(err) => {
            kiln::output::error(&err.to_string());
            2
        }
    };
    std::process::exit(code);
}

// kiln allocates many small strings and maps across threads; mimalloc does
// that markedly faster than the system allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
