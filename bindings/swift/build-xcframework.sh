#!/usr/bin/env bash
# Builds AuthgateFFI.xcframework next to Package.swift: the mobile crate as static libraries
# for iOS devices, the iOS simulator (arm64 + x86_64) and macOS (arm64 + x86_64), each with
# the generated header and modulemap. Needs macOS with Xcode and rustup.
# Run `make bindings` first when the Rust API changed.
set -euo pipefail
cd "$(dirname "$0")/../.."
lib=libauthgate_mobile.a
out=bindings/swift
targets=(aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios aarch64-apple-darwin x86_64-apple-darwin)

rustup target add "${targets[@]}"
for t in "${targets[@]}"; do
  cargo build --locked --release -p authgate-mobile --target "$t"
done

# One library per platform: the simulator and macOS slices are fat (arm64 + x86_64).
mkdir -p target/xcframework/ios-sim target/xcframework/macos
lipo -create target/aarch64-apple-ios-sim/release/$lib target/x86_64-apple-ios/release/$lib \
  -output target/xcframework/ios-sim/$lib
lipo -create target/aarch64-apple-darwin/release/$lib target/x86_64-apple-darwin/release/$lib \
  -output target/xcframework/macos/$lib

rm -rf "$out/AuthgateFFI.xcframework"
xcodebuild -create-xcframework \
  -library target/aarch64-apple-ios/release/$lib -headers "$out/Headers" \
  -library target/xcframework/ios-sim/$lib -headers "$out/Headers" \
  -library target/xcframework/macos/$lib -headers "$out/Headers" \
  -output "$out/AuthgateFFI.xcframework"
echo "built $out/AuthgateFFI.xcframework; add bindings/swift as a Swift package"
