//! Where a speculative decoder keeps its records, and the progressive decoder its coefficients: in
//! anonymous mappings of their own, not on the heap, where glibc held on to their pages between images
//! (docs/engine-notes.md has the figures).
//! - The progressive decoder's coefficients must start at zero, so each image gets a fresh mapping,
//!   returned whole when the image is done; it asks for transparent huge pages, which make the first
//!   touch cheap.
//! - The speculative records are written before they are read, so their mappings are kept for the next
//!   image (`SPARE`), in 4 KB pages: only the pages a decoder touched stay resident, and the next image
//!   touches them without a page fault.
use bytemuck::Pod;
use memmap2::{Advice, MmapMut, MmapOptions};
use std::marker::PhantomData;
use std::ops::Deref;
use std::sync::atomic::{AtomicI16, AtomicU64};
use std::sync::Mutex;

/// A run of `T` with room for a fixed most, reserved up front: untouched room costs address space, not
/// memory, so the most can be what the image could ever need and the run never grows or copies.
pub(super) struct Mapped<T> {
    /// Always `Some` until dropped, when the mapping goes back to `SPARE`.
    map: Option<MmapMut>,
    /// Items asked for (a spare mapping may be larger), and items held.
    room: usize,
    len: usize,
    item: PhantomData<T>,
}

/// A fresh anonymous mapping of `bytes` (zeroed by the kernel), advised to use huge pages (for `Atomics`).
fn map(bytes: usize) -> std::io::Result<MmapMut> {
    let map = fresh(bytes)?;
    // Only advice: without huge pages the mapping works the same, with more page faults.
    let _ = map.advise(Advice::HugePage);
    Ok(map)
}

/// Record mappings of finished images, for the next: a few per speculative decoder, of any size up to
/// `SPARE_LARGEST` (a 100 MP outlier's records are not kept).
static SPARE: Mutex<Vec<MmapMut>> = Mutex::new(Vec::new());
const SPARE_MOST: usize = 16;
const SPARE_LARGEST: usize = 64 << 20;

/// The smallest spare mapping of at least `bytes`, or a fresh one (in 4 KB pages).
fn spare_or_fresh(bytes: usize) -> std::io::Result<MmapMut> {
    let mut spare = SPARE.lock().unwrap_or_else(|e| e.into_inner());
    let fits = (0..spare.len())
        .filter(|&i| spare[i].len() >= bytes)
        .min_by_key(|&i| spare[i].len());
    match fits {
        Some(i) => Ok(spare.swap_remove(i)),
        None => fresh(bytes),
    }
}

/// A fresh anonymous mapping of `bytes`, in whatever pages the kernel picks.
fn fresh(bytes: usize) -> std::io::Result<MmapMut> {
    MmapOptions::new().len(bytes.max(1)).map_anon()
}

impl<T> Drop for Mapped<T> {
    fn drop(&mut self) {
        let Some(map) = self.map.take().filter(|m| m.len() <= SPARE_LARGEST) else {
            return;
        };
        let mut spare = SPARE.lock().unwrap_or_else(|e| e.into_inner());
        spare.push(map);
        if spare.len() > SPARE_MOST {
            // The smallest go first: a larger mapping serves any image a smaller one would.
            spare.sort_by_key(|m| std::cmp::Reverse(m.len()));
            spare.truncate(SPARE_MOST);
        }
    }
}

impl<T: Pod> Mapped<T> {
    pub(super) fn with_room(most: usize) -> std::io::Result<Mapped<T>> {
        let map = spare_or_fresh(most * size_of::<T>())?;
        Ok(Mapped {
            map: Some(map),
            room: most,
            len: 0,
            item: PhantomData,
        })
    }

    /// The first `items` items' bytes. A spare mapping may be longer, and need not be a whole number of
    /// `T`s (it may have held another type), so it is only ever cast up to what was asked for.
    fn bytes(&self, items: usize) -> &[u8] {
        &self.map.as_deref().unwrap_or_default()[..items * size_of::<T>()]
    }

    fn room(&mut self) -> &mut [T] {
        let bytes = self.room * size_of::<T>();
        bytemuck::cast_slice_mut(&mut self.map.as_deref_mut().unwrap_or_default()[..bytes])
    }

    /// Appends `items`; panics past the room asked for, which callers bound.
    pub(super) fn extend_from_slice(&mut self, items: &[T]) {
        let (at, end) = (self.len, self.len + items.len());
        self.room()[at..end].copy_from_slice(items);
        self.len = end;
    }

    /// The `items` items of room after those held, to be written and then kept with `commit`.
    pub(super) fn next_mut(&mut self, items: usize) -> &mut [T] {
        let at = self.len;
        &mut self.room()[at..at + items]
    }

    /// Keeps the `items` items written through `next_mut`.
    pub(super) fn commit(&mut self, items: usize) {
        assert!(self.len + items <= self.room, "past the room asked for");
        self.len += items;
    }

    pub(super) fn push(&mut self, item: T) {
        self.extend_from_slice(&[item]);
    }

    pub(super) fn clear(&mut self) {
        self.len = 0;
    }
}

impl<T: Pod> Deref for Mapped<T> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        bytemuck::cast_slice(self.bytes(self.len))
    }
}

/// Atomic integers whose all-zero bytes are the value zero.
///
/// # Safety
/// Implementors must have no invalid bit patterns and an alignment of at most a page.
pub(super) unsafe trait ZeroedAtomic {}
// SAFETY: atomic integers have the size, alignment and bit validity of their integer.
unsafe impl ZeroedAtomic for AtomicI16 {}
// SAFETY: as above.
unsafe impl ZeroedAtomic for AtomicU64 {}

/// `len` atomics, all zero, shared between the threads of one decode (the progressive decoder's
/// coefficients: 16 MB for a 13 MP photo at 1/2). From the heap, their zeroing and page faults took
/// 4.4 ms of a 44 ms decode; here the kernel's zeroed huge pages take a fraction of that.
pub(super) struct Atomics<T> {
    map: MmapMut,
    len: usize,
    item: PhantomData<T>,
}

impl<T: ZeroedAtomic> Atomics<T> {
    pub(super) fn zeroed(len: usize) -> std::io::Result<Atomics<T>> {
        Ok(Atomics {
            map: map(len * size_of::<T>())?,
            len,
            item: PhantomData,
        })
    }
}

impl<T: ZeroedAtomic> Deref for Atomics<T> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        // SAFETY: the mapping is page-aligned and holds `len` values of T, zeroed by the kernel, which
        // `ZeroedAtomic` makes valid; it is only ever reached through this shared slice, whose atomics
        // are what allow writing through it; and the slice borrows the mapping, which outlives it.
        unsafe { std::slice::from_raw_parts(self.map.as_ptr().cast::<T>(), self.len) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::Ordering::Relaxed;

    #[test]
    fn holds_what_was_pushed_up_to_its_room() {
        let mut run = Mapped::<i16>::with_room(1 << 20).unwrap();
        assert!(run.is_empty());
        run.push(-3);
        run.extend_from_slice(&[1, 2, i16::MAX]);
        assert_eq!(&run[..], &[-3, 1, 2, i16::MAX]);
        run.clear();
        run.extend_from_slice(&vec![5; 1 << 20]);
        assert_eq!(run.len(), 1 << 20);
        assert_eq!(run[(1 << 20) - 1], 5);
    }

    #[test]
    fn items_written_in_place_are_held_once_committed() {
        let mut run = Mapped::<i16>::with_room(8).unwrap();
        run.push(1);
        run.next_mut(3).copy_from_slice(&[2, 3, 4]);
        assert_eq!(&run[..], &[1], "written but not committed");
        run.commit(3);
        assert_eq!(&run[..], &[1, 2, 3, 4]);
        // Rewritten before the commit: only the last writing counts.
        run.next_mut(2).copy_from_slice(&[9, 9]);
        run.next_mut(2).copy_from_slice(&[5, 6]);
        run.commit(2);
        assert_eq!(&run[..], &[1, 2, 3, 4, 5, 6]);
        let past = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run.commit(3)));
        assert!(past.is_err(), "committed past the room");
    }

    #[test]
    fn atomics_start_at_zero_and_hold_what_is_stored() {
        let a = Atomics::<AtomicU64>::zeroed(3 << 18).unwrap();
        assert!(a.iter().all(|v| v.load(Relaxed) == 0));
        a[5].store(u64::MAX, Relaxed);
        a[(3 << 18) - 1].store(7, Relaxed);
        assert_eq!((a[5].load(Relaxed), a[6].load(Relaxed)), (u64::MAX, 0));
        assert_eq!(a[(3 << 18) - 1].load(Relaxed), 7);
        assert_eq!(Atomics::<AtomicI16>::zeroed(0).unwrap().len(), 0);
    }

    #[test]
    fn a_kept_mapping_serves_the_next_run() {
        let mut first = Mapped::<u64>::with_room(1 << 16).unwrap();
        first.extend_from_slice(&vec![7; 1 << 16]);
        let at = first.bytes(0).as_ptr();
        drop(first);
        // Tests run on several threads: another test's decoder may hold the spare for a while.
        let reused = (0..200).any(|_| {
            let next = Mapped::<u64>::with_room(1 << 15).unwrap();
            let same = next.bytes(0).as_ptr() == at && next.is_empty();
            if !same {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            same
        });
        assert!(reused);
    }

    #[test]
    fn a_kept_mapping_of_another_type_and_odd_length_serves_too() {
        // 10 bytes of i16 are not a whole number of u64s; the next run asks for one u64 and is likely
        // to get them (the smallest spare that fits). Either way it must hold what is pushed.
        drop(Mapped::<i16>::with_room(5).unwrap());
        let mut next = Mapped::<u64>::with_room(1).unwrap();
        next.push(u64::MAX);
        assert_eq!(&next[..], &[u64::MAX]);
    }

    #[test]
    #[should_panic]
    fn refuses_to_run_past_its_room() {
        let mut run = Mapped::<usize>::with_room(2).unwrap();
        run.extend_from_slice(&[1, 2, 3]);
    }
}
