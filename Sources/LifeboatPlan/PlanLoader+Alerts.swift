// Reading database sources (`postgres:`, `mariadb:`, `sqlite:`) and alerting (`alerts:`,
// `smtp:`, `alert_policy:`), with the line of every mistake.

import Foundation
public import Yams

extension Reader {
  /// `postgres: { url, password, databases, globals, timeout }`, the same for `mariadb:`, and
  /// `sqlite: /path` or `sqlite: { path, timeout }`.
  mutating func database(_ engine: DatabaseSource.Engine, _ node: Node) -> DatabaseSource? {
    let what = "a \(engine.rawValue) source"
    if engine == .sqlite, node.scalar != nil {
      guard let path = string(node, "the SQLite file") else { return nil }
      guard path.hasPrefix("/") else {
        error(node, "the SQLite file \(path) must be an absolute path")
        return nil
      }
      return DatabaseSource(engine: .sqlite, location: path)
    }
    let e = entries(node, known: PlanKeys.database, what: what)
    guard !e.isEmpty || node.mapping != nil else { return nil }
    let timeout = e["timeout"].flatMap { duration($0.value, "timeout") }
    if engine == .sqlite {
      guard let p = e["path"], let path = string(p.value, "path"), path.hasPrefix("/") else {
        error(node, "a sqlite source needs `path:` with the database file's absolute path")
        return nil
      }
      for key in ["url", "password", "databases", "globals"] where e[key] != nil {
        error(e[key]!.key, "a sqlite source takes no \(key): it reads the file directly")
      }
      return DatabaseSource(engine: .sqlite, location: path, timeout: timeout)
    }
    guard let u = e["url"], let url = string(u.value, "url") else {
      error(node, "\(what) needs `url:`", hint: "url: \"\(engine.rawValue)://backup@db1:\(engine.defaultPort)/DATABASE\"")
      return nil
    }
    if e["path"] != nil { error(e["path"]!.key, "\(what) is reached by url:, not path:") }
    var source = DatabaseSource(engine: engine, location: url, timeout: timeout)
    do { _ = try source.connection() } catch let problem as PlanError {
      error(u.value, problem.message, hint: problem.hint)
      return nil
    } catch {}
    if let p = e["password"], let text = string(p.value, "password") {
      guard let ref = SecretReference(text) else {
        error(p.value, "the database password is written inline", hint: "never put secrets in the plan: write env:NAME or file:/path")
        return nil
      }
      source.password = ref
    }
    if let d = e["databases"] {
      let names = strings(d.value, "databases")
      source.databases = names == ["all"] ? [] : names
      if names == ["all"], (try? source.connection())??.database != nil {
        error(d.value, "databases: all, but the URL names one database", hint: "remove the database from the URL, or name the databases")
      }
    }
    if let g = e["globals"] {
      if engine != .postgres { error(g.key, "globals: is for PostgreSQL (roles and tablespaces)") }
      if let b = g.value.bool { source.globals = b } else { error(g.value, "globals must be true or false") }
    }
    return source
  }

  /// `smb: { url, username, password, domain, exclude, timeout }`.
  mutating func share(_ node: Node) -> ShareSource? {
    let e = entries(node, known: PlanKeys.share, what: "an smb source")
    guard let u = e["url"], let url = string(u.value, "url") else {
      error(node, "an smb source needs `url:`", hint: "url: \"smb://fileserver/staff\"")
      return nil
    }
    if let problem = ShareSource.problem(url) {
      error(u.value, problem.message, hint: problem.hint)
      return nil
    }
    var source = ShareSource(url: url)
    source.username = e["username"].flatMap { string($0.value, "username") }
    source.domain = e["domain"].flatMap { string($0.value, "domain") }
    source.excludes = e["exclude"].map { strings($0.value, "exclude") } ?? []
    source.timeout = e["timeout"].flatMap { duration($0.value, "timeout") }
    if let p = e["password"], let text = string(p.value, "password") {
      guard let ref = SecretReference(text) else {
        error(p.value, "the share's password is written inline", hint: "never put secrets in the plan: write env:NAME or file:/path")
        return nil
      }
      source.password = ref
    }
    if source.password != nil && source.username == nil {
      error(node, "an smb source with a password needs `username:`")
    }
    return source
  }

  /// `alerts:` (a list of `email: ADDRESS` and `webhook: URL` with `format:`), `smtp:` and
  /// `alert_policy:`.
  mutating func alertSettings(_ top: [String: (key: Node, value: Node)], server: ServerLink?) -> AlertSettings {
    var settings = AlertSettings()
    settings.dashboard = server.map { AlertSettings.tenantPage(server: $0.url, tenant: $0.tenant) }
    if let a = top["alerts"] {
      if let seq = a.value.sequence {
        for item in seq {
          let e = entries(item, known: PlanKeys.alert, what: "an alert")
          let line = item.mark?.line ?? 1
          if e["email"] != nil, e["webhook"] != nil {
            error(item, "an alert is either email: or webhook:, not both")
            continue
          }
          if let m = e["email"], let address = string(m.value, "email") {
            if e["format"] != nil { error(e["format"]!.key, "format: is for webhooks; e-mail is always text and HTML") }
            guard AlertTarget.isValidAddress(address) else {
              error(m.value, "'\(address)' is not an e-mail address", hint: "write one address, such as it-team@district.example")
              continue
            }
            settings.targets.append(AlertTarget(kind: .email(address), line: line))
          } else if let w = e["webhook"], let url = string(w.value, "webhook") {
            guard AlertTarget.isValidWebhook(url) else {
              error(w.value, "'\(url)' is not a webhook URL", hint: "write the https:// URL your chat or ticket system gave you")
              continue
            }
            var format = WebhookFormat.json
            if let f = e["format"], let text = string(f.value, "format") {
              if let v = WebhookFormat(rawValue: text) { format = v } else {
                error(f.value, "unknown webhook format '\(text)'", hint: "json (default), slack or teams")
              }
            }
            settings.targets.append(AlertTarget(kind: .webhook(url, format: format), line: line))
          } else if e["email"] == nil && e["webhook"] == nil {
            error(item, "an alert needs email: or webhook:")
          }
        }
      } else {
        error(a.value, "alerts must be a list", hint: "alerts: [{ email: it-team@district.example }, { webhook: https://hooks.example.net/x }]")
      }
    }
    if let s = top["smtp"] {
      let e = entries(s.value, known: PlanKeys.smtp, what: "smtp")
      let host = e["host"].flatMap { string($0.value, "smtp host") }
      let from = e["from"].flatMap { string($0.value, "smtp from") }
      if host == nil || from == nil {
        error(s.value, "smtp needs host and from", hint: "smtp: { host: mail.district.example, port: 587, from: lifeboat@district.example }")
      }
      if let from, let f = e["from"], !AlertTarget.isValidAddress(from) {
        error(f.value, "'\(from)' is not an e-mail address")
      }
      var smtp = SMTPSettings(host: host ?? "", from: from ?? "", line: s.key.mark?.line ?? 1)
      if let p = e["port"] {
        if let n = p.value.int, (1...65535).contains(n) { smtp.port = n } else { error(p.value, "port must be a number from 1 to 65535") }
      }
      if let sec = e["security"], let text = string(sec.value, "security") {
        if let v = SMTPSettings.Security(rawValue: text) { smtp.security = v } else {
          error(sec.value, "unknown smtp security '\(text)'", hint: "starttls (default), tls (port 465) or none")
        }
      } else if smtp.port == 465 {
        smtp.security = .tls
      }
      smtp.username = e["username"].flatMap { string($0.value, "username") }
      if let p = e["password"], let text = string(p.value, "password") {
        if let ref = SecretReference(text) { smtp.password = ref } else {
          error(p.value, "the smtp password is written inline", hint: "never put secrets in the plan: write env:NAME or file:/path")
        }
      }
      if (smtp.username == nil) != (smtp.password == nil) {
        error(s.value, "smtp needs both username and password, or neither")
      }
      if smtp.password != nil, smtp.security == .none {
        error(e["security"]?.value ?? s.value, "smtp would send its password unencrypted",
          hint: "use security: starttls (or tls), or drop the authentication for a local relay")
      }
      smtp.caFile = e["ca_file"].flatMap { string($0.value, "ca_file") }
      if host != nil, from != nil { settings.smtp = smtp }
    }
    if let emailTarget = settings.targets.first(where: { if case .email = $0.kind { true } else { false } }), top["smtp"] == nil {
      diagnostics.append(Diagnostic(severity: .error, file: file, line: emailTarget.line, column: 1,
        message: "e-mail alerts need a mail server",
        hint: "add smtp: { host: mail.district.example, port: 587, from: lifeboat@district.example, username: lifeboat, password: \"env:SMTP_PASS\" }"))
    }
    if let p = top["alert_policy"] {
      let e = entries(p.value, known: PlanKeys.alertPolicy, what: "alert_policy")
      if let r = e["remind_every"], let d = duration(r.value, "remind_every") { settings.remindEvery = d }
      if let d = e["digest"], let text = string(d.value, "digest") {
        let parts = text.split(separator: ":")
        if text == "none" {
          settings.digestHour = nil
        } else if parts.count == 2, let h = Int(parts[0]), (0...23).contains(h), parts[1] == "00" {
          settings.digestHour = h
        } else {
          error(d.value, "digest must be a time on the hour, such as 07:00, or none")
        }
      }
      if let d = e["dashboard"], let url = string(d.value, "dashboard") {
        if AlertTarget.isValidWebhook(url) { settings.dashboard = url } else { error(d.value, "dashboard must be an http(s) URL") }
      }
    }
    return settings
  }
}

extension PlanLoader {
  /// Alerting read from a mapping of `alerts:`, `smtp:` and `alert_policy:` outside a plan
  /// (the server's configuration, per tenant), with the same rules and diagnostics by line.
  /// `dashboard` is the link every message carries.
  public static func alertSettings(_ node: Node, file: String, dashboard: String?) -> (settings: AlertSettings, diagnostics: [Diagnostic]) {
    var reader = Reader(file: file)
    let top = reader.entries(node, known: ["alerts", "smtp", "alert_policy"], what: "alerting")
    var settings = reader.alertSettings(top, server: nil)
    settings.dashboard = dashboard ?? settings.dashboard
    return (settings, reader.diagnostics)
  }
}
