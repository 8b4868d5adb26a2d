//! Progress bars for the long phases (indicatif, on stderr; hidden when not a terminal).

use indicatif::{ProgressBar, ProgressStyle};
use vox_verifier::Progress;

/// One bar per phase.
pub struct Bars {
    quiet: bool,
    bar: Option<ProgressBar>,
}

impl Bars {
    pub fn new(quiet: bool) -> Self {
        Self { quiet, bar: None }
    }
}

pub fn bar(phase: &str, total: Option<u64>) -> ProgressBar {
    let bar = match total {
        Some(t) => ProgressBar::new(t),
        None => ProgressBar::new_spinner(),
    };
    let style = ProgressStyle::with_template(
        "{msg:28} [{elapsed_precise}] {wide_bar} {pos}/{len} ({per_sec}, eta {eta})",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.set_message(phase.to_owned());
    bar
}

impl Progress for Bars {
    fn start(&mut self, phase: &'static str, total: Option<u64>) {
        if !self.quiet {
            self.bar = Some(bar(phase, total));
        }
    }

    fn advance(&mut self, n: u64) {
        if let Some(b) = &self.bar {
            b.inc(n);
        }
    }

    fn finish(&mut self) {
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
    }
}
