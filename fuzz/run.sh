#!/bin/sh
# `make fuzz`: runs every fuzz target for FUZZ_SECONDS (default 300) each, then minimises its
# corpus (cargo fuzz cmin) so what is committed stays small. Logs go to target/fuzz-logs/.
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
	"$fuzz" run -O -a -s none "$target" -- -max_total_time="$seconds" -print_final_stats=1 \
		> "../target/fuzz-logs/$target.log" 2>&1 || { tail -40 "../target/fuzz-logs/$target.log"; exit 1; }
	grep -E '^#[0-9]+.*(INITED|DONE)' "../target/fuzz-logs/$target.log" || true
	"$fuzz" cmin -O -a -s none "$target" > "../target/fuzz-logs/$target.cmin.log" 2>&1
	echo "   corpus after cmin: $(ls "corpus/$target" | wc -l) inputs"
done
