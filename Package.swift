// swift-tools-version:5.9
// authgate for iOS and macOS apps through Swift Package Manager:
//
//   .package(url: "https://github.com/authgate/authgate", from: "0.1.0")
//
// The native library is a prebuilt XCFramework attached to each GitHub release. The release
// workflow (.github/workflows/release.yml) writes the two lines below — the zip's URL and
// its SwiftPM checksum — on the release commit it tags, so a tagged version resolves to
// exactly the binary built for it. Depend on a version (`from:`), not on a branch: until a
// release is merged back, main's lines name no binary. To build the XCFramework yourself
// (macOS), see bindings/swift/build-xcframework.sh and bindings/swift/Package.swift.
import PackageDescription

let ffiURL = "https://github.com/authgate/authgate/releases/download/v0.1.0/AuthgateFFI-0.1.0.xcframework.zip"
let ffiChecksum = "unreleased: the release workflow writes the checksum here"

let package = Package(
    name: "Authgate",
    platforms: [.iOS(.v15), .macOS(.v12)],
    products: [
        .library(name: "Authgate", targets: ["Authgate"]),
    ],
    targets: [
        .binaryTarget(name: "AuthgateFFI", url: ffiURL, checksum: ffiChecksum),
        .target(name: "Authgate", dependencies: ["AuthgateFFI"], path: "bindings/swift/Sources/Authgate"),
    ]
)
