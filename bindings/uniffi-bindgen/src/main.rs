//! `uniffi-bindgen generate --library …`: writes the Kotlin and Swift sources of the
//! mobile crate. Run through `make bindings`.

fn main() {
    uniffi::uniffi_bindgen_main()
}
