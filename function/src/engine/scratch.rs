//! Buffer reuse across renders on one thread. A warm Lambda (or `render --repeat`) turns photo after
//! photo into buffers of about the same sizes: the decoded picture (9 MB for a 48 MP photo shrunk to
//! 2000x1500) and each variant's resampled pixels. A fresh multi-MB allocation is mapped by the kernel page
//! by page at first touch; perf showed those page faults at 5-10% of a render's CPU on the corpus. Keeping
//! the previous image's buffer for the next one removes them: a decoder takes the spare buffer instead of
//! allocating beside it, so the decoded picture is never held twice; what stays between images is one
//! variant buffer per worker thread (+3-4 MB peak RSS on the corpus, with the resizers' rows that were
//! kept then too, for -6 to -11% CPU on the baseline JPEGs in an A/B run; the resizers are no longer
//! kept, see `resize.rs`). glibc's own retention (`M_MMAP_THRESHOLD` and
//! `M_TRIM_THRESHOLD` raised) was measured and rejected: it also keeps libjpeg's progressive coefficient
//! arrays, and the heap then fragments (+20-25 MB peak RSS on the 13-16 MP progressive photos).
//! In the Lambda the renders run on tokio's blocking threads, which keep their buffers while they live.
use std::cell::Cell;

/// Buffers larger than this are not kept between images (a 100 MP outlier should not pin its memory).
const KEEP_AT_MOST: usize = 64 << 20;

thread_local! {
    static SPARE: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

/// An empty buffer with room for `len` bytes: this thread's spare one when it is large enough.
pub fn take(len: usize) -> Result<Vec<u8>, std::collections::TryReserveError> {
    let mut buf = SPARE.with(Cell::take);
    buf.clear();
    if buf.capacity() < len {
        // Not `reserve`: growing would copy the old contents, which nobody needs.
        buf = Vec::new();
        buf.try_reserve_exact(len)?;
    }
    Ok(buf)
}

/// Keeps `buf` for this thread's next `take`, unless the spare one is already at least as large.
pub fn give_back(buf: Vec<u8>) {
    if buf.capacity() > KEEP_AT_MOST {
        return;
    }
    SPARE.with(|spare| {
        let current = spare.take();
        spare.set(if buf.capacity() >= current.capacity() {
            buf
        } else {
            current
        });
    });
}

/// Frees this thread's spare buffer, before a decoder that cannot decode into it.
pub fn release() {
    drop(SPARE.with(Cell::take));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_returned_buffer_is_reused_empty() {
        let mut first = take(1 << 20).unwrap();
        first.extend_from_slice(&[7u8; 1000]);
        let address = first.as_ptr();
        give_back(first);
        let again = take(1 << 19).unwrap();
        assert!(again.is_empty(), "a reused buffer must come back empty");
        assert_eq!(again.as_ptr(), address, "the spare buffer was not reused");
        give_back(again);
        // A request larger than the spare gets a fresh buffer. (Not checked by address: the allocator
        // may place it where the dropped spare was, and did whenever another test freed memory beside.)
        let larger = take(4 << 20).unwrap();
        assert!(larger.is_empty() && larger.capacity() >= 4 << 20);
    }

    #[test]
    fn huge_buffers_are_not_kept() {
        let huge = take(KEEP_AT_MOST + 1).unwrap();
        give_back(huge);
        let next = take(16).unwrap();
        assert!(next.capacity() <= KEEP_AT_MOST);
    }
}
