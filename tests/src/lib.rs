//! Shared helpers for govid end-to-end tests.
