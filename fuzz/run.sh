#!/bin/sh
# `make fuzz`: runs every fuzz target for FUZZ_SECONDS (default 300) each from its committed
# corpus (corpus/<target>.tar.gz, unpacked into corpus/<target>/, which git ignores), then
# minimises the corpus (cargo fuzz cmin) and writes the archive again — deterministically
# (sorted names, no times or owners), so an unchanged corpus gives identical bytes. Commit
# the archives. Logs go to target/fuzz-logs/.
# cargo-fuzz needs nightly features; RUSTC_BOOTSTRAP=1 lets the one stable toolchain build
# them, without sanitizers (-s none) but with debug assertions (-a): Rust's own checks
# (overflow, bounds) catch what the targets look for.
set -eu
cd "$(dirname "$0")"
seconds=${FUZZ_SECONDS:-300}
fuzz=${CARGO_FUZZ:-cargo-fuzz}
mkdir -p ../target/fuzz-logs
export RUSTC_BOOTSTRAP=1
for target in ${FUZZ_TARGETS:-jwt jwks http_signature webhook otpauth_uri base32 api_key forwarded dpop}; do
	echo "== $target: $seconds s"
	rm -rf "corpus/$target" && mkdir -p "corpus/$target"
	tar -xzf "corpus/$target.tar.gz" -C "corpus/$target"
	"$fuzz" run -O -a -s none "$target" -- -max_total_time="$seconds" -print_final_stats=1 \
		> "../target/fuzz-logs/$target.log" 2>&1 || { tail -40 "../target/fuzz-logs/$target.log"; exit 1; }
	grep -E '^#[0-9]+.*(INITED|DONE)' "../target/fuzz-logs/$target.log" || true
	"$fuzz" cmin -O -a -s none "$target" > "../target/fuzz-logs/$target.cmin.log" 2>&1
	echo "   corpus after cmin: $(ls "corpus/$target" | wc -l) inputs"
	tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "corpus/$target" -cf - . |
		gzip -n -9 > "corpus/$target.tar.gz"
	rm -rf "corpus/$target"
done
