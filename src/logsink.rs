//! Log lines reach stderr in batches. env_logger writes and flushes each record on its own, one
//! `write` system call per line, on the thread that served the request: with one worker that
//! was 14–28 % of a PostgreSQL GET's throughput at `info` (docs/performance-history.md, 57).
//! Here a record is appended to a buffer, and a thread writes what has gathered [`LINGER`] after
//! the first line of a batch came in (or the writer does, at once, past [`FULL`] bytes). An idle
//! server's flusher sleeps on a condition variable: no wake-ups. `main` calls [`flush`] before
//! the process ends and a panic hook calls [`flush_on_panic`] before the panic's message, so no
//! line is lost on an orderly exit and none comes out of order.

use std::io::{self, Write};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::Duration;

/// How long the first line of a batch may wait for company.
pub const LINGER: Duration = Duration::from_millis(20);
/// A batch this large is written at once, by the thread that filled it.
pub const FULL: usize = 64 * 1024;

struct Shared {
    buf: Mutex<Vec<u8>>,
    pending: Condvar,
    /// Where the batches go: stderr, or a test's sink.
    out: fn(&[u8]),
}

impl Shared {
    fn write_out(&self, buf: &mut Vec<u8>) {
        if !buf.is_empty() {
            (self.out)(buf);
            buf.clear();
        }
    }

    fn flush(&self) {
        self.write_out(&mut self.buf.lock().unwrap_or_else(|e| e.into_inner()));
    }
}

static SHARED: OnceLock<Arc<Shared>> = OnceLock::new();

/// The writer to give env_logger (`Target::Pipe`): appends, and leaves the writing to the
/// flusher thread.
pub struct Batched(Arc<Shared>);

impl Write for Batched {
    fn write(&mut self, line: &[u8]) -> io::Result<usize> {
        let mut buf = self.0.buf.lock().unwrap_or_else(|e| e.into_inner());
        let was_empty = buf.is_empty();
        buf.extend_from_slice(line);
        if buf.len() >= FULL {
            self.0.write_out(&mut buf);
        } else if was_empty {
            self.0.pending.notify_one();
        }
        Ok(line.len())
    }

    /// env_logger flushes after every record; the batch is written by the flusher instead.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn to_stderr(batch: &[u8]) {
    // Nowhere to report a failed write of the log itself; the lines are dropped.
    let _ = io::stderr().write_all(batch);
}

/// Starts the flusher thread and returns the writer for env_logger. Only the first call in a
/// process makes a writer that [`flush`] reaches.
pub fn stderr() -> Batched {
    batched(to_stderr)
}

fn batched(out: fn(&[u8])) -> Batched {
    let shared = Arc::new(Shared {
        buf: Mutex::new(Vec::with_capacity(FULL)),
        pending: Condvar::new(),
        out,
    });
    let _ = SHARED.set(shared.clone());
    let flusher = shared.clone();
    std::thread::Builder::new()
        .name("log-flusher".into())
        .spawn(move || loop {
            let buf = flusher.buf.lock().unwrap_or_else(|e| e.into_inner());
            let buf = flusher
                .pending
                .wait_while(buf, |b| b.is_empty())
                .unwrap_or_else(|e| e.into_inner());
            drop(buf);
            std::thread::sleep(LINGER);
            flusher.flush();
        })
        .expect("the log flusher thread starts");
    Batched(shared)
}

/// Writes the lines not yet written, waiting for the buffer if another thread holds it.
pub fn flush() {
    if let Some(shared) = SHARED.get() {
        shared.flush();
    }
}

/// [`flush`] for a panic hook: `try_lock`, so that a panic raised while this thread holds the
/// buffer cannot deadlock on it.
pub fn flush_on_panic() {
    if let Some(shared) = SHARED.get() {
        if let Ok(mut buf) = shared.buf.try_lock() {
            shared.write_out(&mut buf);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static OUT: Mutex<Vec<u8>> = Mutex::new(Vec::new());

    fn to_out(batch: &[u8]) {
        OUT.lock().unwrap().extend_from_slice(batch);
    }

    fn out_len() -> usize {
        OUT.lock().unwrap().len()
    }

    #[test]
    fn lines_come_out_whole_and_in_order_after_the_linger_when_full_and_on_flush() {
        let mut w = batched(to_out);
        w.write_all(b"one\n").unwrap();
        w.flush().unwrap();
        w.write_all(b"two\n").unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while out_len() < 8 {
            assert!(std::time::Instant::now() < deadline, "never written");
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(OUT.lock().unwrap().as_slice(), b"one\ntwo\n");

        // Past FULL bytes the writer writes the batch itself, at once.
        OUT.lock().unwrap().clear();
        w.write_all(&vec![b'x'; FULL]).unwrap();
        assert_eq!(out_len(), FULL);

        // What `main` does before the process ends: the pending lines, at once.
        OUT.lock().unwrap().clear();
        w.write_all(b"last\n").unwrap();
        w.0.flush();
        assert_eq!(OUT.lock().unwrap().as_slice(), b"last\n");
    }
}
