import Foundation
#if canImport(Glibc)
  import Glibc
#endif

/// A private Samba server for one test: smbd on port 445 of its own loopback address
/// (127.0.0.N — libsmbclient reaches access lists through a second connection that always uses
/// port 445), samba-dcerpcd beside it for the LSA pipe those lookups need, its own state and
/// password database in a temporary folder, `acl_xattr` so Windows ACLs are kept, and one
/// folder per share. The Unix account `lifeboatsmb` (made once) owns the shares; its SMB
/// password is set per server. `make test` installs Samba; a missing smbd is a failure.
public final class SambaTestServer: @unchecked Sendable {
  public static let user = "lifeboatsmb"
  public let password = "smb-test-secret"
  public let dir: TemporaryDirectory
  /// The loopback address it listens on, port 445.
  public let host: String
  public let config: String
  let process: Process
  let rpc: Process
  /// smbd and samba-dcerpcd in the foreground stop when their standard input ends: these
  /// pipes stay open while the server runs.
  let stdin = Pipe()
  let rpcStdin = Pipe()

  /// Starts smbd with `shares` (folder names under `dir`); returns once it accepts connections.
  public static func start(shares: [String]) async throws -> SambaTestServer {
    try await offThePool { try SambaTestServer(shares: shares) }
  }

  init(shares: [String]) throws {
    guard FileManager.default.isExecutableFile(atPath: "/usr/sbin/smbd") else {
      throw Failure("Samba's smbd is not installed: make test installs it (apt-get install samba smbclient libsmbclient-dev)")
    }
    // Without the module, every share refuses connections (NT_STATUS_BAD_NETWORK_NAME) and the
    // tests fail far from the cause: say it here.
    let modules = ((try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib")) ?? []).map { "/usr/lib/\($0)/samba/vfs/acl_xattr.so" }
    guard modules.contains(where: FileManager.default.fileExists(atPath:)) else {
      throw Failure("Samba's acl_xattr module is not installed: make test installs it (apt-get install samba-vfs-modules)")
    }
    dir = TemporaryDirectory("lifeboat-samba")
    // smbd serves the shares as lifeboatsmb, who must be able to reach them.
    chmod(dir.path, 0o755)
    if (try? Subprocess.run(["id", Self.user]))?.status != 0 {
      // Two tests may make it at once: "already exists" (status 9) is fine.
      let made = try Subprocess.run(["useradd", "-M", "-s", "/usr/sbin/nologin", Self.user])
      guard made.status == 0 || made.status == 9 else { throw Failure("useradd \(Self.user): \(made.output)") }
    }
    for folder in ["private", "lock", "state", "cache", "pid", "ncalrpc"] + shares {
      try FileManager.default.createDirectory(atPath: dir.sub(folder), withIntermediateDirectories: true)
    }
    for share in shares { _ = try Subprocess.run(["chown", Self.user, dir.sub(share)]) }
    host = try Self.freeAddress()
    config = dir.sub("smb.conf")
    var text = """
      [global]
        interfaces = \(host)/8
        bind interfaces only = yes
        smb ports = 445
        rpc start on demand helpers = no
        server role = standalone server
        passdb backend = tdbsam:\(dir.sub("private"))/passdb.tdb
        private dir = \(dir.sub("private"))
        lock directory = \(dir.sub("lock"))
        state directory = \(dir.sub("state"))
        cache directory = \(dir.sub("cache"))
        pid directory = \(dir.sub("pid"))
        ncalrpc dir = \(dir.sub("ncalrpc"))
        log file = \(dir.sub("log.%m"))
        load printers = no
        printcap name = /dev/null
        disable spoolss = yes
        vfs objects = acl_xattr
        map to guest = never

      """
    for share in shares { text += "[\(share)]\n  path = \(dir.sub(share))\n  read only = no\n" }
    try text.write(toFile: config, atomically: true, encoding: .utf8)
    let pw = Process()
    pw.executableURL = URL(fileURLWithPath: "/usr/bin/smbpasswd")
    pw.arguments = ["-c", config, "-s", "-a", Self.user]
    let input = Pipe()
    pw.standardInput = input
    pw.standardOutput = FileHandle.nullDevice
    pw.standardError = FileHandle.nullDevice
    try pw.run()
    input.fileHandleForWriting.write(Data("\(password)\n\(password)\n".utf8))
    try input.fileHandleForWriting.close()
    pw.waitUntilExit()
    guard pw.terminationStatus == 0 else { throw Failure("smbpasswd failed (status \(pw.terminationStatus))") }
    process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/sbin/smbd")
    process.arguments = ["-s", config, "--foreground", "--no-process-group", "--debuglevel=1"]
    let log = dir.sub("smbd.out")
    FileManager.default.createFile(atPath: log, contents: nil)
    process.standardInput = stdin
    process.standardOutput = FileHandle(forWritingAtPath: log)
    process.standardError = FileHandle(forWritingAtPath: log)
    try process.run()
    rpc = Process()
    rpc.executableURL = URL(fileURLWithPath: "/usr/libexec/samba/samba-dcerpcd")
    rpc.arguments = ["-s", config, "--foreground", "--libexec-rpcds"]
    rpc.standardInput = rpcStdin
    rpc.standardOutput = FileHandle(forWritingAtPath: log)
    rpc.standardError = FileHandle(forWritingAtPath: log)
    try rpc.run()
    // Ready when smbd accepts connections and samba-dcerpcd serves the LSA pipe (its socket
    // appears under the ncalrpc folder).
    for _ in 0..<200 {
      if Self.accepts(host, 445) && FileManager.default.fileExists(atPath: dir.sub("ncalrpc") + "/np/lsarpc") { return }
      guard process.isRunning else { break }
      usleep(50_000)
    }
    let said = ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "") + ((try? String(contentsOfFile: dir.sub("log.smbd"), encoding: .utf8)) ?? "")
    remove()
    throw Failure("smbd did not start on \(host):445: \(said.suffix(600))")
  }

  /// `smb://127.0.0.N/SHARE[/path]`.
  public func url(_ share: String, _ path: String = "") -> String {
    "smb://\(host)/\(share)" + (path.isEmpty ? "" : "/" + path)
  }

  /// The folder behind a share on this machine.
  public func folder(_ share: String) -> String { dir.sub(share) }

  /// Stops smbd and every child it forked for a connection (the share "disappears").
  public func stop() {
    // smbd forks one process per client, samba-dcerpcd one per RPC service; Foundation starts
    // each of the two as the leader of its own process group, so the group goes at once.
    for p in [process, rpc] where p.isRunning {
      kill(-p.processIdentifier, SIGKILL)
      kill(p.processIdentifier, SIGKILL)
      p.waitUntilExit()
    }
  }

  public func remove() {
    stop()
    dir.remove()
  }

  /// smbclient against this server: `command` is what smbclient's -c runs.
  public func smbclient(_ share: String, _ command: String) throws -> (status: Int32, output: String) {
    try Subprocess.run([
      "smbclient", "-s", config, "//\(host)/\(share)", "-U", "\(Self.user)%\(password)", "-c", command,
    ])
  }

  static func accepts(_ host: String, _ port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr(host)
    addr.sin_port = UInt16(port).bigEndian
    return withUnsafePointer(to: &addr) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    } == 0
  }

  nonisolated(unsafe) static var used = Set<Int>()
  static let usedLock = NSLock()

  /// A loopback address nobody serves port 445 on (this process hands each out once).
  static func freeAddress() throws -> String {
    usedLock.lock()
    defer { usedLock.unlock() }
    for _ in 0..<200 {
      let n = Int.random(in: 20...250)
      guard !used.contains(n) else { continue }
      used.insert(n)
      let host = "127.0.0.\(n)"
      if !accepts(host, 445) { return host }
    }
    throw Failure("port 445 is taken on every loopback address tried: is the system's smbd running on all addresses? (systemctl stop smbd nmbd, or bind it to its own interfaces)")
  }

  public struct Failure: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
  }
}
