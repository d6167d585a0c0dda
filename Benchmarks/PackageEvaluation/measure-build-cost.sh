#!/usr/bin/env bash
# What each candidate package adds to a fresh clone's debug build (CI builds from a new clone every run): a
# one-line executable that imports the package, built cold in its own scratch folder. Prints seconds per package.
set -euo pipefail
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
measure() {  # name url version product module
  local dir="$work/probe-$1"  # not the dependency's own name, which SwiftPM would take for the root's identity
  mkdir -p "$dir/Sources/Probe"
  cat > "$dir/Package.swift" <<MANIFEST
// swift-tools-version:6.1
import PackageDescription
let package = Package(name: "Probe", dependencies: [.package(url: "$2", exact: "$3")],
                      targets: [.executableTarget(name: "Probe", dependencies: [.product(name: "$4", package: "$(basename "$2")")])])
MANIFEST
  echo "import $5" > "$dir/Sources/Probe/main.swift"
  (cd "$dir" && swift package resolve > /dev/null 2>&1)
  local start=$(date +%s.%N)
  (cd "$dir" && swift build > "$work/$1.log" 2>&1) || { echo "$1: build failed:"; tail -5 "$work/$1.log"; return 1; }
  echo "$1: $(echo "$(date +%s.%N) - $start" | bc) s"
}
measure none-baseline https://github.com/apple/swift-numerics 1.1.1 RealModule RealModule
measure swift-crypto https://github.com/apple/swift-crypto 3.12.3 Crypto Crypto
measure ZIPFoundation https://github.com/weichsel/ZIPFoundation 0.9.20 ZIPFoundation ZIPFoundation
measure swift-protobuf https://github.com/apple/swift-protobuf 1.39.0 SwiftProtobuf SwiftProtobuf
