import ArgumentParser
import LifeboatCore
import LifeboatFormat
import LifeboatRepository
import LifeboatBackends

struct InitCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "init",
    abstract: "Create a new repository.",
    discussion: """
      Creates the folder layout, a random master key and a first key file that unwraps it with your password. Keep the password safe: without it the data cannot be read by anyone, including you.

      --kdf scrypt (default) is memory-hard; --kdf pbkdf2 uses PBKDF2-HMAC-SHA256 with 600,000 rounds, the FIPS 140-approved choice for NIST SP 800-171 / CMMC environments.

      --immutable-days N makes the repository immutable (S3 buckets with Object Lock only): every object is written with a COMPLIANCE lock (or GOVERNANCE with --lock-mode) for N days, so nobody, not even the bucket's owner or ransomware holding the credentials, can delete or overwrite it before then. Run `lifeboat maintenance` regularly (prune runs it too): it extends the lock of every object still in use.

        lifeboat init -r s3:https://s3.example.net/backups/school --immutable-days 30
      """)

  @OptionGroup var global: GlobalOptions

  enum KDFChoice: String, ExpressibleByArgument, CaseIterable {
    case scrypt, pbkdf2
  }

  @Option(help: "Password key derivation: scrypt or pbkdf2.")
  var kdf: KDFChoice = .scrypt

  @Option(help: "Target pack file size in MiB (1-128). Larger packs mean fewer objects on storage.")
  var packSize: Int = 16

  @Option(help: ArgumentHelp(
    "How new data is compressed: auto (the default: zstd 3, chunks that will not compress stored raw without a full pass), off, fastest (zstd 1), default (zstd 3), max (zstd 12), or a zstd level 0-19. A backup may choose another with its own --compression.",
    valueName: "mode"))
  var compression: String = "auto"

  @Option(help: "Lock every object for this many days with S3 Object Lock (1-36500).")
  var immutableDays: Int?

  enum ModeChoice: String, ExpressibleByArgument, CaseIterable {
    case compliance, governance
  }

  @Option(help: "Object Lock mode with --immutable-days: compliance (default; nobody can shorten it) or governance.")
  var lockMode: ModeChoice = .compliance

  func validate() throws {
    if let d = immutableDays, !(1...36_500).contains(d) {
      throw ValidationError("--immutable-days must be 1 to 36500")
    }
    guard (1...128).contains(packSize) else { throw ValidationError("--pack-size must be 1 to 128 MiB") }
    guard CompressionMode(name: compression) != nil || Int(compression).map({ (0...19).contains($0) }) == true else {
      throw ValidationError("--compression takes one of \(CompressionMode.names), or a zstd level 0 to 19, not \(compression)")
    }
  }

  struct Result: Encodable {
    var repository: String
    var id: String
    var keyFile: String
    var kdf: String
    var immutableDays: Int?
    var lockMode: String?
  }

  func run() async throws {
    let backend = try global.backend()
    let password = try global.password(confirm: true)
    let derivation: KeyDerivation = kdf == .scrypt ? .defaultScrypt : .defaultPBKDF2
    var config = RepositoryConfig()
    config.packSize = packSize << 20
    if let mode = CompressionMode(name: compression) {
      config.setCompression(mode)
    } else if let level = Int(compression) {
      config.compression = nil
      config.compressionLevel = level
    }
    if let immutableDays {
      config.immutability = .init(days: immutableDays, mode: lockMode.rawValue)
    }
    if let done = try await Repository.storage({
      try await BackendFactory.prepareForInit(backend, objectLock: immutableDays != nil, environment: global.environment)
    }) {
      global.output.line(done)
    }
    let repo = try await Repository.initialize(
      backend: backend, password: password, derivation: derivation, configuration: config)
    let out = global.output
    out.line("created repository \(repo.config.id.prefix(10)) at \(backend.location)")
    out.line("key derivation: \(derivation.name)")
    if let i = config.immutability {
      out.line("immutable: every object is locked (\(i.mode)) for \(i.days) days after it is written; run `lifeboat maintenance` at least every \(max(1, i.days / 4)) days to keep objects in use locked")
    }
    out.line("keep the password safe: without it nobody can read these backups")
    try out.emit(
      Result(repository: backend.location, id: repo.config.id, keyFile: repo.keyID, kdf: derivation.name,
        immutableDays: config.immutability?.days, lockMode: config.immutability?.mode))
  }
}
