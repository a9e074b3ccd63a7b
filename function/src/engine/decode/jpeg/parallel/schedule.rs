//! Which thread decodes which scans of a progressive file. Scans run in file order on each thread (see
//! `progressive` for why that cannot deadlock); the plan only chooses the threads, from a model of time
//! in which a scan costs its bytes of data plus its blocks, and one that refines another starts when
//! that one has started and ends no earlier than it.

/// What the schedule knows of a scan: the scans it depends on (earlier in the file) and its cost.
pub(super) trait Work {
    fn deps(&self) -> &[usize];
    fn cost(&self) -> f64;
}

/// Which thread decodes which scans, each list in file order. For two threads and a usual number of
/// scans every split is tried; otherwise each scan goes to the thread where it would end first.
pub(super) fn schedule(jobs: &[impl Work], threads: usize) -> Vec<Vec<usize>> {
    let threads = threads.clamp(1, jobs.len().max(1));
    let assign: Vec<usize> = if threads == 2 && jobs.len() <= 13 {
        // The first scan on thread 0: the other half of the splits are mirror images.
        (0..1usize << (jobs.len() - 1))
            .map(|bits| {
                let assign: Vec<usize> = (0..jobs.len()).map(|j| (bits << 1 >> j) & 1).collect();
                (makespan(jobs, &assign, 2), assign)
            })
            .min_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, assign)| assign)
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
fn makespan(jobs: &[impl Work], assign: &[usize], threads: usize) -> f64 {
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

    fn times(&self, job: &impl Work, thread: usize) -> (f64, f64) {
        let deps = job.deps().iter().map(|&d| self.placed[d]);
        let start = deps.clone().map(|d| d.0).fold(self.free[thread], f64::max);
        (start, deps.map(|d| d.1).fold(start + job.cost(), f64::max))
    }

    fn place(&mut self, job: &impl Work, thread: usize) {
        let times = self.times(job, thread);
        self.placed.push(times);
        self.free[thread] = times.1;
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse::{parse, Jpeg};
    use super::super::progressive::{jobs, Coefficients};
    use super::*;

    #[test]
    fn two_threads_split_the_usual_scans_and_keep_file_order() {
        let input = super::super::tests::jpeg(640, 480, (2, 1), true);
        let Some(Jpeg::Progressive(jpeg)) = parse(&input) else {
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
