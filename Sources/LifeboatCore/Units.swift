/// One convention for sizes everywhere Lifeboat shows one — the CLI, the dashboard, every
/// report: IEC binary units (KiB = 1024 B, MiB, GiB, TiB, PiB), three significant digits.
public enum ByteCount {
  public static func format(_ n: UInt64) -> String { format(Double(n)) }
  public static func format(_ n: Int64) -> String { format(Double(max(0, n))) }
  public static func format(_ n: Int) -> String { format(Double(max(0, n))) }

  public static func format(_ bytes: Double) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
    var v = max(0, bytes)
    var u = 0
    while v >= 1024 && u < units.count - 1 {
      v /= 1024
      u += 1
    }
    if u == 0 { return "\(Int(v)) B" }
    // Three significant digits: 1.46 GiB, 14.6 GiB, 146 GiB.
    let text: String
    if v < 9.995 {
      text = Self.fixed(v, decimals: 2)
    } else if v < 99.95 {
      text = Self.fixed(v, decimals: 1)
    } else {
      text = Self.fixed(v, decimals: 0)
    }
    return "\(text) \(units[u])"
  }

  /// `v` with `decimals` digits after the point, rounded half up (no Foundation).
  static func fixed(_ v: Double, decimals: Int) -> String {
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    let n = Int((v * scale).rounded())
    guard decimals > 0 else { return String(n) }
    let whole = n / Int(scale)
    var fraction = String(n % Int(scale))
    while fraction.count < decimals { fraction = "0" + fraction }
    return "\(whole).\(fraction)"
  }
}

/// "1 file", "2 files", "0 files": counts in sentences.
public enum Plural {
  public static func count(_ n: Int, _ one: String, _ many: String? = nil) -> String {
    "\(n) \(n == 1 ? one : many ?? one + "s")"
  }
}
