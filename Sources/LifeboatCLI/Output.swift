import Dispatch
import Foundation
import LifeboatCore
public import LifeboatEngine
#if canImport(Glibc)
  import Glibc
#endif

/// Renders results as text for people or JSON for machines, and the progress line.
struct Output: Sendable {
  var json: Bool
  var quiet: Bool

  func line(_ s: String) {
    guard !json, !quiet else { return }
    print(s)
  }

  func warn(_ s: String) {
    FileHandle.standardError.write(Data("warning: \(s)\n".utf8))
  }

  /// `text` after `prefix`, its continuation lines (a hint) indented two more than the prefix.
  static func nested(_ prefix: String, _ text: String) -> String {
    let indent = String(repeating: " ", count: prefix.prefix { $0 == " " }.count + 2)
    return prefix + text.split(separator: "\n", omittingEmptySubsequences: false)
      .map { $0.drop { $0 == " " } }.joined(separator: "\n" + indent)
  }

  /// A plan diagnostic, which already says `warning:` or `error:` after its file and line.
  func diagnostic(_ d: some CustomStringConvertible) {
    FileHandle.standardError.write(Data("\(d)\n".utf8))
  }

  func emit<T: Encodable>(_ value: T) throws {
    guard json else { return }
    let enc = JSONEncoder()
    enc.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
    enc.dateEncodingStrategy = .iso8601
    print(String(decoding: try enc.encode(value), as: UTF8.self))
  }

  static func error(_ error: any Error) {
    let text: String
    if let e = error as? LifeboatError {
      // A hint sits two columns in under its line, as in plan diagnostics, `run` and `status`.
      text = "error: \(e.message)" + (e.hint.map { "\n  hint: \($0)" } ?? "")
    } else {
      text = "error: \(error)"
    }
    FileHandle.standardError.write(Data((text + "\n").utf8))
  }

  /// Shows a progress line on standard error while `body` runs, when standard error is a
  /// terminal and output is neither quiet nor JSON.
  func withProgress<T: Sendable>(
    _ progress: OperationProgress, _ body: @escaping @Sendable () async throws -> T
  ) async throws -> T {
    guard !json, !quiet, isatty(2) == 1 else { return try await body() }
    let start = Stopwatch()
    // A Dispatch timer, not a task: the workers keep the cooperative pool's threads busy with
    // file I/O and would starve a ticking task.
    let timer = DispatchSource.makeTimerSource(queue: .global(qos: .utility))
    timer.schedule(deadline: Deadline.after(0.25), repeating: .milliseconds(250))
    timer.setEventHandler { Self.draw(progress.counters, elapsed: start.seconds) }
    timer.resume()
    defer {
      timer.cancel()
      FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }
    return try await body()
  }

  static func draw(_ c: OperationProgress.Counters, elapsed: Double) {
    FileHandle.standardError.write(Data("\r\u{1B}[K\(ProgressLine.text(c, elapsed: elapsed))".utf8))
  }
}

/// The text of the progress line (public for its tests).
public enum ProgressLine {
  /// The progress line: files and bytes done from the first second, with the rate; once the
  /// scan has counted everything, the totals, the share done and an ETA. While the scan is still
  /// running, what it has found so far ("of 12,000+ found").
  public static func text(_ c: OperationProgress.Counters, elapsed: Double) -> String {
    var s = "[\(Format.duration(elapsed))] \(c.phase):"
    if let ft = c.filesTotal {
      s += " \(c.filesDone)/\(ft) files"
    } else {
      s += " \(Plural.count(c.filesDone, "file"))" + (c.scanned > 0 ? " of \(c.scanned)+ found" : "")
    }
    s += ", \(Format.bytes(c.bytesDone))"
    if let bt = c.bytesTotal, bt > 0 {
      s += "/\(Format.bytes(bt)) (\(Int(Double(c.bytesDone) / Double(bt) * 100))%)"
    } else if c.scannedBytes > 0 {
      s += " of \(Format.bytes(c.scannedBytes))+"
    }
    let rate = Double(c.bytesDone) / max(elapsed, 0.001)
    if elapsed >= 1 { s += ", \(Format.bytes(UInt64(rate)))/s" }
    if let bt = c.bytesTotal, rate > 0, bt > c.bytesDone, elapsed >= 1 {
      s += ", ETA \(Format.duration(Double(bt - c.bytesDone) / rate))"
    }
    if c.errors > 0 { s += ", \(Plural.count(c.errors, "error"))" }
    return s
  }
}

enum Format {
  static func bytes(_ n: UInt64) -> String { ByteCount.format(n) }

  static func duration(_ seconds: Double) -> String {
    let s = Int(seconds.rounded())
    if s >= 3600 { return String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) }
    return String(format: "%d:%02d", s / 60, s % 60)
  }

  static func time(_ d: Date) -> String { timeFormatter.string(from: d) }

  /// Made once: a formatter per line cost 90 µs, most of `snapshots` on 10,000 snapshots.
  nonisolated(unsafe) private static let timeFormatter: DateFormatter = {
    let f = DateFormatter()
    f.dateFormat = "yyyy-MM-dd HH:mm:ss"
    f.locale = Locale(identifier: "en_US_POSIX")
    f.timeZone = TimeZone.current
    return f
  }()
}

