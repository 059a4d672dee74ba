//! `uniffi-bindgen` pinned to the workspace's uniffi version, so the generated Kotlin, Swift and
//! Python match the scaffolding compiled into `libgovid_ffi`. Used in library mode:
//! `uniffi-bindgen generate --library target/release/libgovid_ffi.so --language kotlin --out-dir …`.

fn main() {
    uniffi::uniffi_bindgen_main()
}
