//! The generated vectors in `tests/vectors/` must be exactly what the generator makes.
#[path = "support/generate.rs"]
mod generate;

#[test]
fn generated_vectors_are_up_to_date() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors");
    for (path, contents) in generate::generated_files() {
        let committed = std::fs::read_to_string(root.join(path)).unwrap_or_default();
        assert!(
            committed == contents,
            "tests/vectors/{path} is stale: run `cargo run -p authgate-core --example gen_vectors`"
        );
    }
}
