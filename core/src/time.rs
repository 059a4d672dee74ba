//! Time as the core sees it: seconds since the Unix epoch, always passed in.

/// A source of the current time. Core never reads the system clock itself; the CLI, the server and
/// the wallet pass a clock in (tests pass a fixed one).
pub trait Clock: Send + Sync {
    /// Seconds since 1970-01-01T00:00:00Z.
    fn now(&self) -> u64;
}

/// A clock that always says the same time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FixedClock(pub u64);

impl Clock for FixedClock {
    fn now(&self) -> u64 {
        self.0
    }
}
