/// A catalog write that must not fail quietly. The catalog is the evidence of protection: a
/// job or an audit event it cannot record (a full disk, an I/O error) is reported, never
/// skipped. Runs `body`; when it throws, adds "catalog: cannot record WHAT: ERROR" to
/// `problems` and returns nil.
@discardableResult
func recordInCatalog<T>(_ what: String, into problems: inout [String], _ body: () throws -> T) -> T? {
  do { return try body() } catch {
    problems.append("catalog: cannot record \(what): \(error)")
    return nil
  }
}
