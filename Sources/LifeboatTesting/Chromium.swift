// Headless Chromium for layout checks and screenshots of reports and the dashboard.

import Foundation

public enum Chromium {
  public static let path: String? = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
    .first { FileManager.default.isExecutableFile(atPath: $0) }
  public static var available: Bool { path != nil }
  /// Like the S3 and PostgreSQL tests: run where Chromium is installed, and always under CI,
  /// where a missing browser fails the test (through `#require(Chromium.path)`) instead of
  /// skipping it.
  public static var shouldRun: Bool { available || ProcessInfo.processInfo.environment["CI"] != nil }

  public static let probeScript = """
    <script>
    (function () {
      var W = document.documentElement.clientWidth, bad = [];
      document.querySelectorAll('body *').forEach(function (el) {
        var r = el.getBoundingClientRect();
        if (r.width > 0 && r.right > W + 1) bad.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : ''));
      });
      var sections = Array.prototype.map.call(document.querySelectorAll('section'), function (s) { return s.id; });
      var out = document.createElement('pre');
      out.id = 'layout-check';
      out.textContent = JSON.stringify({ width: W, scrollWidth: document.documentElement.scrollWidth, overflow: bad.slice(0, 20), sections: sections });
      document.body.appendChild(out);
    })();
    </script>
    """

  public struct Probe: Decodable {
    public var width: Int
    public var scrollWidth: Int
    public var overflow: [String]
    public var sections: [String]
  }

  public static func probeResult(_ dom: String) throws -> Probe {
    guard let start = dom.range(of: "<pre id=\"layout-check\">"), let end = dom.range(of: "</pre>", range: start.upperBound..<dom.endIndex)
    else { throw Failure(message: "no layout probe in the DOM: \(dom.prefix(300))") }
    let json = String(dom[start.upperBound..<end.lowerBound]).replacingOccurrences(of: "&amp;", with: "&")
      .replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
    return try JSONDecoder().decode(Probe.self, from: Data(json.utf8))
  }

  public struct Failure: Error, CustomStringConvertible { public var message: String; public var description: String { message } }

  /// A4 at 96 dpi is 794 px wide; `width` and `height` set the window.
  ///
  /// Each run gets a profile directory of its own: tests run in parallel in one process, and a
  /// second Chromium on a profile in use exits at once with status 21 (profile in use).
  public static func run(_ chromium: String, _ args: [String], width: Int = 794, height: Int = 1123) throws -> String {
    let profile = "/tmp/lifeboat-chromium-\(getpid())-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: profile) }
    let p = Process()
    p.executableURL = URL(fileURLWithPath: chromium)
    p.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=\(width),\(height)",
      "--virtual-time-budget=2000", "--user-data-dir=\(profile)"] + args
    let out = Pipe()
    p.standardOutput = out
    p.standardError = FileHandle.nullDevice
    try p.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    guard p.terminationStatus == 0 else { throw Failure(message: "chromium \(args.first ?? "") exited \(p.terminationStatus)") }
    return String(decoding: data, as: UTF8.self)
  }
}

