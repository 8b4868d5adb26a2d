//! Progress bars on standard error, hidden when it is not a terminal.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

/// A progress bar of `len` steps labelled `msg` (hidden when stderr is not a TTY).
pub fn bar(len: u64, msg: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let b = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template(
        "{msg:>24} [{bar:40.cyan/blue}] {pos:>6}/{len:6} {per_sec:>10} eta {eta}",
    ) {
        b.set_style(style.progress_chars("=> "));
    }
    b.set_message(msg.to_owned());
    b
}
