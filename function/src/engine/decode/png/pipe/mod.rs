//! PNG decoding on two threads, for the shape photos come in: 8-bit grey, grey+alpha, RGB or RGBA, not
//! interlaced, without tRNS. The `png` crate inflates and unfilters on one thread, and those two halves
//! are most of a PNG thumbnail's time. Here a second thread inflates the IDAT stream into bands of rows
//! while the caller's thread unfilters the bands already inflated. The inflater is a scoped OS thread,
//! not a rayon task, so a one-thread pool cannot deadlock it on the bands it waits for. It is fdeflate
//! (the `png` crate's inflater), with deflate's 32 KB window carried from band to band by copying it
//! ahead of each band. Paeth rows go to the kernels in `paeth`. The pixels are exactly the `png` crate's
//! (the tests decode every filter and layout with both). Every other shape, and any file that does not
//! decode cleanly here (bad CRC, stream too short or corrupt, unknown filter), gives `None` and goes to
//! the `png` crate, which words the error. (Measurements: docs/engine-notes.md.)
use crate::engine::pixels::Pixels;
use crate::engine::resize::Rows;
use crate::engine::scratch;
use fdeflate::Decompressor;
use std::ops::Range;
use std::sync::mpsc::{channel, sync_channel, Receiver, Sender, SyncSender, TryRecvError};

/// Inflated bytes per band: small, so that unfiltering starts early; large, so that handing bands over
/// is rare.
const BAND_BYTES: usize = 256 << 10;
/// Bands in flight: how far the inflater may run ahead of the unfiltering. Ten (2.9 MB, about 5 ms of
/// inflating) because the unfiltering side resamples variants in pieces of 1-3 ms while it would wait
/// (`streamed`), and the inflater must not run out of bands meanwhile: with 4, it ended 5-17 ms later
/// on the corpus PNG.
const BANDS: usize = 10;
/// Deflate's window: how far back a match may reach, so how much of the previous band each band
/// repeats for the inflater.
const WINDOW: usize = 32 << 10;

/// Decodes `input` when it has the supported shape and its decoded pixels fit in `max_bytes`. While
/// the unfiltering waits for the inflater, it calls `on_wait` with the rows decoded so far, again as
/// long as that returns true (it did a piece of work; return false when there is none).
pub fn decode(
    input: &[u8],
    max_bytes: usize,
    on_wait: &mut dyn FnMut(&Rows) -> bool,
) -> Option<Pixels> {
    decode_in_bands(input, max_bytes, BAND_BYTES, on_wait)
}

fn decode_in_bands(
    input: &[u8],
    max_bytes: usize,
    band_bytes: usize,
    on_wait: &mut dyn FnMut(&Rows) -> bool,
) -> Option<Pixels> {
    let shape = shape(input)?;
    let bpp = shape.layout.channels();
    let stride = shape.width.checked_mul(bpp)?;
    let len = stride.checked_mul(shape.height)?;
    if len > max_bytes {
        return None;
    }
    // A row is its filter byte and its samples; a band is whole rows.
    let row = stride + 1;
    let band = (band_bytes / row).max(1) * row;
    let mut data = scratch::take(len).ok()?;
    let (full_tx, full_rx) = sync_channel(BANDS);
    let (free_tx, free_rx) = channel();
    for _ in 0..BANDS {
        free_tx.send(vec![0u8; WINDOW + band]).ok()?;
    }
    let complete = std::thread::scope(|s| {
        let inflater = std::thread::Builder::new().name("png-inflate".into());
        if inflater
            .spawn_scoped(s, || {
                inflate(&shape.idat, row * shape.height, free_rx, full_tx)
            })
            .is_err()
        {
            return false; // no thread to be had: the png crate decodes it on this one
        }
        // Rows are appended, never zeroed first: `data` has room for all of them.
        let (width, layout) = (shape.width as u32, shape.layout);
        unfilter_bands(&mut data, len, stride, bpp, full_rx, free_tx, &mut |data| {
            on_wait(&Rows {
                data,
                width,
                layout,
            })
        })
    });
    complete.then(|| Pixels::new(shape.width as u32, shape.height as u32, shape.layout, data))
}

/// The inflater's side: fills free bands with the next inflated bytes and sends each on (with the range
/// of it that holds them) until `total` bytes are out. fdeflate reads its back-references out of the
/// output buffer, so every band starts with a copy of the last 32 KB before it (deflate's window) and
/// the new bytes follow. Stops early, dropping its sender, when the stream is short or corrupt or when
/// the unfiltering side has given up, and before the last band when the stream does not end right
/// after the picture with the Adler-32 of what it gave (`ends_intact`): the `png` crate, which checks it
/// too (`library`), then words the error.
fn inflate(
    idat: &[&[u8]],
    total: usize,
    free: Receiver<Vec<u8>>,
    full: SyncSender<(Vec<u8>, Range<usize>)>,
) {
    let mut z = Decompressor::new();
    let mut stream = Stream {
        chunks: idat.iter(),
        input: &[],
        last: false,
    };
    let mut left = total;
    let Ok(mut buf) = free.recv() else { return };
    let mut start = 0;
    while left > 0 {
        let end = start + (buf.len() - WINDOW).min(left);
        let mut at = start;
        while at < end {
            let Some((used, made)) = stream.read(&mut z, &mut buf[..end], at) else {
                return;
            };
            at += made;
            // No progress: the stream ended short of the picture (or, with input left, cannot go on).
            if used == 0 && made == 0 && (stream.last || z.is_done() || !stream.input.is_empty()) {
                return;
            }
        }
        left -= end - start;
        if left == 0 {
            if stream.ends_intact(&mut z, &mut buf[..end]) {
                let _ = full.send((buf, start..end));
            }
            return;
        }
        let Ok(mut next) = free.recv() else { return };
        let kept = end.min(WINDOW);
        next[..kept].copy_from_slice(&buf[end - kept..end]);
        if full.send((buf, start..end)).is_err() {
            return;
        }
        (buf, start) = (next, kept);
    }
}

/// The IDAT chunks as fdeflate reads them: the rest of the chunk under way, the chunks after it, and
/// whether it is the last.
struct Stream<'a> {
    chunks: std::slice::Iter<'a, &'a [u8]>,
    input: &'a [u8],
    last: bool,
}

impl Stream<'_> {
    /// Inflates into `out` from `at` on, moving to the next chunk when this one is used up: the input
    /// used and the bytes made, or `None` when the data is corrupt or there is no chunk left.
    fn read(&mut self, z: &mut Decompressor, out: &mut [u8], at: usize) -> Option<(usize, usize)> {
        if self.input.is_empty() && !self.last {
            self.input = self.chunks.next()?;
            self.last = self.chunks.len() == 0;
        }
        let (used, made) = z.read(self.input, out, at, self.last).ok()?;
        self.input = &self.input[used..];
        Some((used, made))
    }

    /// After the picture's last byte: reads the rest of the stream into the full `out`, true when it
    /// ends there and fdeflate found the Adler-32 right. Data beyond the picture, or a stream that
    /// never ends, is false.
    fn ends_intact(&mut self, z: &mut Decompressor, out: &mut [u8]) -> bool {
        let at = out.len();
        while !z.is_done() {
            let Some((used, made)) = self.read(z, out, at) else {
                return false;
            };
            if made > 0 || (used == 0 && !z.is_done()) {
                return false;
            }
        }
        true
    }
}

/// The caller's side: unfilters each band into `data` as it arrives and hands it back, until `data`
/// holds `len` bytes. Whenever the next band is not there yet, it gives `on_wait` the rows so far,
/// again and again until the band comes or `on_wait` has nothing to do. False when the inflater
/// stopped short or a row's filter is unknown. Owning the channels, it closes them when it returns,
/// which stops an inflater still at work.
fn unfilter_bands(
    data: &mut Vec<u8>,
    len: usize,
    stride: usize,
    bpp: usize,
    full: Receiver<(Vec<u8>, Range<usize>)>,
    free: Sender<Vec<u8>>,
    on_wait: &mut dyn FnMut(&[u8]) -> bool,
) -> bool {
    let zeros = vec![0u8; stride];
    loop {
        let band = loop {
            match full.try_recv() {
                Ok(band) => break band,
                Err(TryRecvError::Empty) if on_wait(data) => {}
                Err(TryRecvError::Empty) => match full.recv() {
                    Ok(band) => break band,
                    Err(_) => return false,
                },
                Err(TryRecvError::Disconnected) => return false,
            }
        };
        let Some(done) = unfilter_band(data, len, stride, bpp, &zeros, &band) else {
            return false;
        };
        // The inflater may already have stopped; the band is then simply dropped.
        let _ = free.send(band.0);
        if done {
            return true;
        }
    }
}

/// One band from the inflater: appends its rows to `data`, unfilters them there (`zeros` is the row
/// above the first), and says whether `data` now holds all `len` bytes (`None` for a row with an
/// unknown filter).
fn unfilter_band(
    data: &mut Vec<u8>,
    len: usize,
    stride: usize,
    bpp: usize,
    zeros: &[u8],
    (band, rows): &(Vec<u8>, Range<usize>),
) -> Option<bool> {
    let mut rows = band[rows.clone()].chunks_exact(stride + 1).peekable();
    while let Some(raw) = rows.next() {
        let at = data.len();
        if at == len {
            break;
        }
        data.extend_from_slice(&raw[1..]);
        // Two Paeth rows running are unfiltered together where there is a kernel for that.
        let pair = raw[0] == PAETH
            && paeth::two_rows(bpp)
            && at + 2 * stride <= len
            && rows.peek().is_some_and(|next| next[0] == PAETH);
        if pair {
            data.extend_from_slice(&rows.next().unwrap_or_default()[1..]);
        }
        let (done, new) = data.split_at_mut(at);
        let prev = if at == 0 { zeros } else { &done[at - stride..] };
        if pair {
            let (upper, lower) = new.split_at_mut(stride);
            paeth::pair(prev, upper, lower, bpp);
        } else if !unfilter(raw[0], prev, new, bpp) {
            return None;
        }
    }
    Some(data.len() == len)
}

/// Undoes one row's filter (PNG specification, section 9) in place: `row` holds the row as stored and
/// `prev` the row above unfiltered (zeros above the first). False for an unknown filter type.
fn unfilter(filter: u8, prev: &[u8], row: &mut [u8], bpp: usize) -> bool {
    if filter == PAETH {
        paeth::row(prev, row, bpp);
        return true;
    }
    match bpp {
        1 => unfilter_px::<1>(filter, prev, row),
        2 => unfilter_px::<2>(filter, prev, row),
        3 => unfilter_px::<3>(filter, prev, row),
        _ => unfilter_px::<4>(filter, prev, row),
    }
}

/// The Paeth filter's type byte.
const PAETH: u8 = 4;

/// `unfilter` for `B` bytes per pixel, a pixel at a time, with the neighbours carried in arrays (the form
/// of the `png` crate's own filters, and as fast: 32-35 ms for the corpus PNG's 6 MP of mostly Paeth
/// rows). LLVM vectorises the 3-byte Paeth loop as two SIMD lanes plus a scalar one joined through the
/// stack, which is why x86-64 has kernels of its own for it; an arm64 NEON kernel would be the same
/// work (the Lambda runs this loop today).
fn unfilter_px<const B: usize>(filter: u8, prev: &[u8], row: &mut [u8]) -> bool {
    match filter {
        0 => {}
        1 => sub::<B>(row),
        2 => row
            .iter_mut()
            .zip(prev)
            .for_each(|(x, b)| *x = x.wrapping_add(*b)),
        3 => average::<B>(prev, row),
        PAETH => paeth::row(prev, row, B),
        _ => return false,
    }
    true
}

fn sub<const B: usize>(row: &mut [u8]) {
    let mut a = [0u8; B];
    for x in row.chunks_exact_mut(B) {
        for i in 0..B {
            x[i] = x[i].wrapping_add(a[i]);
        }
        a = std::array::from_fn(|i| x[i]);
    }
}

fn average<const B: usize>(prev: &[u8], row: &mut [u8]) {
    let mut a = [0u8; B];
    for (x, b) in row.chunks_exact_mut(B).zip(prev.chunks_exact(B)) {
        for i in 0..B {
            x[i] = x[i].wrapping_add(((a[i] as u16 + b[i] as u16) >> 1) as u8);
        }
        a = std::array::from_fn(|i| x[i]);
    }
}

mod chunks;
mod paeth;
#[cfg(test)]
mod tests;

pub(super) use chunks::chunks;
use chunks::shape;
