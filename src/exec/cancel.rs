//! Stopping a run: Ctrl-C and --fail-fast both stop new nodes from starting
//! and interrupt the statements in flight; transactions roll back, so nothing
//! half-built stays behind.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, Once};

static CANCELLED: AtomicBool = AtomicBool::new(false);
/// A way to interrupt one worker's running statement.
type Interrupter = Box<dyn Fn() + Send + Sync>;

static INTERRUPTERS: Mutex<Vec<(usize, Interrupter)>> = Mutex::new(Vec::new());
static INSTALL: Once = Once::new();

/// Installs the Ctrl-C handler (once per process).
pub fn install_handler() {
    INSTALL.call_once(|| {
        // If a handler cannot be installed, Ctrl-C keeps its default behaviour.
        let _ = ctrlc::set_handler(|| {
            crate::output::warn("interrupted: stopping the run (nodes in flight are rolled back)");
            cancel();
        });
    });
}

/// Stops the run: no new nodes start, running statements are interrupted.
pub fn cancel() {
    CANCELLED.store(true, Ordering::SeqCst);
    let list = INTERRUPTERS.lock().unwrap_or_else(|e| e.into_inner());
    for (_, interrupt) in list.iter() {
        interrupt();
    }
}

pub fn is_cancelled() -> bool {
    CANCELLED.load(Ordering::SeqCst)
}

/// Clears the flag at the start of a run.
pub fn reset() {
    CANCELLED.store(false, Ordering::SeqCst);
}

/// Registers a connection's interrupter for the duration of a worker.
pub fn register(id: usize, interrupt: Interrupter) {
    INTERRUPTERS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push((id, interrupt));
}

pub fn unregister(id: usize) {
    INTERRUPTERS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .retain(|(i, _)| *i != id);
}
