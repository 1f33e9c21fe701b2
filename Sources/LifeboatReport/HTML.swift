// Self-contained HTML: inline CSS and generated SVG, no JavaScript, no network; prints on one
// A4 page per report section.

import Foundation
import LifeboatCore
import LifeboatPosture

public enum HTML {
  /// Escapes text for HTML content and double-quoted attributes.
  public static func escape(_ s: String) -> String {
    s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
      .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
  }

  static let style = """
    @page { size: A4; margin: 12mm; }
    * { box-sizing: border-box; }
    body { font-family: "DejaVu Sans", "Helvetica Neue", Arial, sans-serif; color: #1d2433; margin: 0; font-size: 11px; }
    main { max-width: 186mm; margin: 0 auto; padding: 6mm 0; }
    h1 { font-size: 20px; margin: 0 0 2px; } h2 { font-size: 14px; margin: 16px 0 6px; border-bottom: 1px solid #d6dae3; padding-bottom: 3px; }
    .sub { color: #5b6478; margin: 0 0 10px; }
    table { width: 100%; border-collapse: collapse; table-layout: fixed; }
    th, td { text-align: left; vertical-align: top; padding: 4px 5px; border-bottom: 1px solid #eceef3; overflow-wrap: anywhere; }
    th { font-size: 10px; text-transform: uppercase; letter-spacing: .03em; color: #5b6478; }
    .light { display: inline-block; width: 11px; height: 11px; border-radius: 50%; vertical-align: -1px; margin-right: 4px; }
    .green { background: #2e9e5b; } .amber { background: #e6a119; } .red { background: #d23f3f; }
    .q { border-left: 4px solid #d6dae3; padding: 4px 8px; margin: 6px 0; }
    .q.green { border-color: #2e9e5b; background: #f1faf4; } .q.amber { border-color: #e6a119; background: #fdf8ec; } .q.red { border-color: #d23f3f; background: #fcf1f1; }
    .q b { display: block; margin-bottom: 2px; }
    .muted { color: #5b6478; } .small { font-size: 9.5px; }
    svg { display: block; max-width: 100%; }
    footer { margin-top: 14px; color: #5b6478; font-size: 9px; }
    """

  static func page(title: String, body: String) -> String {
    """
    <!DOCTYPE html>
    <html lang="en"><head><meta charset="utf-8"><title>\(escape(title))</title>
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <style>\(style)</style></head>
    <body><main>
    \(body)
    </main></body></html>

    """
  }

  static func light(_ l: Light) -> String { "<span class=\"light \(l.rawValue)\" title=\"\(l.rawValue)\"></span>" }

  /// Horizontal bars: one row per item, `value` against `limit` (both drawn to the row's own scale).
  static func bars(_ rows: [(label: String, value: Double?, limit: Double, note: String)], width: Int = 700) -> String {
    let rowH = 26
    let labelW = 180
    let noteW = 250
    let barW = Double(width - labelW - noteW)
    var svg = "<svg width=\"\(width)\" height=\"\(rows.count * rowH + 6)\" viewBox=\"0 0 \(width) \(rows.count * rowH + 6)\" role=\"img\">"
    for (i, r) in rows.enumerated() {
      let y = i * rowH + 4
      let scale = max(r.limit, r.value ?? 0)
      let limitW = scale > 0 ? barW * r.limit / scale : 0
      svg += "<text x=\"0\" y=\"\(y + 14)\" font-size=\"11\" fill=\"#1d2433\">\(escape(String(r.label.prefix(30))))</text>"
      svg += "<rect x=\"\(labelW)\" y=\"\(y + 3)\" width=\"\(String(format: "%.1f", limitW))\" height=\"14\" fill=\"#eceef3\" stroke=\"#b8bfcc\"/>"
      if let v = r.value {
        let w = scale > 0 ? max(2, barW * v / scale) : 2
        let color = v <= r.limit ? "#2e9e5b" : "#d23f3f"
        svg += "<rect x=\"\(labelW)\" y=\"\(y + 6)\" width=\"\(String(format: "%.1f", w))\" height=\"8\" fill=\"\(color)\"/>"
      }
      svg += "<text x=\"\(labelW + Int(barW) + 8)\" y=\"\(y + 14)\" font-size=\"10\" fill=\"#5b6478\">\(escape(String(r.note.prefix(44))))</text>"
    }
    return svg + "</svg>"
  }

  /// `$1,234,567`: whole dollars with thousands separators, the same on every machine.
  /// The one way reports write a date (`DateText`): "January 10, 2027".
  static func date(_ d: Date) -> String { DateText.day(d) }

  /// A moment: "January 10, 2027, 14:05 UTC".
  static func dateTime(_ d: Date) -> String { DateText.moment(d) }

  static func money(_ v: Double) -> String {
    let n = Int64(v.rounded())
    var digits = String(abs(n))
    var groups: [String] = []
    while digits.count > 3 {
      groups.insert(String(digits.suffix(3)), at: 0)
      digits = String(digits.dropLast(3))
    }
    groups.insert(digits, at: 0)
    return (n < 0 ? "-$" : "$") + groups.joined(separator: ",")
  }
}

extension ExecutiveReport {
  public var html: String {
    var body = "<header><h1>Recovery readiness — \(HTML.escape(organization))</h1>"
    body += "<p class=\"sub\">Board summary generated \(HTML.date(generated)) by Lifeboat \(LifeboatVersion.number). Green: on target with recent evidence. Amber: needs attention. Red: a gap.</p></header>"
    body += "<section id=\"questions\"><h2>Three questions for leadership</h2>"
    for a in answers {
      body += "<div class=\"q \(a.light.rawValue)\"><b>\(HTML.escape(a.question))</b>\(HTML.escape(a.answer))</div>"
    }
    body += "</section><section id=\"systems\"><h2>Systems</h2><table><colgroup><col style=\"width:18%\"><col style=\"width:21%\"><col style=\"width:21%\"><col style=\"width:21%\"><col style=\"width:19%\"></colgroup>"
    body += "<tr><th>System</th><th>Backups (RPO)</th><th>Recovery (RTO)</th><th>Copies (3-2-1-1-0)</th><th>Integrity</th></tr>"
    for s in systems {
      body += "<tr><td><b>\(HTML.escape(s.name))</b><br><span class=\"muted small\">\(s.tier)\(s.owner.map { " · " + HTML.escape($0) } ?? "")</span></td>"
      body += "<td>\(HTML.light(s.rpo))\(HTML.escape(s.rpoText))</td><td>\(HTML.light(s.rto))\(HTML.escape(s.rtoText))</td>"
      body += "<td>\(HTML.light(s.copies))\(HTML.escape(s.copiesText))</td><td>\(HTML.light(s.integrity))\(HTML.escape(s.integrityText))</td></tr>"
    }
    body += "</table></section>"
    body += "<section id=\"recovery\"><h2>Measured recovery time against the objective</h2>"
    body += HTML.bars(
      systems.map { s in
        (s.name, s.measuredRecoverySeconds, s.rtoSeconds,
          s.measuredRecoverySeconds.map { "\(ExecutiveReport.age($0)) of \(ExecutiveReport.age(s.rtoSeconds))" } ?? "never tested")
      })
    body += "<p class=\"muted small\">Grey: the recovery time objective. Bar: the last drill's measured restore, verification and checks (green within, red over).</p></section>"
    body += "<section id=\"costs\"><h2>What downtime would cost</h2><table><tr><th>Outage</th><th>Organization</th>"
    // A critical system's column only where its figures differ from the organization's.
    let critical = (costs.first.map { $0.perCriticalSystem.keys.sorted() } ?? []).filter { name in
      costs.contains { abs(($0.perCriticalSystem[name] ?? 0) - $0.organization) >= 0.5 }
    }
    for c in critical { body += "<th>\(HTML.escape(c))</th>" }
    body += "</tr>"
    for c in costs {
      let label = c.hours == 168 ? "1 week" : "\(Int(c.hours)) hours"
      body += "<tr><td>\(label)</td><td><b>\(HTML.money(c.organization))</b></td>"
      for name in critical { body += "<td>\(HTML.money(c.perCriticalSystem[name] ?? 0))</td>" }
      body += "</tr>"
    }
    body += "</table>"
    if !measuredRecoveryCost.isEmpty {
      if ExecutiveReport.isNegligible(measuredRecoveryCost) {
        body += "<p>The measured recoveries were quick: their downtime cost is negligible (under $100 each). "
          + "The figures above are what an outage costs if recovery does not go as drilled.</p>"
      } else {
        body += "<p>Cost of the measured recovery: " + measuredRecoveryCost.sorted { $0.key < $1.key }
          .map { "\(HTML.escape($0.key)) \(HTML.money($0.value))" }.joined(separator: "; ") + ".</p>"
      }
    }
    body += "</section><section id=\"findings\"><h2>Open findings</h2>"
    let all = systems.flatMap { s in s.findings.map { (s.name, $0) } }
    if all.isEmpty { body += "<p>None.</p>" } else {
      body += "<ul>" + all.map { "<li><b>\(HTML.escape($0.0))</b>: \(HTML.escape($0.1))</li>" }.joined() + "</ul>"
    }
    body += "</section><section id=\"actions\"><h2>Recommended actions</h2>"
    if actions.isEmpty { body += "<p>None: every system is on target.</p>" } else {
      body += "<table><colgroup><col style=\"width:44%\"><col style=\"width:20%\"><col style=\"width:22%\"><col style=\"width:14%\"></colgroup><tr><th>Action</th><th>System</th><th>Owner</th><th>Due</th></tr>"
      for a in actions {
        body += "<tr><td>\(HTML.light(a.severity))\(HTML.escape(a.action))</td><td>\(HTML.escape(a.system ?? "organization"))</td><td>\(HTML.escape(a.owner))</td><td>\(HTML.date(a.due))</td></tr>"
      }
      body += "</table>"
    }
    body += "</section><section id=\"signoff\"><h2>Sign-off</h2><table>"
    body += "<tr><td style=\"width:22%\">Prepared by</td><td>\(HTML.escape(preparedBy ?? ""))</td><td style=\"width:30%\">Date:</td></tr>"
    body += "<tr><td>Reviewed by</td><td>\(HTML.escape(reviewedBy ?? ""))</td><td>Date:</td></tr></table>"
    body += "</section><footer>Audit log: \(auditChain.events) events, chain \(auditChain.isIntact ? "intact" : "BROKEN"), head \(auditChain.head). "
    body += "Evidence supports these statements; it does not certify compliance.</footer>"
    return HTML.page(title: "Recovery readiness — \(organization)", body: body)
  }
}
