// swift-tools-version: 6.1
// Lifeboat — backup and disaster recovery you can prove.
// Module layering (imports point down only) is documented in docs/architecture.md and
// enforced by scripts/check-imports.sh.
import PackageDescription

let strict: [SwiftSetting] = [
  .enableUpcomingFeature("InternalImportsByDefault"),
  .enableUpcomingFeature("ExistentialAny"),
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
  ],
  targets: [
    .systemLibrary(
      name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
    .target(name: "CLifeboatSystem"),
    .target(name: "LifeboatCore", swiftSettings: strict),
    .target(
      name: "LifeboatFormat",
      dependencies: [
        "LifeboatCore", "CZstd", "CLifeboatSystem",
        .product(name: "Crypto", package: "swift-crypto"),
        .product(name: "_CryptoExtras", package: "swift-crypto"),
      ],
      swiftSettings: strict),
    .target(name: "LifeboatStorage", dependencies: ["LifeboatCore"], swiftSettings: strict),
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
        "LifeboatCore", "LifeboatFormat", "LifeboatStorage", "LifeboatRepository", "CLifeboatSystem",
        .product(name: "Logging", package: "swift-log"),
      ],
      swiftSettings: strict),
    .target(
      name: "LifeboatCLI",
      dependencies: [
        "LifeboatCore", "LifeboatFormat", "LifeboatStorage", "LifeboatRepository",
        "LifeboatEngine", "LifeboatPolicy", "LifeboatS3", "CLifeboatSystem",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .product(name: "Logging", package: "swift-log"),
      ],
      swiftSettings: strict),
    .executableTarget(name: "lifeboat", dependencies: ["LifeboatCLI"], swiftSettings: strict),
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
      dependencies: ["LifeboatStorage", "LifeboatTesting"], swiftSettings: strict),
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
      name: "LifeboatCLITests",
      dependencies: ["LifeboatCLI", "LifeboatTesting"], swiftSettings: strict),
  ]
)
