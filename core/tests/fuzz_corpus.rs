//! Replays every committed fuzzing input — the corpora in fuzz/corpus (one archive per
//! target, `<target>.tar.gz`: seeded from the vectors, grown and minimised by `make fuzz`)
//! and the inputs that once failed, in fuzz/regressions — through the fuzz targets'
//! bodies, so `make test` keeps every one of them passing without a fuzzer.

use std::io::Read;
use std::path::Path;

#[path = "../../fuzz/src/targets.rs"]
#[allow(dead_code)]
mod targets;

/// Every file of a corpus archive through `run`; the number replayed.
fn replay_archive(archive: &Path, run: fn(&[u8])) -> usize {
    let file = std::fs::File::open(archive)
        .unwrap_or_else(|e| panic!("{}: {e} (make fuzz writes it)", archive.display()));
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let mut n = 0;
    for entry in tar.entries().unwrap() {
        let mut entry = entry.unwrap();
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let name = entry.path().unwrap().display().to_string();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).unwrap();
        let outcome = std::panic::catch_unwind(|| run(&data));
        assert!(outcome.is_ok(), "{} {name} failed", archive.display());
        n += 1;
    }
    n
}

fn replay(folder: &Path, run: fn(&[u8])) -> usize {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return 0;
    };
    let mut n = 0;
    for entry in entries {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        // A panic names the file: the input is reproducible with `cargo fuzz run`.
        let outcome = std::panic::catch_unwind(|| run(&data));
        assert!(outcome.is_ok(), "{} failed", path.display());
        n += 1;
    }
    n
}

#[test]
fn every_corpus_and_regression_input_passes() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let mut total = 0;
    for (name, run) in targets::TARGETS {
        let archive = root.join("corpus").join(format!("{name}.tar.gz"));
        let seeds = replay_archive(&archive, *run);
        assert!(seeds > 0, "the {name} corpus is empty");
        total += seeds + replay(&root.join("regressions").join(name), *run);
    }
    println!("{total} fuzzing inputs replayed");
}

/// The replayed targets, the fuzz crate's targets (`fuzz_targets/*.rs`, its `[[bin]]`s)
/// and the corpus archives are one set: a target added in one place only is caught here.
#[test]
fn targets_archives_and_fuzz_binaries_agree() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let mut replayed: Vec<String> = targets::TARGETS
        .iter()
        .map(|(n, _)| n.to_string())
        .collect();
    replayed.sort();
    let names = |dir: &str, suffix: &str| {
        let mut v: Vec<String> = std::fs::read_dir(root.join(dir))
            .unwrap()
            .filter_map(|e| {
                let name = e.unwrap().file_name().into_string().unwrap();
                name.strip_suffix(suffix).map(str::to_owned)
            })
            .collect();
        v.sort();
        v
    };
    assert_eq!(names("fuzz_targets", ".rs"), replayed, "fuzz/fuzz_targets");
    assert_eq!(names("corpus", ".tar.gz"), replayed, "fuzz/corpus");
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let mut bins: Vec<String> = manifest
        .split("[[bin]]")
        .skip(1)
        .filter_map(|b| {
            let line = b.lines().find(|l| l.trim_start().starts_with("name"))?;
            Some(line.split('"').nth(1)?.to_string())
        })
        .collect();
    bins.sort();
    assert_eq!(bins, replayed, "fuzz/Cargo.toml [[bin]]");
}
