//! The progress bar of long commands (`issue --all`, `offer --all`): on standard error, only when
//! it is a terminal, never with `--json`.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressState, ProgressStyle};

/// A bar for `total` items: `{spinner} <verb> [====>   ] 1200/20000 <unit>  850 <unit>/s  ETA 20s`,
/// or a hidden one when `quiet` (`--json`), when standard error is not a terminal, or for fewer
/// than two items.
pub(crate) fn bar(total: u64, quiet: bool, verb: &str, unit: &'static str) -> ProgressBar {
    if quiet || total < 2 || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    let template =
        format!("{{spinner}} {verb} [{{bar:30}}] {{pos}}/{{len}} {unit}  {{rate}}  ETA {{eta}}");
    if let Ok(style) = ProgressStyle::with_template(&template) {
        let style = style.with_key(
            "rate",
            move |state: &ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{:.0} {unit}/s", state.per_sec());
            },
        );
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}
