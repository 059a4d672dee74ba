//! Asking the clerk before an irreversible or far-reaching change.
//!
//! Only when a person is at the keyboard: standard input and standard error are both terminals.
//! Scripts (pipes, files, no terminal) and `--yes` proceed without a question, as before.

use std::io::{BufRead, IsTerminal, Write};

use crate::error::{CliError, CliResult};

/// Asks `question` (one line, ending in a question) on standard error and waits for `y`/`yes`.
///
/// Returns `Ok(())` without asking when `yes` is set or no one is at a terminal. Anything but
/// `y`/`yes` (including end of input) refuses with `not_confirmed`: nothing was changed.
pub(crate) fn ask(question: &str, yes: bool) -> CliResult<()> {
    if yes || !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
        return Ok(());
    }
    let mut err = std::io::stderr().lock();
    let _ = write!(err, "{question} [y/N] ");
    let _ = err.flush();
    drop(err);
    let mut answer = String::new();
    // A read error counts as "no".
    let _ = std::io::stdin().lock().read_line(&mut answer);
    if is_yes(&answer) {
        Ok(())
    } else {
        Err(CliError::new(
            "not_confirmed",
            "not confirmed: nothing was changed (answer y to go ahead, or pass --yes in scripts)",
        ))
    }
}

/// `y` or `yes`, in any case, with surrounding spaces.
fn is_yes(answer: &str) -> bool {
    matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

#[cfg(test)]
mod tests {
    use super::is_yes;

    #[test]
    fn only_y_or_yes_confirms() {
        for yes in ["y", "Y", "yes", " YES \n", "y\r\n"] {
            assert!(is_yes(yes), "{yes:?}");
        }
        for no in ["", "\n", "n", "no", "yep", "ja", "y y"] {
            assert!(!is_yes(no), "{no:?}");
        }
    }
}
