//! Resampling variants from the rows a decoder has finished while it decodes the rest, so that a
//! variant's resize overlaps the decode instead of following it. The PNG decoder (`decode::png::pipe`)
//! hands its rows over top to bottom; its inflater thread is the decode's critical path, and the thread
//! that unfilters behind it waits for bands part of the time, which is when it resamples here.
//!
//! Each variant is cut into a few bands of output rows. Whenever the unfiltering would wait, it
//! resamples one band whose picture rows are all in (of the variant furthest behind), on that thread
//! alone: a one-thread pool, so that fast_image_resize does not split it over the global pool and take
//! CPU from the inflater. The bands left when the decode ends are resampled from the whole picture on
//! every core. A band is the same resample of a band of the window, so the output is the whole
//! resample's, up to rounding in the last bit of a weight (the corpus PNG's outputs are identical).
//! It pays where the unfiltering waits more than the variants cost (one large variant), not otherwise
//! (docs/engine-notes.md).
use super::geometry::{self, Header, Plan, Request};
use super::{self as resize, Rows};
use crate::engine::pixels::{Layout, Pixels};
use crate::engine::scratch;
use rayon::prelude::*;
use std::sync::OnceLock;

/// Bands per variant. Each band's resample recomputes the horizontal weights (fast_image_resize
/// keeps none between calls: two `sin` per weight, 21 weights per output pixel for a 3x shrink), so
/// there are few; the last is the one left for after the decode.
const BANDS: u32 = 4;

/// The variants of one picture that are resampled as its rows arrive.
pub struct Streamed {
    plans: Vec<Plan>,
    height: u32,
    /// Built from the first rows, which say the picture's width and layout.
    jobs: Option<Vec<Job>>,
}

struct Job {
    variant: usize,
    window: [f64; 4],
    size: (u32, u32),
    /// Output rows resampled so far (`u32::MAX` once a resample failed: the variant's own resample
    /// then reports the error).
    done: u32,
    data: Vec<u8>,
    layout: Layout,
}

impl Job {
    /// The end of the band after `done`.
    fn band_end(&self) -> u32 {
        let oh = self.size.1;
        (1..=BANDS)
            .map(|b| oh * b / BANDS)
            .find(|&end| end > self.done)
            .unwrap_or(oh)
    }

    fn progress(&self) -> f64 {
        self.done as f64 / self.size.1 as f64
    }

    /// Resamples output rows `done..end` from `rows`.
    fn resample(&mut self, rows: &Rows, end: u32) {
        let bytes = self.size.0 as usize * self.layout.channels();
        let out = &mut self.data[self.done as usize * bytes..end as usize * bytes];
        self.done = match resize::resample_rows(rows, self.window, self.size, self.done..end, out) {
            Ok(()) => end,
            Err(_) => u32::MAX,
        };
    }
}

impl Streamed {
    /// For the variants `requests` of a picture whose header (size, orientation) is `header`.
    pub fn new(requests: &[Request], header: &Header) -> Streamed {
        Streamed {
            plans: requests.iter().map(|r| geometry::plan(r, header)).collect(),
            height: header.height,
            jobs: None,
        }
    }

    /// Resamples one band whose picture rows are all among `rows` (the picture's first rows), of the
    /// variant furthest behind; false when no band is ready.
    pub fn step(&mut self, rows: &Rows) -> bool {
        let height = self.height;
        let jobs = self
            .jobs
            .get_or_insert_with(|| jobs(&self.plans, rows.width, height, rows.layout));
        let stride = rows.width as usize * rows.layout.channels();
        let ready = (rows.data.len() / stride) as u32;
        let next = jobs
            .iter_mut()
            .filter(|job| {
                job.done < job.size.1
                    && resize::source_rows(job.window, job.size.1, job.band_end()) <= ready
            })
            .min_by(|a, b| a.progress().total_cmp(&b.progress()));
        let Some(job) = next else {
            return false;
        };
        let end = job.band_end();
        match solo() {
            Some(pool) => pool.install(|| job.resample(rows, end)),
            None => job.resample(rows, end),
        }
        true
    }

    /// Each variant's resampled pixels (by variant index; `None` for those not streamed), once the
    /// whole picture `src` is in: the bands still to do are resampled from it on every core.
    pub fn finish(self, src: &Pixels) -> Vec<Option<Pixels>> {
        let mut out: Vec<Option<Pixels>> = self.plans.iter().map(|_| None).collect();
        let mut jobs = self.jobs.unwrap_or_default();
        let rows = Rows {
            data: &src.data,
            width: src.width,
            layout: src.layout,
        };
        jobs.par_iter_mut().for_each(|job| {
            if job.done < job.size.1 {
                job.resample(&rows, job.size.1);
            }
        });
        for job in jobs {
            if job.done == job.size.1 {
                let (w, h) = job.size;
                out[job.variant] = Some(Pixels::new(w, h, src.layout, job.data));
            } else {
                scratch::give_back(job.data);
            }
        }
        out
    }
}

/// The variants that can be streamed: not content-aware (which looks at the whole picture first),
/// not a plain copy, and only from a picture without alpha (whose layout the decode may still change
/// when the alpha turns out opaque).
fn jobs(plans: &[Plan], width: u32, height: u32, layout: Layout) -> Vec<Job> {
    if layout.has_alpha() {
        return Vec::new();
    }
    plans
        .iter()
        .enumerate()
        .filter_map(|(variant, plan)| {
            let window = resize::inside(plan.window, width, height);
            let (ow, oh) = plan.resized;
            if plan.smart || resize::whole(window, ow, oh) {
                return None;
            }
            let len = ow as usize * oh as usize * layout.channels();
            let mut data = scratch::take(len).ok()?;
            data.resize(len, 0);
            Some(Job {
                variant,
                window,
                size: plan.resized,
                done: 0,
                data,
                layout,
            })
        })
        .collect()
}

/// The one-thread pool the bands resampled during the decode run on (`None` if no thread could be
/// had: they then run on the caller's pool).
fn solo() -> Option<&'static rayon::ThreadPool> {
    static SOLO: OnceLock<Option<rayon::ThreadPool>> = OnceLock::new();
    SOLO.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .thread_name(|_| "resample-early".into())
            .build()
            .ok()
    })
    .as_ref()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{Fit, Gravity};

    fn request(width: u32, height: u32, fit: Fit, gravity: Gravity) -> Request {
        Request {
            width: Some(width),
            height: Some(height),
            fit,
            gravity,
            background: [255, 255, 255, 255],
        }
    }

    #[test]
    fn bands_resampled_as_rows_arrive_match_the_whole_resample() {
        let (width, height) = (601u32, 397u32);
        let mut seed = 99u32;
        let data: Vec<u8> = (0..width * height * 3)
            .map(|i| {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                ((i / 3 % width + i / 3 / width) as u8).wrapping_add((seed >> 28) as u8)
            })
            .collect();
        let picture = Pixels::new(width, height, Layout::Rgb, data);
        let requests = [
            request(200, 100, Fit::Inside, Gravity::Centre),
            request(150, 150, Fit::Cover, Gravity::Top),
            request(64, 48, Fit::Fill, Gravity::Centre),
            // Content-aware: not streamed, resampled by the variant itself.
            request(100, 100, Fit::Cover, Gravity::Entropy),
        ];
        let header = Header {
            width,
            height,
            orientation: 6,
            scale: 1.0,
        };
        let mut streamed = Streamed::new(&requests, &header);
        let stride = width as usize * 3;
        let mut steps = 0;
        // Rows arrive one at a time, so that each band is resampled from as few rows as it claims to
        // need (`source_rows` keeps one row of margin; claim two fewer and this fails).
        for ready in 1..height as usize {
            let rows = Rows {
                data: &picture.data[..ready * stride],
                width,
                layout: Layout::Rgb,
            };
            while streamed.step(&rows) {
                steps += 1;
            }
        }
        assert!(steps >= 6, "only {steps} bands were resampled early");
        let early = streamed.finish(&picture);
        assert!(
            early[3].is_none(),
            "a content-aware variant is not streamed"
        );
        for (i, req) in requests.iter().enumerate().take(3) {
            let plan = geometry::plan(req, &header);
            let whole = resize::resample(&picture, &plan, req.gravity).unwrap();
            let got = early[i].as_ref().expect("streamed");
            assert_eq!((got.width, got.height), (whole.width, whole.height));
            let differ = got
                .data
                .iter()
                .zip(&whole.data)
                .filter(|(a, b)| a != b)
                .count();
            assert_eq!(differ, 0, "variant {i}: {differ} samples differ");
        }
    }
}
