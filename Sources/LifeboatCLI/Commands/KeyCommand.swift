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
    subcommands: [KeyList.self, KeyAdd.self])

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
      let env = ProcessInfo.processInfo.environment
      let newPassword: String
      if let p = env["LIFEBOAT_NEW_PASSWORD"], !p.isEmpty {
        newPassword = p
      } else if let f = newPasswordFile {
        guard let t = try? String(contentsOfFile: f, encoding: .utf8),
          let line = t.split(separator: "\n").first
        else { throw LifeboatError(.usage, "cannot read \(f)") }
        newPassword = String(line)
      } else {
        newPassword = try Terminal.readSecret(prompt: "enter new password: ")
      }
      let id = try await repo.addKey(
        password: newPassword, derivation: kdf == .scrypt ? .defaultScrypt : .defaultPBKDF2)
      global.output.line("added key \(id.prefix(8))")
      try global.output.emit(["id": id])
    }
  }
}
