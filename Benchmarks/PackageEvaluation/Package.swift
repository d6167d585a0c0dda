// swift-tools-version:6.1
import PackageDescription

// Our hand-written SHA-256 and ZIP reader beside the maintained packages that could replace them (issue #26):
// speed on the inputs we have, and what each package costs a fresh clone to build (measure-build-cost.sh). Our
// files are compiled here as they are in the main package (symbolic links), so the comparison is with the code
// that ships. Run: swift run -c release PackageEvaluation
let package = Package(
    name: "PackageEvaluation",
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto", exact: "3.12.3"),
        .package(url: "https://github.com/weichsel/ZIPFoundation", exact: "0.9.20"),
    ],
    targets: [
        // ZIPFoundation has a module named CZlib as we do (a clash that adopting it would mean renaming ours); our
        // CRC32.swift compiles against its CZlib here, the same zlib.
        .target(name: "Ours", dependencies: ["ZIPFoundation"]),
        .executableTarget(
            name: "PackageEvaluation",
            dependencies: ["Ours", .product(name: "Crypto", package: "swift-crypto"), "ZIPFoundation"]),
    ]
)
