/// "Did you mean …?" for every mistyped name: plan keys, commands, help topics.
public enum Spelling {
  /// The word of `words` closest to `word` by edit distance (case-insensitive), when it is
  /// close enough to be a typo: at most 2 edits, or a third of the word's length.
  public static func closest(_ word: String, in words: [String]) -> String? {
    let typed = Array(word.lowercased())
    let scored = words.map { ($0, distance(typed, Array($0.lowercased()))) }.min { $0.1 < $1.1 }
    guard let (best, d) = scored, d <= max(2, word.count / 3) else { return nil }
    return best
  }

  /// Levenshtein distance.
  public static func distance(_ a: [Character], _ b: [Character]) -> Int {
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var row = Array(0...b.count)
    for i in 1...a.count {
      var prev = row[0]
      row[0] = i
      for j in 1...b.count {
        let cur = row[j]
        row[j] = min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] == b[j - 1] ? 0 : 1))
        prev = cur
      }
    }
    return row[b.count]
  }
}
