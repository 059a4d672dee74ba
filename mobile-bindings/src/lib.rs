//! Binding generation helpers for govid-ffi.
