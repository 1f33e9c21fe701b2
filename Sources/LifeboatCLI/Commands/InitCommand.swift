import ArgumentParser
import LifeboatCore
import LifeboatFormat
import LifeboatRepository

struct InitCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "init",
    abstract: "Create a new repository.",
    discussion: """
      Creates the folder layout, a random master key and a first key file that unwraps it with your password. Keep the password safe: without it the data cannot be read by anyone, including you.

      --kdf scrypt (default) is memory-hard; --kdf pbkdf2 uses PBKDF2-HMAC-SHA256 with 600,000 rounds, the FIPS 140-approved choice for NIST SP 800-171 / CMMC environments.
      """)

  @OptionGroup var global: GlobalOptions

  enum KDFChoice: String, ExpressibleByArgument, CaseIterable {
    case scrypt, pbkdf2
  }

  @Option(help: "Password key derivation: scrypt or pbkdf2.")
  var kdf: KDFChoice = .scrypt

  @Option(help: "Target pack file size in MiB (1-128). Larger packs mean fewer objects on storage.")
  var packSize: Int = 16

  @Option(help: "zstd level for new data: 0 stores data uncompressed, 1-19 (default 3).")
  var compression: Int = 3

  func validate() throws {
    guard (1...128).contains(packSize) else { throw ValidationError("--pack-size must be 1 to 128 MiB") }
    guard (0...19).contains(compression) else { throw ValidationError("--compression must be 0 to 19") }
  }

  struct Result: Encodable {
    var repository: String
    var id: String
    var keyFile: String
    var kdf: String
  }

  func run() async throws {
    let backend = try global.backend()
    let password = try global.password(confirm: true)
    let derivation: KeyDerivation = kdf == .scrypt ? .defaultScrypt : .defaultPBKDF2
    var config = RepositoryConfig()
    config.packSize = packSize << 20
    config.compressionLevel = compression
    let repo = try await Repository.initialize(
      backend: backend, password: password, derivation: derivation, configuration: config)
    let out = global.output
    out.line("created repository \(repo.config.id.prefix(10)) at \(backend.location)")
    out.line("key derivation: \(derivation.name)")
    out.line("keep the password safe: without it nobody can read these backups")
    try out.emit(
      Result(repository: backend.location, id: repo.config.id, keyFile: repo.keyID, kdf: derivation.name))
  }
}
