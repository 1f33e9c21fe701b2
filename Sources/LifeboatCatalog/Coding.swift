// Dates in JSON: the catalog's `details`, the reports and the server's API share one form.

public import Foundation

extension JSONEncoder {
  /// How drill reports and backup signals are stored in the catalog's `details`, and how the
  /// server's API writes dates: ISO 8601 with milliseconds (signals are matched to snapshots by time).
  public static var drill: JSONEncoder {
    let e = JSONEncoder()
    e.outputFormatting = .sortedKeys
    e.dateEncodingStrategy = .custom { date, encoder in
      var c = encoder.singleValueContainer()
      try c.encode(CatalogDates.formatter.string(from: date))
    }
    return e
  }
}

extension JSONDecoder {
  public static var drill: JSONDecoder {
    let d = JSONDecoder()
    d.dateDecodingStrategy = .custom { decoder in
      let text = try decoder.singleValueContainer().decode(String.self)
      guard let date = CatalogDates.formatter.date(from: text) ?? ISO8601DateFormatter().date(from: text) else {
        throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not an ISO 8601 date: '\(text)'"))
      }
      return date
    }
    return d
  }
}

enum CatalogDates {
  static var formatter: ISO8601DateFormatter {
    let f = ISO8601DateFormatter()
    f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    return f
  }
}
