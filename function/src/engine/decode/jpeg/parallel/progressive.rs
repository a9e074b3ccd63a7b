//! Parallel decoding of progressive JPEGs, shrunk in the DCT domain. A progressive file is a list of
//! scans, each one serial bit stream over the whole picture (libjpeg-turbo decodes them one after the
//! other on one core, into a full coefficient buffer). Here scans run at once on several threads: scans
//! of different components, or of the DC and the AC of one component, touch different coefficients and
//! are independent; a scan that refines what an earlier one decoded follows it a row of MCUs behind (a
//! pipeline: each scan publishes how many rows of MCUs it has finished, and a scan waits before a row
//! until the scans it depends on are past it). Which thread takes which scan is planned from the scans'
//! sizes (`schedule`). Each thread runs its scans in file order, so the earliest unfinished scan never
//! waits for anything unfinished: no deadlock, whatever the plan. A thread whose scans are done shrinks
//! and colour-converts the rows of MCUs that every scan has passed, while the last scans still run.
//!
//! Only the coefficients that the scaled IDCT reads are kept, plus a bit per coefficient saying
//! whether it is nonzero (`scans`). The result is what one thread decoding the scans in order gives;
//! a file of an unsupported shape or with data that does not decode cleanly gives `None`.
use super::huffman::{Bits, Invalid, Table};
use super::parse::{Frame, Progressive, Scan};
use super::plan::{Plan, Rgb};
use super::put::put;
use super::records::Atomics;
use super::scans::{Band, Block};
use super::schedule::{schedule, Work};
use std::sync::atomic::{AtomicBool, AtomicI16, AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;

/// More scans than any encoder writes (libjpeg-turbo's own limit for untrusted files is 500).
const MAX_SCANS: usize = 100;

/// Decodes the progressive `jpeg` shrunk to `n`/8 (n = 1, 2 or 4) on `threads` threads, or `None` when
/// it is not of the supported shape or its entropy data does not decode cleanly.
pub fn decode(jpeg: &Progressive, n: usize, threads: usize) -> Option<Rgb> {
    // Encoders write 6 to 20 scans; thousands of them is a denial-of-service file, left to libjpeg-turbo.
    if jpeg.scans.len() > MAX_SCANS {
        return None;
    }
    let plan = Plan::layout(&jpeg.frame, n)?;
    let coefs = jpeg
        .frame
        .components
        .iter()
        .map(|c| Coefficients::new(&jpeg.frame, c.h, c.v, n * n))
        .collect::<Option<Vec<_>>>()?;
    let jobs = jobs(jpeg, &coefs)?;
    let lists = schedule(&jobs, threads);
    let slot = &plan.blocks.first()?.slot;
    let (width, height) = (
        (jpeg.frame.width * n).div_ceil(8),
        (jpeg.frame.height * n).div_ceil(8),
    );
    let len = width * height * 3;
    let mut data = crate::engine::scratch::take(len).ok()?;
    data.resize(len, 0);
    let decoder = Decoder {
        jobs: &jobs,
        coefs: &coefs,
        plan: &plan,
        width,
        kept_mask: (0..64).filter(|&k| slot[k] != 255).map(|k| 1u64 << k).sum(),
        slot,
        failed: AtomicBool::new(false),
        next_row: AtomicUsize::new(0),
    };
    // A row of MCUs of the output each, taken by whichever thread is free once every scan is past it.
    let bands: Vec<Mutex<&mut [u8]>> = (data.chunks_mut(plan.mcu_h * width * 3))
        .map(Mutex::new)
        .collect();
    std::thread::scope(|s| {
        for list in &lists[1..] {
            let (decoder, bands) = (&decoder, &bands);
            let thread =
                std::thread::Builder::new().spawn_scoped(s, move || decoder.work(list, bands));
            if thread.is_err() {
                // No thread to run these scans (the process is at its limit): nobody waits for them.
                decoder.failed.store(true, Ordering::Relaxed);
            }
        }
        decoder.work(&lists[0], &bands);
    });
    drop(bands);
    if decoder.failed.load(Ordering::Relaxed) {
        return None;
    }
    Some(Rgb {
        width: width as u32,
        height: height as u32,
        data,
    })
}

/// One component's coefficients, in a grid of whole MCUs.
pub(super) struct Coefficients {
    /// `per_block` coefficients for each block, in the plan's kept order (the DC first).
    kept: Atomics<AtomicI16>,
    /// For each block, by zigzag position: nonzero so far.
    nonzero: Atomics<AtomicU64>,
    per_block: usize,
    /// Blocks across the grid, and per MCU.
    grid_w: usize,
    h: usize,
    v: usize,
    /// Blocks across and down that a scan of this component alone covers (the picture, not the MCUs).
    cols: usize,
    rows: usize,
}

impl Coefficients {
    pub(super) fn new(frame: &Frame, h: usize, v: usize, per_block: usize) -> Option<Coefficients> {
        let (mcus_x, mcus_y) = frame.mcus();
        let blocks = mcus_x * h * mcus_y * v;
        Some(Coefficients {
            kept: Atomics::zeroed(blocks * per_block).ok()?,
            nonzero: Atomics::zeroed(blocks).ok()?,
            per_block,
            grid_w: mcus_x * h,
            h,
            v,
            cols: (frame.width * h).div_ceil(frame.max_h()).div_ceil(8),
            rows: (frame.height * v).div_ceil(frame.max_v()).div_ceil(8),
        })
    }

    /// Block `index`'s DC coefficient.
    fn dc(&self, index: usize) -> &AtomicI16 {
        &self.kept[index * self.per_block]
    }

    fn block(&self, index: usize) -> Block<'_> {
        let at = index * self.per_block;
        Block {
            kept: &self.kept[at..at + self.per_block],
            nonzero: &self.nonzero[index],
        }
    }
}

/// A scan to decode: its tables (by scan component), the earlier scans it follows, and its progress.
pub(super) struct Job<'a> {
    scan: &'a Scan<'a>,
    dc: Vec<Option<Table>>,
    ac: Vec<Option<Table>>,
    pub(super) deps: Vec<usize>,
    /// Roughly proportional to its decoding time: bytes of data plus blocks visited.
    pub(super) cost: f64,
    /// Rows of MCUs finished.
    done: AtomicUsize,
}

impl Work for Job<'_> {
    fn deps(&self) -> &[usize] {
        &self.deps
    }

    fn cost(&self) -> f64 {
        self.cost
    }
}

/// The jobs of `jpeg`'s scans in file order. A scan depends on the last earlier scan of each of its
/// components that touched the same coefficients (the DC, or the AC positions with their nonzero bits).
pub(super) fn jobs<'a>(jpeg: &'a Progressive, coefs: &[Coefficients]) -> Option<Vec<Job<'a>>> {
    let mut last = vec![[None; 2]; coefs.len()];
    let mut jobs = Vec::with_capacity(jpeg.scans.len());
    for (j, scan) in jpeg.scans.iter().enumerate() {
        let is_ac = (scan.ss > 0) as usize;
        let mut deps: Vec<usize> = (scan.components.iter())
            .filter_map(|c| last[c.0][is_ac])
            .collect();
        deps.sort_unstable();
        deps.dedup();
        let mut blocks = 0;
        for c in &scan.components {
            last[c.0][is_ac] = Some(j);
            blocks += coefs[c.0].cols * coefs[c.0].rows;
        }
        jobs.push(Job {
            scan,
            dc: (scan.components.iter())
                .map(|c| Table::optional(c.1.as_ref(), false))
                .collect::<Option<_>>()?,
            ac: (scan.components.iter())
                .map(|c| Table::optional(c.2.as_ref(), true))
                .collect::<Option<_>>()?,
            deps,
            cost: scan.entropy.len() as f64 + blocks as f64 / 4.0,
            done: AtomicUsize::new(0),
        });
    }
    Some(jobs)
}

/// What the threads share while decoding.
struct Decoder<'a> {
    jobs: &'a [Job<'a>],
    coefs: &'a [Coefficients],
    plan: &'a Plan,
    /// Of the output, in pixels.
    width: usize,
    slot: &'a [u8; 64],
    kept_mask: u64,
    failed: AtomicBool,
    /// The next row of MCUs to render.
    next_row: AtomicUsize,
}

impl Decoder<'_> {
    /// Runs `list`'s jobs in order, then renders rows of MCUs as the scans finish them (the thread with
    /// the last scan renders what is left behind it). After a failure, here or on another thread, stops.
    fn work(&self, list: &[usize], bands: &[Mutex<&mut [u8]>]) {
        for &j in list {
            let job = &self.jobs[j];
            if self.run(job).is_err() {
                self.failed.store(true, Ordering::Relaxed);
                return;
            }
        }
        loop {
            let my = self.next_row.fetch_add(1, Ordering::Relaxed);
            let Some(band) = bands.get(my) else { return };
            if self.wait(0..self.jobs.len(), my + 1).is_err() {
                return;
            }
            if let Ok(mut rows) = band.lock() {
                self.render(my, &mut rows);
            }
        }
    }

    /// Waits until the jobs `deps` have finished `rows` rows of MCUs. A wait is short (a scan a row
    /// ahead) or long (a scan that has not started); after a moment's spinning it sleeps, so that a
    /// waiting thread costs no CPU time.
    fn wait(&self, deps: impl IntoIterator<Item = usize>, rows: usize) -> Result<(), Invalid> {
        for d in deps {
            let mut spins = 0u32;
            while self.jobs[d].done.load(Ordering::Acquire) < rows {
                if self.failed.load(Ordering::Relaxed) {
                    return Err(Invalid);
                }
                spins += 1;
                if spins < 64 {
                    std::hint::spin_loop();
                } else {
                    std::thread::sleep(std::time::Duration::from_micros(50));
                }
            }
        }
        if self.failed.load(Ordering::Relaxed) {
            return Err(Invalid);
        }
        Ok(())
    }

    fn run(&self, job: &Job) -> Result<(), Invalid> {
        let scan = job.scan;
        let mut bits = Bits::new(&scan.entropy, 0);
        let limit = scan.entropy.len() * 8;
        let (mcus_x, mcus_y) = (self.plan.mcus_x, self.plan.mcus_y);
        if scan.components.len() > 1 {
            // Interleaved (DC only): MCU by MCU, each component's blocks in turn.
            let mut preds = vec![0i32; scan.components.len()];
            for my in 0..mcus_y {
                self.wait(job.deps.iter().copied(), my + 1)?;
                for mx in 0..mcus_x {
                    for (i, c) in scan.components.iter().enumerate() {
                        let co = &self.coefs[c.0];
                        for v in 0..co.v {
                            let first = (my * co.v + v) * co.grid_w + mx * co.h;
                            for index in first..first + co.h {
                                self.dc(&mut bits, job, i, &mut preds[i], co.dc(index))?;
                            }
                        }
                    }
                }
                if bits.position() > limit {
                    return Err(Invalid); // the data ends early
                }
                job.done.store(my + 1, Ordering::Release);
            }
            return Ok(());
        }
        let co = &self.coefs[scan.components[0].0];
        let band = Band {
            ss: scan.ss,
            se: scan.se,
            al: scan.al,
            slot: self.slot,
            kept_mask: self.kept_mask,
        };
        let (mut pred, mut eobrun) = (0, 0);
        for by in 0..co.rows {
            self.wait(job.deps.iter().copied(), by / co.v + 1)?;
            for index in by * co.grid_w..by * co.grid_w + co.cols {
                match (scan.ss, job.ac[0].as_ref()) {
                    (0, _) => self.dc(&mut bits, job, 0, &mut pred, co.dc(index))?,
                    (_, Some(ac)) if scan.ah == 0 => {
                        bits.ac_first(ac, &mut eobrun, &band, &co.block(index))?
                    }
                    (_, Some(ac)) => bits.ac_refine(ac, &mut eobrun, &band, &co.block(index))?,
                    (_, None) => return Err(Invalid),
                }
            }
            if bits.position() > limit {
                return Err(Invalid);
            }
            let rows = if by + 1 == co.rows {
                mcus_y
            } else {
                (by + 1) / co.v
            };
            job.done.store(rows, Ordering::Release);
        }
        Ok(())
    }

    /// Shrinks and colour-converts row `my` of MCUs into `rows`, its rows of the output.
    fn render(&self, my: usize, rows: &mut [u8]) {
        let (plan, n) = (self.plan, self.plan.n);
        let mut row = vec![0i16; plan.mcus_x * plan.record];
        for (mx, record) in row.chunks_exact_mut(plan.record).enumerate() {
            for b in &plan.blocks {
                let co = &self.coefs[b.component];
                let index = (my * co.v + b.y / n) * co.grid_w + mx * co.h + b.x / n;
                let kept = co.block(index).kept;
                for (to, from) in record[b.offset..].iter_mut().zip(kept) {
                    *to = from.load(Ordering::Relaxed);
                }
            }
        }
        let record = |mx: usize| (&row[mx * plan.record..], [0; 3]);
        put(plan, 0..plan.mcus_x, record, rows, self.width);
    }

    /// One block of a DC scan, for the scan's `i`-th component.
    #[inline(always)]
    fn dc(
        &self,
        bits: &mut Bits,
        job: &Job,
        i: usize,
        pred: &mut i32,
        dc: &AtomicI16,
    ) -> Result<(), Invalid> {
        let al = job.scan.al;
        if job.scan.ah > 0 {
            bits.dc_refine(dc, al);
            return Ok(());
        }
        let table = job.dc[i].as_ref().ok_or(Invalid)?;
        dc.store(bits.dc_first(table, pred, al)?, Ordering::Relaxed);
        Ok(())
    }
}
