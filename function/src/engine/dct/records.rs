//! Where a speculative decoder keeps its records, and the progressive decoder its coefficients, (10 MB for the 48 MP mosaic): in an anonymous mapping
//! of its own, not on the heap. From the heap, glibc served the next image's records beside the kept
//! buffers and held on to the pages (peak RSS 32 -> 61 MB from the second render of the mosaic on);
//! kept between images, they pinned 11 MB through every resize. A mapping is returned whole when the
//! image is done, and asking for transparent huge pages makes its first touch cheap: 10 MB costs about
//! 0.3 ms of page faults in 2 MB pages against 4-5 ms in 4 KB ones (measured on this machine). Where the
//! kernel has no huge pages the advice is ignored and only that saving is lost.
use bytemuck::Pod;
use memmap2::{Advice, MmapMut, MmapOptions};
use std::marker::PhantomData;
use std::ops::Deref;
use std::sync::atomic::{AtomicI16, AtomicU64};

/// A run of `T` with room for a fixed most, reserved up front: untouched room costs address space, not
/// memory, so the most can be what the image could ever need and the run never grows or copies.
pub(super) struct Mapped<T> {
    map: MmapMut,
    len: usize,
    item: PhantomData<T>,
}

/// A fresh anonymous mapping of `bytes` (zeroed by the kernel), advised to use huge pages.
fn map(bytes: usize) -> std::io::Result<MmapMut> {
    let map = MmapOptions::new().len(bytes.max(1)).map_anon()?;
    // Only advice: without huge pages the mapping works the same, with more page faults.
    let _ = map.advise(Advice::HugePage);
    Ok(map)
}

impl<T: Pod> Mapped<T> {
    pub(super) fn with_room(most: usize) -> std::io::Result<Mapped<T>> {
        let map = map(most * size_of::<T>())?;
        Ok(Mapped {
            map,
            len: 0,
            item: PhantomData,
        })
    }

    fn room(&mut self) -> &mut [T] {
        bytemuck::cast_slice_mut(&mut self.map[..])
    }

    /// Appends `items`; panics past the room asked for, which callers bound.
    pub(super) fn extend_from_slice(&mut self, items: &[T]) {
        let (at, end) = (self.len, self.len + items.len());
        self.room()[at..end].copy_from_slice(items);
        self.len = end;
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
        &bytemuck::cast_slice(&self.map[..])[..self.len]
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
    #[should_panic]
    fn refuses_to_run_past_its_room() {
        let mut run = Mapped::<usize>::with_room(2).unwrap();
        run.extend_from_slice(&[1, 2, 3]);
    }
}
