// swift-tools-version:6.0
// mdd — a MobileDiffusion batch rendering daemon. Targets mirror the architecture:
// Engine, Queue and Wire are independent leaves; Daemon composes them; ctl depends on Wire only.
import PackageDescription

// The engine is numeric code: optimise it in debug builds too, or the parity tests crawl.
let optimise: [SwiftSetting] = [
    .unsafeFlags(["-Ounchecked", "-wmo"], .when(configuration: .release)),
    .unsafeFlags(["-O"], .when(configuration: .debug)),
]

let package = Package(
    name: "mdd",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "mdd", targets: ["Daemon"]),
        .executable(name: "mdctl", targets: ["ctl"]),
        .executable(name: "mdd-queue-helper", targets: ["QueueHelper"]),
        .library(name: "Engine", targets: ["Engine"]),
        .library(name: "Queue", targets: ["Queue"]),
        // For the libFuzzer package under fuzz/ (it depends on this one by path).
        .library(name: "Wire", targets: ["Wire"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        // The optional HTTP listener (`mdd serve --http`): FlyingFox is a small async HTTP/1.1 server over plain
        // sockets (two modules, no SwiftNIO), so it adds seconds, not minutes, to a clean build; the listener only
        // answers a few read-only GETs, which needs none of Hummingbird/NIO's pipeline. See README "HTTP listener".
        .package(url: "https://github.com/swhitty/FlyingFox", from: "0.27.1"),
        // Prometheus text exposition (counters, gauges, histograms); brings only swift-metrics' CoreMetrics and
        // swift-atomics.
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // libpng's error handling is setjmp/longjmp based, which Swift cannot express: a small C shim owns it.
        .target(name: "CPNG", linkerSettings: [.linkedLibrary("png")]),
        .target(name: "CSHA256"),
        .target(name: "CKernels", cSettings: [.unsafeFlags(["-O3"])]),
        // oneDNN (Debian's libdnnl-dev): bf16 products on AVX512-BF16 / AMX CPUs; a C shim keeps its types out of Swift.
        .target(name: "CDNNL", cSettings: [.unsafeFlags(["-O3"])], linkerSettings: [.linkedLibrary("dnnl"), .linkedLibrary("dl")]),
        .systemLibrary(name: "CSQLite", path: "Sources/CSQLite"),
        // libpq (Debian's libpq-dev) for the fleet queue rather than postgres-nio: a system library costs no build
        // time (postgres-nio brings SwiftNIO: minutes per clean CI build), and its blocking calls suit the render
        // workers, which already run on their own threads and call the SQLite store synchronously.
        .systemLibrary(name: "CLibPQ", path: "Sources/CLibPQ"),
        .target(
            name: "Engine", dependencies: ["CPNG", "CSHA256", "CKernels", "CDNNL"],
            swiftSettings: optimise + [.swiftLanguageMode(.v5)],
            linkerSettings: [.linkedLibrary("dl"), .linkedLibrary("m")]),
        .target(name: "Queue", dependencies: ["CSQLite", "CLibPQ"], swiftSettings: [.swiftLanguageMode(.v5)]),
        .target(name: "Wire", swiftSettings: [.swiftLanguageMode(.v5)]),
        .executableTarget(
            name: "Daemon",
            dependencies: [
                "Engine", "Queue", "Wire",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "FlyingFox", package: "FlyingFox"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: [.swiftLanguageMode(.v5)]),
        .executableTarget(
            name: "ctl",
            dependencies: ["Wire", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: [.swiftLanguageMode(.v5)]),
        .testTarget(
            name: "EngineTests", dependencies: ["Engine", "CSHA256", "CKernels", "CDNNL", "FuzzCorpus"],
            resources: [.copy("Fixtures")], swiftSettings: [.swiftLanguageMode(.v5)]),
        // Drives the queue from other processes in the multi-process and crash tests.
        .executableTarget(name: "QueueHelper", dependencies: ["Queue"], swiftSettings: [.swiftLanguageMode(.v5)]),
        // A private PostgreSQL server (initdb/pg_ctl in a temp folder) for the queue and fleet tests.
        .target(name: "PostgresTestServer", path: "Tests/Support/PostgresTestServer", swiftSettings: [.swiftLanguageMode(.v5)]),
        // The fuzz corpora's loader, for both test targets' replay tests.
        .target(name: "FuzzCorpus", path: "Tests/Support/FuzzCorpus", swiftSettings: [.swiftLanguageMode(.v5)]),
        // Boots the real `mdd serve` and drives it with the real `mdctl` (both built as dependencies).
        .testTarget(
            name: "DaemonTests", dependencies: ["Daemon", "ctl", "Queue", "Wire", "Engine", "PostgresTestServer", "FuzzCorpus"],
            exclude: ["Snapshots"],  // read by path (#filePath), not bundled
            swiftSettings: [.swiftLanguageMode(.v5)]),
        .testTarget(
            name: "QueueTests", dependencies: ["Queue", "QueueHelper", "PostgresTestServer"],
            resources: [.copy("Fixtures")], swiftSettings: [.swiftLanguageMode(.v5)]),
    ]
)
