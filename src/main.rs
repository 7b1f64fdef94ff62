use clap::Parser;

fn main() {
    no_transparent_huge_pages();
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

/// mimalloc asks Linux for transparent huge pages; each first touch of one
/// then zeroes 2 MB. kiln's memory is many small, short-lived objects, and on
/// a 10,000-model compile that zeroing took a fifth of the CPU time (and
/// varied run to run with the kernel's supply of huge pages). Plain 4 KB
/// pages cost less, and the same every run.
fn no_transparent_huge_pages() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE only sets a flag on this process.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

// kiln allocates many small strings and maps across threads; mimalloc does
// that markedly faster than the system allocator. Its `override` feature
// (Cargo.toml) also serves the bundled DuckDB's malloc: on 5,000 models
// that cut `run` by about a sixth.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
