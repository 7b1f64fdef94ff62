//! Hands ready nodes to workers: a ready queue fed by in-degree counts (no
//! rescanning). A node that fails takes its descendants with it; stopping
//! (--fail-fast, Ctrl-C) lets nothing new start.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard};

/// Why a node never ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    /// An upstream node failed (its index).
    UpstreamFailed(usize),
    /// The run was stopped before the node started.
    Stopped,
}

struct State {
    ready: VecDeque<usize>,
    /// Parents still to finish, per node.
    waiting: Vec<usize>,
    children: Vec<Vec<usize>>,
    /// Started, finished or skipped.
    handled: Vec<bool>,
    skipped: Vec<(usize, SkipReason)>,
    remaining: usize,
    /// Handed out and not yet finished.
    running: usize,
    stopped: bool,
}

pub struct Scheduler {
    state: Mutex<State>,
    ready_changed: Condvar,
}

impl Scheduler {
    /// `parents[i]` are the indexes of node i's parents among the scheduled nodes.
    pub fn new(parents: &[Vec<usize>]) -> Scheduler {
        let n = parents.len();
        let mut children = vec![Vec::new(); n];
        for (i, ps) in parents.iter().enumerate() {
            for &p in ps {
                children[p].push(i);
            }
        }
        let waiting: Vec<usize> = parents.iter().map(Vec::len).collect();
        let ready = (0..n).filter(|&i| waiting[i] == 0).collect();
        Scheduler {
            state: Mutex::new(State {
                ready,
                waiting,
                children,
                handled: vec![false; n],
                skipped: Vec::new(),
                remaining: n,
                running: 0,
                stopped: false,
            }),
            ready_changed: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The next node to run; waits while others are running. None when
    /// everything is done or the run was stopped.
    pub fn next(&self) -> Option<usize> {
        let mut st = self.lock();
        loop {
            if st.stopped || st.remaining == 0 {
                return None;
            }
            if let Some(i) = st.ready.pop_front() {
                st.handled[i] = true;
                st.running += 1;
                return Some(i);
            }
            if st.running == 0 {
                // Nothing can become ready: the parents given contain a
                // loop. Skip the rest rather than wait forever.
                drop(st);
                self.stop();
                return None;
            }
            st = self
                .ready_changed
                .wait(st)
                .unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Records that node `i` finished; `failed` skips its descendants.
    pub fn finish(&self, i: usize, failed: bool) {
        let mut st = self.lock();
        st.remaining = st.remaining.saturating_sub(1);
        st.running = st.running.saturating_sub(1);
        if failed {
            let mut stack = st.children[i].clone();
            while let Some(c) = stack.pop() {
                if st.handled[c] {
                    continue;
                }
                st.handled[c] = true;
                st.skipped.push((c, SkipReason::UpstreamFailed(i)));
                st.remaining = st.remaining.saturating_sub(1);
                stack.extend(st.children[c].iter().copied());
            }
        } else {
            for c in st.children[i].clone() {
                st.waiting[c] = st.waiting[c].saturating_sub(1);
                if st.waiting[c] == 0 && !st.handled[c] {
                    st.ready.push_back(c);
                }
            }
        }
        self.ready_changed.notify_all();
    }

    /// Lets nothing new start; every node not yet started is skipped.
    pub fn stop(&self) {
        let mut st = self.lock();
        st.stopped = true;
        for i in 0..st.handled.len() {
            if !st.handled[i] {
                st.handled[i] = true;
                st.skipped.push((i, SkipReason::Stopped));
            }
        }
        st.ready.clear();
        self.ready_changed.notify_all();
    }

    /// The nodes that never ran, and why.
    pub fn skipped(&self) -> Vec<(usize, SkipReason)> {
        self.lock().skipped.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_parents_first_and_skips_descendants_of_failures() {
        // 0 -> 1 -> 2, 0 -> 3
        let s = Scheduler::new(&[vec![], vec![0], vec![1], vec![0]]);
        assert_eq!(s.next(), Some(0));
        s.finish(0, false);
        let a = s.next().unwrap();
        let b = s.next().unwrap();
        let mut ab = [a, b];
        ab.sort();
        assert_eq!(ab, [1, 3]);
        s.finish(1, true);
        s.finish(3, false);
        assert_eq!(s.next(), None);
        assert_eq!(s.skipped(), vec![(2, SkipReason::UpstreamFailed(1))]);
    }

    #[test]
    fn a_loop_in_the_parents_skips_instead_of_hanging() {
        let s = Scheduler::new(&[vec![], vec![2], vec![1]]);
        assert_eq!(s.next(), Some(0));
        s.finish(0, false);
        assert_eq!(s.next(), None);
        assert_eq!(s.skipped().len(), 2);
    }

    #[test]
    fn stop_skips_everything_not_started() {
        let s = Scheduler::new(&[vec![], vec![0]]);
        assert_eq!(s.next(), Some(0));
        s.stop();
        assert_eq!(s.next(), None);
        assert_eq!(s.skipped(), vec![(1, SkipReason::Stopped)]);
    }
}
