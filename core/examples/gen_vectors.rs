//! Writes the generated conformance vectors into `tests/vectors/`.
#[path = "../tests/support/generate.rs"]
mod generate;

fn main() -> std::io::Result<()> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors");
    for (path, contents) in generate::generated_files() {
        std::fs::write(root.join(path), contents)?;
        println!("wrote tests/vectors/{path}");
    }
    Ok(())
}
