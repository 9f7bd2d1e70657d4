//! Strips of a page compressed on several threads, written in order.
//!
//! JPEG strips (restart intervals) and TIFF strips are independent pieces of work whose
//! outputs are concatenated in page order. [`ordered`] runs them on `threads` workers while the
//! calling thread keeps reading the next strips from the page's source and writes finished
//! ones, so reading (which waits for the scanner) overlaps compression, and a page uses every
//! core. At most `threads + 1` strips are in flight, which bounds memory; their buffers are
//! reused from strip to strip, so a page allocates a few strips' worth of memory once.

use crate::EncodeError;
use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{mpsc, Mutex};

/// One strip's input and output buffers, recycled between strips.
#[derive(Default)]
pub(crate) struct Job<I, O> {
    pub input: I,
    pub output: O,
}

/// Runs every strip through `work` and hands the outputs to `consume` in strip order.
///
/// `produce` fills the next strip's input (a recycled buffer) and says whether there was one;
/// `work` turns an input into its output (on a worker thread); `consume` writes an output.
/// With one thread everything runs on the caller's thread. The first error from `produce` or
/// `consume` ends the run (strips in flight are dropped); a panicking `work` gives
/// [`EncodeError::WorkerLost`].
pub(crate) fn ordered<I, O>(
    threads: usize,
    mut produce: impl FnMut(&mut I) -> Result<bool, EncodeError>,
    work: impl Fn(&I, &mut O) + Sync,
    mut consume: impl FnMut(&O) -> Result<(), EncodeError>,
) -> Result<(), EncodeError>
where
    I: Default + Send,
    O: Default + Send,
{
    if threads <= 1 {
        let mut job = Job::<I, O>::default();
        while produce(&mut job.input)? {
            work(&job.input, &mut job.output);
            consume(&job.output)?;
        }
        return Ok(());
    }
    type Seq<I, O> = (u64, Box<Job<I, O>>);
    let (job_tx, job_rx) = mpsc::channel::<Seq<I, O>>();
    let job_rx = Mutex::new(job_rx);
    let (done_tx, done_rx) = mpsc::channel::<(u64, Option<Box<Job<I, O>>>)>();
    std::thread::scope(|scope| {
        // Moved in, so that leaving the scope closes the job channel and idle workers end.
        let job_tx = job_tx;
        for _ in 0..threads {
            let (job_rx, done_tx, work) = (&job_rx, done_tx.clone(), &work);
            scope.spawn(move || loop {
                // The lock is held only while taking a job, not while working on it.
                let next = job_rx.lock().unwrap_or_else(|p| p.into_inner()).recv();
                let Ok((seq, mut job)) = next else { return };
                let ok = catch_unwind(AssertUnwindSafe(|| {
                    let Job { input, output } = &mut *job;
                    work(input, output)
                }))
                .is_ok();
                if done_tx.send((seq, ok.then_some(job))).is_err() {
                    return;
                }
            });
        }
        drop(done_tx);
        // Enough strips in flight that every worker has one while a finished strip waits to
        // be written.
        let max_in_flight = threads + 1;
        let mut free: Vec<Box<Job<I, O>>> = Vec::new();
        let mut finished: BTreeMap<u64, Box<Job<I, O>>> = BTreeMap::new();
        let (mut next_in, mut next_out, mut in_flight) = (0u64, 0u64, 0usize);
        let mut input_done = false;
        loop {
            while !input_done && in_flight < max_in_flight {
                let mut job = free.pop().unwrap_or_default();
                if produce(&mut job.input)? {
                    job_tx
                        .send((next_in, job))
                        .map_err(|_| EncodeError::WorkerLost)?;
                    next_in += 1;
                    in_flight += 1;
                } else {
                    input_done = true;
                }
            }
            if in_flight == 0 {
                return Ok(());
            }
            match done_rx.recv() {
                Ok((seq, Some(job))) => {
                    finished.insert(seq, job);
                }
                Ok((_, None)) | Err(_) => return Err(EncodeError::WorkerLost),
            }
            while let Some(job) = finished.remove(&next_out) {
                consume(&job.output)?;
                next_out += 1;
                in_flight -= 1;
                free.push(job);
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(threads: usize, n: u32) -> Result<Vec<u32>, EncodeError> {
        let mut next = 0u32;
        let mut out = Vec::new();
        ordered(
            threads,
            |i: &mut u32| {
                next += 1;
                *i = next;
                Ok(next <= n)
            },
            |i: &u32, o: &mut u32| {
                // Uneven work, so strips finish out of order.
                std::thread::sleep(std::time::Duration::from_micros(
                    ((*i * 7) % 5) as u64 * 200,
                ));
                *o = i * 10;
            },
            |o: &u32| {
                out.push(*o);
                Ok(())
            },
        )?;
        Ok(out)
    }

    #[test]
    fn outputs_come_in_order() {
        for threads in [1, 2, 3, 8] {
            let want: Vec<u32> = (1..=50).map(|i| i * 10).collect();
            assert_eq!(run(threads, 50).unwrap(), want, "{threads} threads");
            assert_eq!(run(threads, 0).unwrap(), Vec::<u32>::new());
        }
    }

    #[test]
    fn errors_and_panics_end_the_run() {
        for threads in [1, 2] {
            let mut n = 0;
            let r = ordered(
                threads,
                |i: &mut u32| {
                    n += 1;
                    *i = n;
                    if n == 5 {
                        Err(EncodeError::EmptyPage)
                    } else {
                        Ok(true)
                    }
                },
                |_: &u32, _: &mut u32| {},
                |_: &u32| Ok(()),
            );
            assert!(matches!(r, Err(EncodeError::EmptyPage)));
            let r = ordered(
                threads,
                |_: &mut u32| Ok(true),
                |_: &u32, _: &mut u32| {},
                |_: &u32| Err(EncodeError::WorkerLost),
            );
            assert!(matches!(r, Err(EncodeError::WorkerLost)));
        }
        let mut n = 0;
        let r = ordered(
            2,
            |i: &mut u32| {
                n += 1;
                *i = n;
                Ok(n < 10)
            },
            |i: &u32, _: &mut u32| assert!(*i != 3, "boom"),
            |_: &u32| Ok(()),
        );
        assert!(matches!(r, Err(EncodeError::WorkerLost)));
    }
}
