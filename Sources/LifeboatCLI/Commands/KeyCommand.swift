import ArgumentParser
import Foundation
import LifeboatCore
import LifeboatFormat
import LifeboatRepository
import LifeboatStorage

struct KeyCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "key",
    abstract: "Manage the passwords (key files) that open the repository.",
    discussion: """
      Each key file wraps the same master key under its own password, so passwords can be added, changed and removed without re-encrypting any data.
      """,
    subcommands: [KeyList.self, KeyAdd.self, KeyRemove.self, KeyPasswd.self])

  /// The new password from $LIFEBOAT_NEW_PASSWORD, a file, or the terminal (asked twice).
  static func newPassword(file: String?) throws -> String {
    if let p = ProcessInfo.processInfo.environment["LIFEBOAT_NEW_PASSWORD"], !p.isEmpty { return p }
    if let f = file {
      guard let t = try? String(contentsOfFile: f, encoding: .utf8),
        let line = t.split(separator: "\n").first, !line.isEmpty
      else { throw LifeboatError(.usage, "cannot read a password from \(f)") }
      return String(line)
    }
    let p = try Terminal.readSecret(prompt: "enter new password: ")
    guard try Terminal.readSecret(prompt: "enter new password again: ") == p else {
      throw LifeboatError(.usage, "the passwords do not match")
    }
    return p
  }

  struct KeyRemove: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "remove",
      abstract: "Remove a password (key file).",
      discussion: "The key that opened the repository cannot be removed (use `key passwd` to change it), so the last key can never be removed.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The key file's ID or a unique prefix (see `key list`).") var id: String

    func run() async throws {
      let repo = try await global.openRepository()
      let names = try await repo.backend.list(.key).map(\.name).filter { $0.hasPrefix(id.lowercased()) }
      guard id.count >= 4, names.count == 1, let name = names.first else {
        throw LifeboatError(.notFound, names.isEmpty ? "no key \(id)" : "key prefix \(id) is ambiguous", hint: "see `lifeboat key list`")
      }
      guard name != repo.keyID else {
        throw LifeboatError(.usage, "refusing to remove the key that opened the repository",
          hint: "open with another password to remove this one, or use `lifeboat key passwd`")
      }
      try await global.withLock(repo, exclusive: true, command: "key remove") { _ in
        try await Repository.storage { try await repo.backend.remove(Handle(.key, name)) }
      }
      global.audit("key-change", subject: "key \(name.prefix(8))", details: ["action": "remove", "key": name])
      global.output.line("removed key \(name.prefix(8))")
      try global.output.emit(["removed": name])
    }
  }

  struct KeyPasswd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "passwd",
      abstract: "Change the password of the key that opens the repository.",
      discussion: "Writes a new key file for the same master key, then removes the old one. The new password comes from $LIFEBOAT_NEW_PASSWORD, --new-password-file or the terminal.")
    @OptionGroup var global: GlobalOptions
    @Option(help: "Read the new password from this file.") var newPasswordFile: String?
    @Option(help: "Key derivation for the new key file: scrypt or pbkdf2.")
    var kdf: InitCommand.KDFChoice = .scrypt

    func run() async throws {
      let repo = try await global.openRepository()
      let password = try KeyCommand.newPassword(file: newPasswordFile)
      let added = try await global.withLock(repo, exclusive: true, command: "key passwd") { _ in
        let added = try await repo.addKey(
          password: password, derivation: kdf == .scrypt ? .defaultScrypt : .defaultPBKDF2)
        try await Repository.storage { try await repo.backend.remove(Handle(.key, repo.keyID)) }
        return added
      }
      global.audit("key-change", subject: "key \(repo.keyID.prefix(8))", details: ["action": "passwd", "removed": repo.keyID, "added": added])
      global.output.line("password changed: key \(repo.keyID.prefix(8)) replaced by \(added.prefix(8))")
      try global.output.emit(["removed": repo.keyID, "added": added])
    }
  }

  struct KeyList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List key files.")
    @OptionGroup var global: GlobalOptions

    struct Item: Encodable {
      var id: String
      var current: Bool
      var kdf: String
      var created: Date
      var hostname: String
      var username: String
    }

    func run() async throws {
      let repo = try await global.openRepository()
      var items = [Item]()
      for info in try await repo.backend.list(.key) {
        guard let f = try? KeyFile.decode(try await repo.backend.load(Handle(.key, info.name))) else {
          global.output.warn("key file \(info.name) cannot be read")
          continue
        }
        items.append(Item(id: info.name, current: info.name == repo.keyID, kdf: f.kdf, created: f.created, hostname: f.hostname, username: f.username))
      }
      for i in items {
        global.output.line("\(i.current ? "*" : " ") \(i.id.prefix(8))  \(i.kdf.padding(toLength: 14, withPad: " ", startingAt: 0)) \(Format.time(i.created))  \(i.username)@\(i.hostname)")
      }
      try global.output.emit(items)
    }
  }

  struct KeyAdd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "add",
      abstract: "Add a password.",
      discussion: "The new password is read from $LIFEBOAT_NEW_PASSWORD, --new-password-file or the terminal.")
    @OptionGroup var global: GlobalOptions

    @Option(help: "Read the new password from this file.")
    var newPasswordFile: String?

    @Option(help: "Key derivation for the new key file: scrypt or pbkdf2.")
    var kdf: InitCommand.KDFChoice = .scrypt

    func run() async throws {
      let repo = try await global.openRepository()
      let newPassword = try KeyCommand.newPassword(file: newPasswordFile)
      let id = try await repo.addKey(
        password: newPassword, derivation: kdf == .scrypt ? .defaultScrypt : .defaultPBKDF2)
      global.audit("key-change", subject: "key \(id.prefix(8))", details: ["action": "add", "key": id])
      global.output.line("added key \(id.prefix(8))")
      try global.output.emit(["id": id])
    }
  }
}
