import Foundation
import LifeboatTesting
import Testing

/// Slow-loris clients against a real `lifeboat serve` (issue #19): connections that send an
/// incomplete request or nothing are closed after the idle timeout, so they cannot hold the
/// connection cap and starve others.
@Suite(.serialized) struct ServerConnectionTests {
  /// A TCP connection to 127.0.0.1:port with a receive timeout (so a test cannot hang).
  static func connect(port: Int) -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var tv = timeval(tv_sec: 20, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = in_port_t(UInt16(port).bigEndian)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    let rc = withUnsafePointer(to: &addr) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    return rc == 0 ? fd : -1
  }

  /// Waits for the server to close the connection: recv returns 0 (or ECONNRESET).
  static func closedByServer(_ fd: Int32) -> Bool {
    var buf = [UInt8](repeating: 0, count: 4096)
    while true {
      let n = recv(fd, &buf, buf.count, 0)
      if n == 0 { return true }
      if n < 0 { return errno == ECONNRESET }
    }
  }

  @Test func idleAndTricklingConnectionsAreClosedAndOthersAreServed() async throws {
    let server = try await RunningServer(config: "idle_timeout: 1s\nmax_connections: 16\nmaintenance_every: \"0\"\n")
    let port = Int(server.base.split(separator: ":").last!)!
    // Fill the cap: half send nothing, half trickle the start of a request and stop.
    var sockets: [Int32] = []
    for i in 0..<16 {
      let fd = Self.connect(port: port)
      #expect(fd >= 0)
      if i % 2 == 1 {
        let partial = Array("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ".utf8)
        _ = send(fd, partial, partial.count, 0)
      }
      sockets.append(fd)
    }
    // Another client still gets its answer once the idle ones are dropped.
    let (code, body) = try server.api("GET", "/healthz", extra: ["--max-time", "30"])
    #expect(code == 200, "\(body)")
    for fd in sockets {
      #expect(Self.closedByServer(fd), "the server closed the idle connection")
      close(fd)
    }
    #expect(server.stop() == 0)
  }
}
