//! Parallel decoding of progressive JPEGs, shrunk in the DCT domain. A progressive file is a list of
//! scans, each one serial bit stream over the whole picture (libjpeg-turbo decodes them one after the
//! other on one core, into a full coefficient buffer: 53 MB for a 13 MP photo). Here scans run at once
//! on several threads: scans of different components, or of the DC and the AC of one component, touch
//! different coefficients and are independent; a scan that refines what an earlier one decoded follows
//! it a row of MCUs behind (a pipeline: each scan publishes how many rows of MCUs it has finished, and a
//! scan waits before a row until the scans it depends on are past it). Which thread takes which scan is
//! planned from the scans' sizes (`schedule`). Each thread runs its scans in file order, so the earliest
//! unfinished scan never waits for anything unfinished: no deadlock, whatever the plan.
//!
//! Only the coefficients that the scaled IDCT reads are kept, plus a bit per coefficient saying
//! whether it is nonzero (`scans`): 40 bytes a block at 1/2 and 16 at 1/4, against libjpeg's 128.
use super::huffman::{Bits, Invalid, Table};
use super::parse::{Frame, HuffSpec, Progressive, Scan};
use super::plan::Plan;
use super::scans::{Band, Block};
use super::Rgb;
use rayon::prelude::*;
use std::sync::atomic::{AtomicBool, AtomicI16, AtomicU64, AtomicUsize, Ordering};

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
    let decoder = Decoder {
        jobs: &jobs,
        coefs: &coefs,
        mcus: (plan.mcus_x, plan.mcus_y),
        kept_mask: (0..64).filter(|&k| slot[k] != 255).map(|k| 1u64 << k).sum(),
        slot,
        failed: AtomicBool::new(false),
    };
    std::thread::scope(|s| {
        for list in &lists[1..] {
            let decoder = &decoder;
            s.spawn(move || decoder.work(list));
        }
        decoder.work(&lists[0]);
    });
    if decoder.failed.load(Ordering::Relaxed) {
        return None;
    }
    render(&jpeg.frame, &plan, &coefs)
}

/// One component's coefficients, in a grid of whole MCUs.
struct Coefficients {
    /// `per_block` coefficients for each block, in the plan's kept order (the DC first).
    kept: Vec<AtomicI16>,
    /// For each block, by zigzag position: nonzero so far.
    nonzero: Vec<AtomicU64>,
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
    fn new(frame: &Frame, h: usize, v: usize, per_block: usize) -> Option<Coefficients> {
        let (mcus_x, mcus_y) = frame.mcus();
        let blocks = mcus_x * h * mcus_y * v;
        Some(Coefficients {
            kept: zeroed(blocks * per_block, || AtomicI16::new(0))?,
            nonzero: zeroed(blocks, || AtomicU64::new(0))?,
            per_block,
            grid_w: mcus_x * h,
            h,
            v,
            cols: (frame.width * h).div_ceil(frame.max_h()).div_ceil(8),
            rows: (frame.height * v).div_ceil(frame.max_v()).div_ceil(8),
        })
    }

    fn block(&self, index: usize) -> Block<'_> {
        let at = index * self.per_block;
        Block {
            kept: &self.kept[at..at + self.per_block],
            nonzero: &self.nonzero[index],
        }
    }
}

/// `len` fresh atomics, or `None` when there is no memory for them.
fn zeroed<T>(len: usize, zero: impl Fn() -> T) -> Option<Vec<T>> {
    let mut v = Vec::new();
    v.try_reserve_exact(len).ok()?;
    v.extend((0..len).map(|_| zero()));
    Some(v)
}

/// A scan to decode: its tables (by scan component), the earlier scans it follows, and its progress.
struct Job<'a> {
    scan: &'a Scan<'a>,
    dc: Vec<Option<Table>>,
    ac: Vec<Option<Table>>,
    deps: Vec<usize>,
    /// Roughly proportional to its decoding time: bytes of data plus blocks visited.
    cost: f64,
    /// Rows of MCUs finished.
    done: AtomicUsize,
}

/// The jobs of `jpeg`'s scans in file order. A scan depends on the last earlier scan of each of its
/// components that touched the same coefficients (the DC, or the AC positions with their nonzero bits).
fn jobs<'a>(jpeg: &'a Progressive, coefs: &[Coefficients]) -> Option<Vec<Job<'a>>> {
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
        let table = |spec: &Option<HuffSpec>, ac| match spec {
            Some(s) => Table::new(s, ac).map(Some),
            None => Some(None),
        };
        jobs.push(Job {
            scan,
            dc: (scan.components.iter())
                .map(|c| table(&c.1, false))
                .collect::<Option<_>>()?,
            ac: (scan.components.iter())
                .map(|c| table(&c.2, true))
                .collect::<Option<_>>()?,
            deps,
            cost: scan.entropy.len() as f64 + blocks as f64 / 4.0,
            done: AtomicUsize::new(0),
        });
    }
    Some(jobs)
}

/// Which thread decodes which scans, each list in file order. For two threads and a usual number of
/// scans every split is tried; otherwise each scan goes to the thread where it would end first.
fn schedule(jobs: &[Job], threads: usize) -> Vec<Vec<usize>> {
    let threads = threads.clamp(1, jobs.len().max(1));
    let assign: Vec<usize> = if threads == 2 && jobs.len() <= 13 {
        // The first scan on thread 0: the other half of the splits are mirror images.
        (0..1usize << (jobs.len() - 1))
            .map(|bits| (0..jobs.len()).map(|j| (bits << 1 >> j) & 1).collect())
            .min_by(|a: &Vec<usize>, b| makespan(jobs, a, 2).total_cmp(&makespan(jobs, b, 2)))
            .unwrap_or_default()
    } else {
        let mut timeline = Timeline::new(threads, jobs.len());
        let mut assign = Vec::with_capacity(jobs.len());
        for job in jobs {
            let ends = (0..threads).map(|t| (timeline.times(job, t).1, t));
            let (_, best) = ends.fold((f64::INFINITY, 0), |a, b| if b.0 < a.0 { b } else { a });
            timeline.place(job, best);
            assign.push(best);
        }
        assign
    };
    let mut lists = vec![Vec::new(); threads];
    for (j, &t) in assign.iter().enumerate() {
        lists[t].push(j);
    }
    lists
}

/// When the last of `jobs` ends if thread `assign[j]` runs job `j`.
fn makespan(jobs: &[Job], assign: &[usize], threads: usize) -> f64 {
    let mut timeline = Timeline::new(threads, jobs.len());
    for (job, &t) in jobs.iter().zip(assign) {
        timeline.place(job, t);
    }
    timeline.free.into_iter().fold(0.0, f64::max)
}

/// A model of the threads' time, jobs placed in file order: a job starts when its thread is free and
/// the jobs it depends on have started, and cannot end before they have.
struct Timeline {
    free: Vec<f64>,
    /// Start and end of each job placed.
    placed: Vec<(f64, f64)>,
}

impl Timeline {
    fn new(threads: usize, jobs: usize) -> Timeline {
        Timeline {
            free: vec![0.0; threads],
            placed: Vec::with_capacity(jobs),
        }
    }

    fn times(&self, job: &Job, thread: usize) -> (f64, f64) {
        let deps = job.deps.iter().map(|&d| self.placed[d]);
        let start = deps.clone().map(|d| d.0).fold(self.free[thread], f64::max);
        (start, deps.map(|d| d.1).fold(start + job.cost, f64::max))
    }

    fn place(&mut self, job: &Job, thread: usize) {
        let times = self.times(job, thread);
        self.placed.push(times);
        self.free[thread] = times.1;
    }
}

/// What the threads share while decoding.
struct Decoder<'a> {
    jobs: &'a [Job<'a>],
    coefs: &'a [Coefficients],
    mcus: (usize, usize),
    slot: &'a [u8; 64],
    kept_mask: u64,
    failed: AtomicBool,
}

impl Decoder<'_> {
    /// Runs `list`'s jobs in order; after a failure (here or on another thread) stops.
    fn work(&self, list: &[usize]) {
        for &j in list {
            if self.run(&self.jobs[j]).is_err() {
                self.failed.store(true, Ordering::Relaxed);
                return;
            }
        }
    }

    /// Waits until the scans `job` depends on have finished `rows` rows of MCUs.
    fn wait(&self, job: &Job, rows: usize) -> Result<(), Invalid> {
        for &d in &job.deps {
            let mut spins = 0u32;
            while self.jobs[d].done.load(Ordering::Acquire) < rows {
                if self.failed.load(Ordering::Relaxed) {
                    return Err(Invalid);
                }
                spins += 1;
                if spins < 64 {
                    std::hint::spin_loop();
                } else {
                    std::thread::yield_now();
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
        let (mcus_x, mcus_y) = self.mcus;
        if scan.components.len() > 1 {
            // Interleaved (DC only): MCU by MCU, each component's blocks in turn.
            let mut preds = vec![0i32; scan.components.len()];
            for my in 0..mcus_y {
                self.wait(job, my + 1)?;
                for mx in 0..mcus_x {
                    for (i, c) in scan.components.iter().enumerate() {
                        let co = &self.coefs[c.0];
                        for v in 0..co.v {
                            let first = (my * co.v + v) * co.grid_w + mx * co.h;
                            for index in first..first + co.h {
                                let dc = &co.kept[index * co.per_block];
                                self.dc(&mut bits, job, i, &mut preds[i], dc)?;
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
            self.wait(job, by / co.v + 1)?;
            for index in by * co.grid_w..by * co.grid_w + co.cols {
                match (scan.ss, job.ac[0].as_ref()) {
                    (0, _) => {
                        self.dc(&mut bits, job, 0, &mut pred, &co.kept[index * co.per_block])?
                    }
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

/// Shrinks and colour-converts the decoded coefficients, a row of MCUs per task.
fn render(frame: &Frame, plan: &Plan, coefs: &[Coefficients]) -> Option<Rgb> {
    let n = plan.n;
    let (width, height) = (
        (frame.width * n).div_ceil(8),
        (frame.height * n).div_ceil(8),
    );
    let len = width * height * 3;
    let mut data = super::super::scratch::take(len).ok()?;
    data.resize(len, 0);
    let band = plan.mcu_h * width * 3;
    data.par_chunks_mut(band)
        .enumerate()
        .for_each(|(my, rows)| {
            let mut row = vec![0i16; plan.mcus_x * plan.record];
            for (mx, record) in row.chunks_exact_mut(plan.record).enumerate() {
                for b in &plan.blocks {
                    let co = &coefs[b.component];
                    let index = (my * co.v + b.y / n) * co.grid_w + mx * co.h + b.x / n;
                    let kept = co.block(index).kept;
                    for (to, from) in record[b.offset..b.offset + co.per_block]
                        .iter_mut()
                        .zip(kept)
                    {
                        *to = from.load(Ordering::Relaxed);
                    }
                }
            }
            let record = |mx: usize| (&row[mx * plan.record..], [0; 3]);
            plan.put(0..plan.mcus_x, record, rows, width);
        });
    Some(Rgb {
        width: width as u32,
        height: height as u32,
        data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_threads_split_the_usual_scans_and_keep_file_order() {
        let input = super::super::tests::jpeg(640, 480, (2, 1), true);
        let Some(super::super::parse::Jpeg::Progressive(jpeg)) = super::super::parse::parse(&input)
        else {
            panic!("not progressive")
        };
        let coefs: Vec<_> = (jpeg.frame.components.iter())
            .map(|c| Coefficients::new(&jpeg.frame, c.h, c.v, 4).unwrap())
            .collect();
        let jobs = jobs(&jpeg, &coefs).unwrap();
        assert!(jobs.len() >= 6, "{} scans", jobs.len());
        // Refinement scans follow the scans before them: the luma AC chain is one after another.
        assert!(jobs.iter().skip(1).any(|j| !j.deps.is_empty()));
        let total: f64 = jobs.iter().map(|j| j.cost).sum();
        for threads in [2, 3] {
            let lists = schedule(&jobs, threads);
            let mut all: Vec<usize> = lists.concat();
            all.sort_unstable();
            assert_eq!(all, (0..jobs.len()).collect::<Vec<_>>(), "each scan once");
            assert!(lists.iter().all(|l| l.windows(2).all(|w| w[0] < w[1])));
            let mut assign = vec![0; jobs.len()];
            for (t, list) in lists.iter().enumerate() {
                list.iter().for_each(|&j| assign[j] = t);
            }
            let span = makespan(&jobs, &assign, threads);
            assert!(span < 0.8 * total, "{threads} threads: {span} of {total}");
        }
        assert_eq!(
            schedule(&jobs, 1),
            vec![(0..jobs.len()).collect::<Vec<_>>()]
        );
    }
}
