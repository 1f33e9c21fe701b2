/// The program's version: recorded in snapshots, printed by `lifeboat version`, stated in
/// every report an auditor receives.
public enum LifeboatVersion {
  public static let number = "0.1.0"
  public static let string = "lifeboat \(number)"
}
