//! One progress line per resource: a spinner with elapsed time for people, nothing in `--json` mode
//! (stdout then carries only the JSON document).
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use std::time::{Duration, Instant};

#[derive(Clone)]
pub struct Progress {
    bars: Option<MultiProgress>,
}

pub struct Task {
    bar: Option<ProgressBar>,
    label: String,
    started: Instant,
}

impl Progress {
    pub fn new(json: bool) -> Self {
        Progress {
            bars: (!json).then(MultiProgress::new),
        }
    }

    /// Starts a line such as `bucket acme-originals`, with a spinner when stderr is a terminal.
    pub fn start(&self, kind: &str, name: &str) -> Task {
        let label = format!("{kind:<13} {name}");
        let bar = self.bars.as_ref().map(|m| {
            let bar = m.add(ProgressBar::new_spinner());
            bar.set_style(
                ProgressStyle::with_template("{spinner:.cyan} {msg} {elapsed:.dim}")
                    .expect("template"),
            );
            bar.set_message(label.clone());
            bar.enable_steady_tick(Duration::from_millis(100));
            bar
        });
        Task {
            bar,
            label,
            started: Instant::now(),
        }
    }
}

impl Task {
    pub fn set_message(&self, what: &str) {
        if let Some(bar) = &self.bar {
            bar.set_message(format!("{} ({what})", self.label));
        }
    }

    /// Ends the line with an outcome such as "created" or "unchanged" and the elapsed time.
    pub fn finish(self, outcome: &str) {
        let line = format!(
            "✓ {}  {outcome} [{:.1}s]",
            self.label,
            self.started.elapsed().as_secs_f64()
        );
        if let Some(bar) = self.bar {
            bar.set_style(ProgressStyle::with_template("{msg}").expect("template"));
            bar.finish_with_message(line);
        }
    }

    pub fn fail(self, why: &str) {
        let line = format!(
            "✗ {}  {why} [{:.1}s]",
            self.label,
            self.started.elapsed().as_secs_f64()
        );
        if let Some(bar) = self.bar {
            bar.set_style(ProgressStyle::with_template("{msg}").expect("template"));
            bar.abandon_with_message(line);
        }
    }
}
