#!/usr/bin/env bash
# The packages of `make dist`, tested as users get them: no cargo or rustc on PATH, the
# wheel installed into a fresh venv and the npm tarballs into a fresh folder, then the
# Python and Node suites run against those installed packages (not the checkout's build).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PYTHON=${PYTHON:-python3}
OUT=$ROOT/target/dist-test

# PATH without the Rust toolchain (rustup's ~/.cargo/bin and anything else holding cargo).
NORUST=$(echo "$PATH" | tr ':' '\n' | while read -r dir; do
	[ -n "$dir" ] && [ ! -x "$dir/cargo" ] && [ ! -x "$dir/rustc" ] && echo "$dir"
done | paste -sd: -)
if PATH=$NORUST command -v cargo >/dev/null || PATH=$NORUST command -v rustc >/dev/null; then
	echo "dist-test: cargo or rustc is still on PATH" >&2
	exit 1
fi
run() { env PATH="$NORUST" "$@"; }

wheel=$(ls dist/authgate-*-abi3-*manylinux*.whl)
npm_main=$(ls dist/authgate-[0-9]*.tgz)
npm_platform=$(ls dist/authgate-linux-x64-gnu-*.tgz)
rm -rf "$OUT" && mkdir -p "$OUT"

# Both native libraries load on glibc 2.17 and later (manylinux2014), not only on this
# machine's glibc: the newest versioned glibc symbol each needs.
newest_glibc() { objdump -T "$1" | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -V | tail -1; }
mkdir -p "$OUT/inspect"
(cd "$OUT/inspect" && python3 -m zipfile -e "$ROOT/$wheel" wheel && tar -xzf "$ROOT/$npm_platform")
for lib in "$OUT/inspect/wheel/authgate/_authgate.abi3.so" "$OUT/inspect/package/authgate.linux-x64-gnu.node"; do
	v=$(newest_glibc "$lib")
	echo "$(basename "$lib") needs glibc $v"
	[ "$(printf '%s\n2.17\n' "$v" | sort -V | tail -1)" = "2.17" ] || { echo "dist-test: $lib needs glibc $v > 2.17" >&2; exit 1; }
done

# The files a package is judged by: the licences (the binaries hold Django's BSD-licensed
# password list), the README, the project's URLs.
for f in wheel/authgate-*.dist-info/licenses/LICENSE wheel/authgate-*.dist-info/licenses/LICENSE.django \
	package/LICENSE package/LICENSE.django; do
	ls "$OUT/inspect/"$f >/dev/null || { echo "dist-test: $f is missing" >&2; exit 1; }
done
# the licences' text, not a symbolic link's target path
grep -q "Apache License" "$OUT"/inspect/wheel/authgate-*.dist-info/licenses/LICENSE
grep -q "Django Software Foundation" "$OUT"/inspect/wheel/authgate-*.dist-info/licenses/LICENSE.django
grep -q "Django Software Foundation" "$OUT/inspect/package/LICENSE.django"
grep -q '^Project-URL: Repository, https://' "$OUT"/inspect/wheel/authgate-*.dist-info/METADATA
grep -q '^Description-Content-Type: text/markdown' "$OUT"/inspect/wheel/authgate-*.dist-info/METADATA
if grep -q '^Provides-Extra' "$OUT"/inspect/wheel/authgate-*.dist-info/METADATA; then
	echo "dist-test: the wheel publishes an extra (its test tools)" >&2
	exit 1
fi
node -e 'const p = require(process.argv[1]); if (!p.repository?.url?.startsWith("git+https://")) process.exit(1)' \
	"$OUT/inspect/package/package.json"

echo "== Python: $(basename "$wheel") into a fresh venv, no Rust on PATH"
"$PYTHON" -m venv "$OUT/venv"
grep -v '^maturin' python/requirements-test.txt > "$OUT/requirements.txt"
# --only-binary: pip must take the wheel as it is, never build authgate from source.
run "$OUT/venv/bin/pip" install -q --only-binary authgate "$wheel" -r "$OUT/requirements.txt"
# Run from outside the checkout's python/ folder so only the installed package is importable.
(cd "$OUT" && run env AUTHGATE_INSTALLED=1 "$OUT/venv/bin/pytest" -q -p no:cacheprovider \
	-c "$ROOT/python/pyproject.toml" --rootdir "$ROOT/python" "$ROOT/python/tests")

# The wheel is abi3 for CPython 3.10+: the suite again on the oldest (pyenv's, on this kind
# of machine; PYTHON310 names another), with test tools pinned to versions that support it.
PYTHON310=${PYTHON310:-$(ls -d "$HOME"/.pyenv/versions/3.10.*/bin/python 2>/dev/null | sort -V | tail -1)}
if [ -n "$PYTHON310" ] && [ -x "$PYTHON310" ]; then
	echo "== Python $("$PYTHON310" -c 'import sys; print(sys.version.split()[0])'): the same wheel, the suite on the oldest Python it claims"
	"$PYTHON310" -m venv "$OUT/venv310"
	run "$OUT/venv310/bin/pip" install -q --only-binary authgate "$wheel" -r python/requirements-py310.txt
	(cd "$OUT" && run env AUTHGATE_INSTALLED=1 "$OUT/venv310/bin/pytest" -q -p no:cacheprovider \
		-c "$ROOT/python/pyproject.toml" --rootdir "$ROOT/python" "$ROOT/python/tests")
else
	echo "== SKIPPED: no CPython 3.10 on this machine (set PYTHON310): the wheel was tested on $("$PYTHON" --version) only" >&2
fi

echo "== Node: $(basename "$npm_main") and $(basename "$npm_platform") into a fresh folder, no Rust on PATH"
APP=$OUT/node-app
mkdir -p "$APP"
# The app depends on the two tarballs, plus what the test suite imports (node/package.json's
# devDependencies without the build tools).
node -e '
const dev = require(process.argv[1]).devDependencies
delete dev["@napi-rs/cli"]
const pkg = { name: "authgate-dist-test", private: true,
  dependencies: { authgate: `file:${process.argv[2]}`, "authgate-linux-x64-gnu": `file:${process.argv[3]}`, ...dev } }
console.log(JSON.stringify(pkg, null, 2))
' "$ROOT/node/package.json" "$ROOT/$npm_main" "$ROOT/$npm_platform" > "$APP/package.json"
(cd "$APP" && run npm install --no-audit --no-fund --loglevel=error)
installed=$APP/node_modules/authgate
test ! -e "$installed/authgate.linux-x64-gnu.node" # the binary comes from the platform package
test -e "$APP/node_modules/authgate-linux-x64-gnu/authgate.linux-x64-gnu.node"
# The suite inside the installed package (its tests import ../index.mjs, ../http.js …); the
# repository files it reads (vectors, key files, docs, the HTTPS test server) beside it.
cp -r node/test "$installed/test"
for f in tests core docs README.md examples target; do ln -s "$ROOT/$f" "$APP/node_modules/$f"; done
(cd "$installed" && run env AUTHGATE_INSTALLED=1 node --test test/)

echo "== Node: without its platform package, authgate names the package to install"
BARE=$OUT/node-bare
mkdir -p "$BARE" && echo '{"name": "bare", "private": true}' > "$BARE/package.json"
(cd "$BARE" && run npm install --no-audit --no-fund --loglevel=error --omit=optional "$ROOT/$npm_main")
refused() { # reason, text the message must hold
  (cd "$BARE" && node -e '
const [reason, text] = process.argv.slice(1)
try { require("authgate"); console.error(`authgate loaded (expected ${reason})`); process.exit(1) } catch (e) {
  if (e.code !== "AUTHGATE_NO_NATIVE_BINDING" || e.reason !== reason || !e.message.includes(text)) { console.error(e); process.exit(1) }
  console.log(`refused as expected (${reason}): ${e.message.slice(0, 110)}…`)
}' "$1" "$2")
}
refused not-installed "the package authgate-linux-x64-gnu is missing"
echo "== Node: a platform package that fails to load, or of another version, is named"
PLATFORM_PKG=$BARE/node_modules/authgate-linux-x64-gnu
mkdir -p "$PLATFORM_PKG"
tar xzf "$ROOT/$npm_platform" -C "$PLATFORM_PKG" --strip-components=1
cp "$PLATFORM_PKG/package.json" "$OUT/platform-package.json"
sed -i 's/"version": "[^"]*"/"version": "0.0.0-other"/' "$PLATFORM_PKG/package.json"
refused version-mismatch "found authgate-linux-x64-gnu 0.0.0-other"
cp "$OUT/platform-package.json" "$PLATFORM_PKG/package.json"
printf 'not a shared library' > "$PLATFORM_PKG/authgate.linux-x64-gnu.node"
refused failed-to-load "authgate-linux-x64-gnu is installed but failed to load: $PLATFORM_PKG/authgate.linux-x64-gnu.node"
echo "dist-test: the wheel and the npm packages pass their suites with no Rust on PATH"
