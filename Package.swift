// swift-tools-version: 6.1
// Lifeboat — backup and disaster recovery you can prove.
// Module layering (imports point down only) is documented in docs/architecture.md and
// enforced by scripts/check-imports.sh.
import PackageDescription

let strict: [SwiftSetting] = [
  .enableUpcomingFeature("InternalImportsByDefault"),
  .enableUpcomingFeature("ExistentialAny"),
]

// Release builds link with the toolchain's lld, pack their relative relocations (DT_RELR) and
// export no symbol table; `make release` and the benchmarks add `--static-swift-stdlib`, so the
// binary also carries the Swift runtime and Foundation. Every command then starts about 10 MB
// smaller (docs/adr/0005-release-linking.md). Debug builds and tests link as usual.
let releaseLinking: [LinkerSetting] = [
  .unsafeFlags(
    [
      "-use-ld=lld",
      "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs",
      "-Xlinker", "--no-export-dynamic",
    ], .when(platforms: [.linux], configuration: .release))
]

let package = Package(
  name: "Lifeboat",
  platforms: [.macOS(.v15)],
  products: [
    .executable(name: "lifeboat", targets: ["lifeboat"])
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.1"),
    .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
    .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
    .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
    .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
    .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
    .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
  ],
  targets: [
    .systemLibrary(
      name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
    .target(name: "CLifeboatSystem"),
    // libsmbclient is loaded with dlopen when a share is used: building needs no Samba package.
    .target(name: "CLifeboatSMB", linkerSettings: [.linkedLibrary("dl")]),
    .target(name: "LifeboatCore", swiftSettings: strict),
    .target(
      name: "LifeboatFormat",
      dependencies: [
        "LifeboatCore", "CZstd", "CLifeboatSystem",
        .product(name: "Crypto", package: "swift-crypto"),
        .product(name: "_CryptoExtras", package: "swift-crypto"),
      ],
      swiftSettings: strict),
    .target(
      name: "LifeboatStorage", dependencies: ["LifeboatCore", "CLifeboatSystem"], swiftSettings: strict),
    .target(
      name: "LifeboatS3",
      dependencies: [
        "LifeboatCore", "LifeboatStorage",
        .product(name: "Crypto", package: "swift-crypto"),
        .product(name: "AsyncHTTPClient", package: "async-http-client"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOHTTP1", package: "swift-nio"),
        .product(name: "NIOSSL", package: "swift-nio-ssl"),
      ],
      swiftSettings: strict),
    .target(
      name: "LifeboatPlan",
      dependencies: ["LifeboatCore", "LifeboatPolicy", .product(name: "Yams", package: "Yams")],
      swiftSettings: strict),
    .target(
      name: "LifeboatSources",
      dependencies: ["LifeboatCore", "LifeboatPlan", "CLifeboatSystem", .product(name: "GRDB", package: "GRDB.swift")],
      swiftSettings: strict),
    .target(
      name: "LifeboatSMB",
      dependencies: ["LifeboatCore", "LifeboatEngine", "LifeboatRepository", "LifeboatFormat", "LifeboatPlan", "CLifeboatSMB"],
      swiftSettings: strict),
    .target(
      name: "LifeboatCatalog",
      dependencies: [
        "LifeboatCore",
        .product(name: "GRDB", package: "GRDB.swift"),
        .product(name: "Crypto", package: "swift-crypto"),
      ],
      swiftSettings: strict),
    .target(
      name: "LifeboatAlerts",
      dependencies: [
        "LifeboatCore", "LifeboatPlan", "LifeboatCatalog", "LifeboatPosture",
        .product(name: "AsyncHTTPClient", package: "async-http-client"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "NIOHTTP1", package: "swift-nio"),
        .product(name: "NIOSSL", package: "swift-nio-ssl"),
      ],
      swiftSettings: strict),
    .target(
      name: "LifeboatOps",
      dependencies: [
        "LifeboatCore", "LifeboatPlan", "LifeboatCatalog", "LifeboatEngine", "LifeboatRepository",
        "LifeboatStorage", "LifeboatBackends", "LifeboatRemote", "LifeboatPolicy", "LifeboatFormat", "LifeboatPosture", "LifeboatSources", "LifeboatAlerts", "LifeboatSMB",
        .product(name: "Logging", package: "swift-log"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        .product(name: "UnixSignals", package: "swift-service-lifecycle"),
        .product(name: "AsyncHTTPClient", package: "async-http-client"),
      ],
      swiftSettings: strict),
    .target(
      name: "LifeboatBackends",
      dependencies: ["LifeboatCore", "LifeboatStorage", "LifeboatS3", "LifeboatRemote"],
      swiftSettings: strict),
    .target(
      name: "LifeboatDemo",
      dependencies: [
        "LifeboatCore", "LifeboatPlan", "LifeboatCatalog", "LifeboatEngine", "LifeboatRepository",
        "LifeboatStorage", "LifeboatS3", "LifeboatPolicy", "LifeboatFormat", "LifeboatOps", "LifeboatPosture",
      ],
      swiftSettings: strict),
    .target(
      name: "LifeboatRemote",
      dependencies: [
        "LifeboatCore", "LifeboatStorage",
        .product(name: "AsyncHTTPClient", package: "async-http-client"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOHTTP1", package: "swift-nio"),
        .product(name: "NIOSSL", package: "swift-nio-ssl"),
        .product(name: "Crypto", package: "swift-crypto"),
      ],
      swiftSettings: strict),
    .target(
      name: "LifeboatConsole",
      dependencies: [
        "LifeboatCore", "LifeboatCatalog",
        .product(name: "GRDB", package: "GRDB.swift"),
        .product(name: "Crypto", package: "swift-crypto"),
      ],
      swiftSettings: strict),
    .target(
      name: "LifeboatServer",
      dependencies: [
        "LifeboatCore", "LifeboatStorage", "LifeboatRepository", "LifeboatEngine", "LifeboatPolicy",
        "LifeboatPlan", "LifeboatCatalog", "LifeboatOps", "LifeboatReport", "LifeboatConsole", "LifeboatPosture", "LifeboatAlerts",
        .product(name: "Hummingbird", package: "hummingbird"),
        .product(name: "HummingbirdCore", package: "hummingbird"),
        .product(name: "HummingbirdTLS", package: "hummingbird"),
        .product(name: "Prometheus", package: "swift-prometheus"),
        .product(name: "Metrics", package: "swift-metrics"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        .product(name: "Crypto", package: "swift-crypto"),
        .product(name: "Yams", package: "Yams"),
        .product(name: "NIOSSL", package: "swift-nio-ssl"),
      ],
      swiftSettings: strict),
    .target(
      name: "LifeboatReport",
      dependencies: ["LifeboatCore", "LifeboatPlan", "LifeboatCatalog", "LifeboatPosture", "LifeboatPolicy"],
      swiftSettings: strict),
    .target(
      name: "LifeboatPosture",
      dependencies: ["LifeboatCore", "LifeboatPlan", "LifeboatCatalog", "LifeboatPolicy"],
      swiftSettings: strict),
    .target(name: "LifeboatPolicy", dependencies: ["LifeboatCore"], swiftSettings: strict),
    .target(
      name: "LifeboatRepository",
      dependencies: [
        "LifeboatCore", "LifeboatFormat", "LifeboatStorage",
        .product(name: "Logging", package: "swift-log"),
      ],
      swiftSettings: strict),
    .target(
      name: "LifeboatEngine",
      dependencies: [
        "LifeboatCore", "LifeboatFormat", "LifeboatStorage", "LifeboatRepository", "LifeboatPolicy", "CLifeboatSystem",
        .product(name: "Logging", package: "swift-log"),
      ],
      swiftSettings: strict),
    .target(
      name: "LifeboatCLI",
      dependencies: [
        "LifeboatCore", "LifeboatFormat", "LifeboatStorage", "LifeboatRepository",
        "LifeboatEngine", "LifeboatPolicy", "LifeboatS3", "LifeboatPlan", "LifeboatCatalog", "LifeboatOps",
        "LifeboatDemo", "LifeboatReport", "LifeboatServer", "LifeboatRemote", "LifeboatConsole", "CLifeboatSystem",
        "LifeboatPosture", "LifeboatBackends", "LifeboatAlerts", "LifeboatSMB",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .product(name: "Logging", package: "swift-log"),
      ],
      swiftSettings: strict),
    .executableTarget(
      name: "lifeboat", dependencies: ["LifeboatCLI"], swiftSettings: strict,
      linkerSettings: releaseLinking),
    // bench/index-scale.sh: a repository of millions of blobs without their data.
    .executableTarget(
      name: "lifeboat-bench-repo",
      dependencies: ["LifeboatRepository", "LifeboatStorage", "LifeboatFormat", "LifeboatCore", "LifeboatCatalog"],
      swiftSettings: strict, linkerSettings: releaseLinking),
    .target(
      name: "LifeboatTesting",
      dependencies: [
        "LifeboatCore", "LifeboatStorage", "CLifeboatSystem",
        .product(name: "Crypto", package: "swift-crypto"),
      ],
      swiftSettings: strict),
    .testTarget(
      name: "LifeboatFormatTests",
      dependencies: [
        "LifeboatFormat", "LifeboatTesting",
        .product(name: "PropertyBased", package: "swift-property-based"),
      ],
      swiftSettings: strict),
    .testTarget(
      name: "LifeboatPolicyTests",
      dependencies: ["LifeboatPolicy", "LifeboatTesting"], swiftSettings: strict),
    .testTarget(
      name: "LifeboatStorageTests",
      dependencies: [
        "LifeboatStorage", "LifeboatTesting",
        .product(name: "PropertyBased", package: "swift-property-based"),
      ], swiftSettings: strict),
    .testTarget(
      name: "LifeboatCoreTests", dependencies: ["LifeboatCore", "LifeboatTesting"], swiftSettings: strict),
    .testTarget(
      name: "LifeboatBackendsTests",
      dependencies: ["LifeboatBackends", "LifeboatCore", "LifeboatStorage", "LifeboatTesting"], swiftSettings: strict),
    .testTarget(
      name: "LifeboatCatalogTests",
      dependencies: ["LifeboatCatalog", "LifeboatTesting", .product(name: "GRDB", package: "GRDB.swift")],
      swiftSettings: strict),
    .testTarget(
      name: "LifeboatConsoleTests",
      dependencies: ["LifeboatConsole", "LifeboatCatalog", "LifeboatCore", "LifeboatTesting"], swiftSettings: strict),
    .testTarget(
      name: "LifeboatReportTests",
      dependencies: ["LifeboatReport", "LifeboatPosture", "LifeboatPlan", "LifeboatCatalog", "LifeboatCore", "LifeboatTesting"],
      exclude: ["golden"],
      swiftSettings: strict),
    .testTarget(
      name: "LifeboatPostureTests",
      dependencies: ["LifeboatPosture", "LifeboatPlan", "LifeboatCatalog", "LifeboatTesting"], swiftSettings: strict),
    .testTarget(
      name: "LifeboatPlanTests",
      dependencies: ["LifeboatPlan", "LifeboatPolicy", "LifeboatCore", "LifeboatTesting"], swiftSettings: strict),
    .testTarget(
      name: "LifeboatOpsTests",
      dependencies: [
        "LifeboatOps", "LifeboatDemo", "LifeboatPlan", "LifeboatCatalog", "LifeboatRepository", "LifeboatStorage",
        "LifeboatFormat", "LifeboatEngine", "LifeboatReport", "LifeboatPosture", "LifeboatTesting", "LifeboatSources", "LifeboatAlerts", "LifeboatSMB",
        .product(name: "GRDB", package: "GRDB.swift"),
      ],
      swiftSettings: strict),
    .testTarget(
      name: "LifeboatS3Tests",
      dependencies: [
        "LifeboatS3", "LifeboatStorage", "LifeboatRepository", "LifeboatEngine", "LifeboatTesting",
      ],
      swiftSettings: strict),
    .testTarget(
      name: "LifeboatRepositoryTests",
      dependencies: ["LifeboatRepository", "LifeboatTesting"], swiftSettings: strict),
    .testTarget(
      name: "LifeboatEngineTests",
      dependencies: ["LifeboatEngine", "LifeboatRepository", "LifeboatTesting"],
      swiftSettings: strict),
    .testTarget(
      name: "LifeboatServerTests",
      dependencies: [
        "LifeboatServer", "LifeboatConsole", "LifeboatRemote", "LifeboatCatalog", "LifeboatOps", "LifeboatPlan", "LifeboatPosture",
        "LifeboatReport", "LifeboatCore", "LifeboatFormat", "LifeboatPolicy",
        "LifeboatRepository", "LifeboatStorage", "LifeboatEngine", "LifeboatTesting",
        .product(name: "HummingbirdTesting", package: "hummingbird"),
        .product(name: "Yams", package: "Yams"),
        .product(name: "Crypto", package: "swift-crypto"),
        .product(name: "HTTPTypes", package: "swift-http-types"),
      ],
      swiftSettings: strict),
    .testTarget(
      name: "LifeboatRemoteTests",
      dependencies: [
        "LifeboatRemote", "LifeboatServer", "LifeboatConsole", "LifeboatStorage", "LifeboatCore", "LifeboatTesting",
        .product(name: "Logging", package: "swift-log"),
      ],
      swiftSettings: strict),
    .testTarget(
      name: "LifeboatCLITests",
      dependencies: ["LifeboatCLI", "LifeboatEngine", "LifeboatTesting"], swiftSettings: strict),
  ]
)
