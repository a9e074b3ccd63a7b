//! Buffer reuse across renders. A warm Lambda (or `render --repeat`) turns photo after photo into
//! buffers of about the same sizes: the decoded picture and each variant's resampled pixels. A fresh
//! multi-MB allocation is mapped by the kernel page by page at first touch, a measurable share of a
//! render's CPU; keeping the previous image's buffer for the next one removes those page faults. A
//! decoder takes the spare buffer instead of allocating beside it, so the decoded picture is never held
//! twice; what stays between images is the picture's buffer and the variants'. glibc's own retention
//! (raised `M_MMAP_THRESHOLD` and `M_TRIM_THRESHOLD`) was measured and rejected: it also keeps libjpeg's
//! progressive coefficient arrays, and the heap then fragments (docs/engine-notes.md).
use std::sync::Mutex;

/// Buffers larger than this are not kept between images (a 100 MP outlier should not pin its memory).
const KEEP_AT_MOST: usize = 64 << 20;
/// Buffers kept: the decoded picture and three variants (the `cover3` job) in flight at once.
const KEPT_BUFFERS: usize = 4;

/// The process's spare buffers. Process-wide, not per thread: the decoded picture is given back on
/// the thread that called `render`, a variant's buffer on whichever pool thread resampled it, and
/// the next image's variant may run on the other one. With one spare per thread, that was a fresh
/// multi-MB buffer (and its page faults) on about half the images (perf, 2 threads, mosaic48:
/// 22% of the steady page faults).
static SPARE: Pool = Pool::new();

struct Pool(Mutex<Vec<Vec<u8>>>);

impl Pool {
    const fn new() -> Pool {
        Pool(Mutex::new(Vec::new()))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Vec<u8>>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn take(&self, len: usize) -> Result<Vec<u8>, std::collections::TryReserveError> {
        let found = {
            let mut spare = self.lock();
            // The smallest that fits; if none does, the largest goes (freed below, before the new
            // allocation, so that a growing picture is never held twice).
            let fits = (0..spare.len())
                .filter(|&i| spare[i].capacity() >= len)
                .min_by_key(|&i| spare[i].capacity());
            let pick = fits.or_else(|| (0..spare.len()).max_by_key(|&i| spare[i].capacity()));
            pick.map(|i| spare.swap_remove(i))
        };
        let mut buf = found.unwrap_or_default();
        buf.clear();
        if buf.capacity() < len {
            // Not `reserve`: growing would copy the old contents, which nobody needs.
            buf = Vec::new();
            buf.try_reserve_exact(len)?;
        }
        Ok(buf)
    }

    fn give_back(&self, buf: Vec<u8>) {
        if buf.capacity() > KEEP_AT_MOST || buf.capacity() == 0 {
            return;
        }
        let mut spare = self.lock();
        spare.push(buf);
        if spare.len() > KEPT_BUFFERS {
            let smallest = (0..spare.len()).min_by_key(|&i| spare[i].capacity());
            drop(smallest.map(|i| spare.swap_remove(i)));
        }
    }

    fn release(&self) {
        drop(std::mem::take(&mut *self.lock()));
    }
}

/// An empty buffer with room for `len` bytes: a spare one when one is large enough.
pub fn take(len: usize) -> Result<Vec<u8>, std::collections::TryReserveError> {
    SPARE.take(len)
}

/// Keeps `buf` for a later `take` (the smallest of the spares goes when there are too many).
pub fn give_back(buf: Vec<u8>) {
    SPARE.give_back(buf)
}

/// Frees the spare buffers, before a decoder that cannot decode into them.
pub fn release() {
    SPARE.release()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_returned_buffer_is_reused_empty_on_any_thread() {
        let pool = Pool::new();
        let mut first = pool.take(1 << 20).unwrap();
        first.extend_from_slice(&[7u8; 1000]);
        let address = first.as_ptr();
        let shared = &pool;
        std::thread::scope(|s| {
            s.spawn(move || shared.give_back(first));
        });
        let again = pool.take(1 << 19).unwrap();
        assert!(again.is_empty(), "a reused buffer must come back empty");
        assert_eq!(again.as_ptr(), address, "the spare buffer was not reused");
    }

    #[test]
    fn the_smallest_fitting_spare_is_taken_and_a_too_small_one_is_freed() {
        let pool = Pool::new();
        let (big, small) = (pool.take(4 << 20).unwrap(), pool.take(1 << 20).unwrap());
        let small_at = small.as_ptr();
        pool.give_back(big);
        pool.give_back(small);
        let taken = pool.take(1 << 19).unwrap();
        assert_eq!(
            taken.as_ptr(),
            small_at,
            "took the larger spare for a small request"
        );
        // Nothing fits 8 MB: the 4 MB spare is freed, not kept beside the new buffer.
        let larger = pool.take(8 << 20).unwrap();
        assert!(larger.capacity() >= 8 << 20);
        assert!(pool.lock().is_empty(), "a spare that fits nothing was kept");
    }

    #[test]
    fn at_most_the_kept_count_stays_and_the_smallest_go() {
        let pool = Pool::new();
        let bufs: Vec<Vec<u8>> = (1..=KEPT_BUFFERS + 2)
            .map(|i| pool.take(i << 16).unwrap())
            .collect();
        for b in bufs {
            pool.give_back(b);
        }
        let kept: Vec<usize> = pool.lock().iter().map(|b| b.capacity() >> 16).collect();
        assert_eq!(kept.len(), KEPT_BUFFERS);
        assert!(
            kept.iter().all(|&c| c > 2),
            "a smallest buffer was kept: {kept:?}"
        );
    }

    #[test]
    fn huge_buffers_are_not_kept() {
        let pool = Pool::new();
        let huge = pool.take(KEEP_AT_MOST + 1).unwrap();
        pool.give_back(huge);
        assert!(pool.lock().is_empty());
    }
}
