// swift-tools-version:6.0
// libFuzzer targets around mdd's parsers of untrusted input. A separate package, so that the main build and test
// never see `-sanitize=fuzzer`; build and run one with `scripts/fuzz.sh TARGET SECONDS` (see docs/operations.md).
import PackageDescription

let targets = ["frame", "request", "prompt", "safetensors", "config", "tokenizer", "png"]
let name = { (t: String) in "Fuzz" + t.prefix(1).uppercased() + t.dropFirst() }

let package = Package(
    name: "mdd-fuzz",
    products: targets.map { .executable(name: "fuzz-\($0)", targets: [name($0)]) },
    // `mdd` is a link to the repository root, so the dependency has the same identity in every checkout.
    dependencies: [.package(path: "mdd")],
    targets: [
        .target(name: "FuzzEntries", dependencies: [.product(name: "Wire", package: "mdd"), .product(name: "Engine", package: "mdd")],
                swiftSettings: [.swiftLanguageMode(.v5)]),
    ] + targets.map {
        .executableTarget(name: name($0), dependencies: ["FuzzEntries"], path: "Sources/Targets/\($0)",
                          swiftSettings: [.swiftLanguageMode(.v5)])
    }
)
