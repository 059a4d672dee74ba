//! govid wallet FFI (uniffi layer over govid-core).
