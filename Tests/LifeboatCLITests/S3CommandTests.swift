import Foundation
import LifeboatCLI
import LifeboatTesting
import Testing

/// The command line against a real S3 server (Ceph RADOS Gateway on 127.0.0.1).
@Suite(.enabled(if: S3TestServer.shouldRun), .serialized) struct S3CommandTests {
  /// Runs the lifeboat binary with S3 credentials in its environment (never on its command
  /// line); returns exit status and output.
  static func lifeboat(
    _ args: [String], repo: String, server: S3TestServer, writer: Bool = false,
    extraEnvironment: [String: String] = [:], dir: TemporaryDirectory
  ) async throws -> (code: Int32, output: String) {
    var env = server.environment(writer: writer)
    env["LIFEBOAT_PASSWORD"] = "s3-cli-test"
    for (k, v) in extraEnvironment { env[k] = v }
    let r = try await CLIFixture.launch(args + ["--repo", repo], environment: env, dir: dir)
    return (r.code, r.output)
  }

  /// `plan init` on S3: an immutable repository on a new bucket is created with Object Lock and
  /// every object locked; one on an existing bucket without Object Lock is refused, named.
  @Test func planInitCreatesAnImmutableRepositoryOnANewBucket() async throws {
    let server = try S3TestServer.require()
    let dir = TemporaryDirectory("lifeboat-s3-plan-init")
    defer { dir.remove() }
    let fresh = S3TestServer.bucketName("plan")
    let plain = S3TestServer.bucketName("plain")
    try server.createBucket(plain, objectLock: false)
    try FixtureTree.write(dir.sub("pass"), Array("vault password\n".utf8))
    try FixtureTree.build(at: dir.sub("data"), seed: 216, options: { var o = FixtureTree.Options(); o.files = 10; o.specialFiles = false; return o }())
    let plan = dir.sub("plan.yaml")
    try FixtureTree.write(plan, Array("""
      organization: O
      catalog: catalog.sqlite
      repositories:
        vault: { url: "s3:\(server.endpoint)/\(fresh)/lb", password: "file:\(dir.sub("pass"))", immutable_days: 2 }
        unlocked: { url: "s3:\(server.endpoint)/\(plain)/lb", password: "file:\(dir.sub("pass"))", immutable_days: 2 }
      systems:
        - name: Files
          sources: [{ path: \(dir.sub("data")) }]
          copies: [vault]

      """.utf8))
    var env = server.environment()
    env["LIFEBOAT_CACHE_DIR"] = "off"
    let r = try await CLIFixture.launch(["plan", "init", "--plan", plan, "--kdf", "pbkdf2"], environment: env, dir: dir)
    #expect(r.code == ExitStatus.fatal, "one of the two cannot be made immutable: \(r.output)")
    #expect(r.output.contains("created bucket \(fresh) with Object Lock"), "\(r.output)")
    #expect(r.output.contains("every object locked (compliance) for 2 days"))
    #expect(r.output.contains("unlocked") && r.output.contains("does not have Object Lock enabled"), "\(r.output)")
    #expect(r.output.contains("1 of 2 repositories ready (1 created); 1 failed"))
    let run = try await CLIFixture.launch(["run", "--all", "--plan", plan], environment: env, dir: dir)
    #expect(run.code == 0 && run.output.contains("backup vault success"), "\(run.output)")
    // The run kept the vault's locks in force and recorded it; the next run within a quarter
    // of the lock period does not inspect them again.
    let catalog = dir.sub("catalog.sqlite")
    let kept = try Subprocess.run(["sqlite3", catalog, "SELECT outcome || ' ' || details FROM jobs WHERE kind = 'locks'"]).output
    #expect(kept.hasPrefix("success {") && kept.contains("\"days\":2") && kept.contains("\"earliestUntil\""), "\(kept)")
    #expect(try await CLIFixture.launch(["run", "--all", "--plan", plan], environment: env, dir: dir).code == 0)
    let count = try Subprocess.run(["sqlite3", catalog, "SELECT count(*) FROM jobs WHERE kind = 'locks'"]).output
    #expect(count.trimmingCharacters(in: .whitespacesAndNewlines) == "1", "\(count)")
    let alerts = try await CLIFixture.launch(["alerts", "--plan", plan], environment: env, dir: dir)
    #expect(!alerts.output.contains("locks/vault"), "locks two days ahead do not alert: \(alerts.output)")
    let again = try await CLIFixture.launch(["plan", "init", "--plan", plan], environment: env, dir: dir)
    #expect(again.output.contains("exists and its password opens it, immutable for 2 days (compliance)"), "\(again.output)")
  }

  @Test func backupRestoreCheckAndAppendOnlyClientsOnAnImmutableBucket() async throws {
    let server = try S3TestServer.require()
    let dir = TemporaryDirectory("lifeboat-s3-cli")
    defer { dir.remove() }
    let bucket = S3TestServer.bucketName("cli")
    try server.createBucket(bucket, objectLock: true)
    let repo = "s3:\(server.endpoint)/\(bucket)/school"
    let src = dir.sub("src")
    try FixtureTree.build(at: src, seed: 21)
    func run(_ args: [String], writer: Bool = false) async throws -> (code: Int32, output: String) {
      // The writer writes into a bucket the owner owns: it hands ownership over per object.
      try await Self.lifeboat(
        args, repo: repo, server: server, writer: writer,
        extraEnvironment: writer ? ["LIFEBOAT_S3_ACL": "bucket-owner-full-control"] : [:], dir: dir)
    }

    let initialized = try await run(["init", "--immutable-days", "1", "--pack-size", "1"])
    #expect(initialized.code == 0, "\(initialized.output)")
    #expect(initialized.output.contains("immutable"))
    #expect(try await run(["backup", src]).code == 0)
    let restored = try await run(["restore", "latest", "--target", dir.sub("r"), "--verify"])
    #expect(restored.code == 0, "\(restored.output)")
    #expect(TreeComparison.differences(src, dir.sub("r") + src) == [])
    let check = try await run(["check", "--read-data"])
    #expect(check.code == 0, "\(check.output)")
    #expect(check.output.contains("are locked (compliance)"), "\(check.output)")
    let maintenance = try await run(["maintenance"])
    #expect(maintenance.code == 0 && maintenance.output.contains("objects in use"), "\(maintenance.output)")

    // An append-only client: may write and read, may not delete (bucket policy).
    let policy = """
      {"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam:::user/writer"]},
      "Action":["s3:PutObject","s3:PutObjectAcl","s3:GetObject","s3:ListBucket","s3:GetObjectRetention","s3:PutObjectRetention",
      "s3:GetBucketObjectLockConfiguration","s3:GetBucketVersioning","s3:ListBucketVersions"],
      "Resource":["arn:aws:s3:::\(bucket)","arn:aws:s3:::\(bucket)/*"]}]}
      """
    let set = try server.aws(["s3api", "put-bucket-policy", "--bucket", bucket, "--policy", policy])
    #expect(set.status == 0, "\(set.output)")
    try FixtureTree.write(src + "/new-by-writer.txt", Array("written by the append-only client".utf8))
    let writerBackup = try await run(["backup", src], writer: true)
    #expect(writerBackup.code == 0, "an append-only client can back up: \(writerBackup.output)")
    let writerForget = try await run(["forget", "--keep-last", "1"], writer: true)
    #expect(writerForget.code == 1)
    #expect(writerForget.output.contains("may write but not delete"), "\(writerForget.output)")
    #expect(try await run(["unlock"]).code == 0, "the writer's lock files are removed by the owner")

    // The owner forgets and prunes: removed objects are hidden, their versions stay locked.
    let pruned = try await run(["forget", "--keep-last", "1", "--prune", "--max-unused", "0%"])
    #expect(pruned.code == 0, "\(pruned.output)")
    #expect(pruned.output.contains("stay locked"), "\(pruned.output)")
    let snapshots = try await run(["snapshots", "--json"])
    #expect(snapshots.code == 0)
    #expect(snapshots.output.components(separatedBy: "\"tree\"").count - 1 == 1, "\(snapshots.output)")
    #expect(try await run(["check"]).code == 0)
  }

  @Test func anInterruptedBackupRemovesItsRemoteLock() async throws {
    let server = try S3TestServer.require()
    let dir = TemporaryDirectory("lifeboat-s3-cli")
    defer { dir.remove() }
    let bucket = S3TestServer.bucketName("sigint")
    try server.createBucket(bucket)
    let repo = "s3:\(server.endpoint)/\(bucket)/r"
    #expect(try await Self.lifeboat(["init"], repo: repo, server: server, dir: dir).code == 0)
    let p = Process()
    p.executableURL = URL(fileURLWithPath: CLIFixture.binary)
    p.arguments = ["backup", "--stdin-from-command", "echo start; sleep 60", "--stdin-filename", "x", "--repo", repo]
    var env = ProcessInfo.processInfo.environment
    for (k, v) in server.environment() { env[k] = v }
    env["LIFEBOAT_PASSWORD"] = "s3-cli-test"
    p.environment = env
    p.standardOutput = FileHandle.nullDevice
    p.standardError = FileHandle.nullDevice
    try p.run()
    // Wait until the backup holds its lock on the bucket.
    let locked = try await offThePool {
      for _ in 0..<100 {
        Thread.sleep(forTimeInterval: 0.2)
        if try server.aws(["s3api", "list-objects-v2", "--bucket", bucket, "--prefix", "r/locks/"]).output.contains("\"Key\"") { return true }
      }
      return false
    }
    #expect(locked, "the backup took a lock")
    kill(p.processIdentifier, SIGINT)
    try await offThePool { p.waitUntilExit() }
    #expect(p.terminationStatus == 130)
    let left = try server.aws(["s3api", "list-objects-v2", "--bucket", bucket, "--prefix", "r/locks/"]).output
    #expect(!left.contains("\"Key\""), "the lock was removed before exiting: \(left)")
    #expect(try await Self.lifeboat(["snapshots", "--json"], repo: repo, server: server, dir: dir).output.contains("[") )
  }

  @Test func errorsNameTheCauseAndUseTheDocumentedExitCodes() async throws {
    let server = try S3TestServer.require()
    let dir = TemporaryDirectory("lifeboat-s3-cli")
    defer { dir.remove() }
    let bucket = S3TestServer.bucketName("clierr")
    try server.createBucket(bucket)
    let repo = "s3:\(server.endpoint)/\(bucket)/r"

    let missingBucket = try await Self.lifeboat(
      ["snapshots"], repo: "s3:\(server.endpoint)/lb-missing-\(UInt32.random(in: 0...UInt32.max))/r",
      server: server, dir: dir)
    #expect(missingBucket.code == 10, "\(missingBucket.output)")
    #expect(missingBucket.output.contains("does not exist"))

    let noRepository = try await Self.lifeboat(["snapshots"], repo: repo, server: server, dir: dir)
    #expect(noRepository.code == 10, "\(noRepository.output)")

    let wrongSecret = try await Self.lifeboat(
      ["snapshots"], repo: repo, server: server,
      extraEnvironment: ["AWS_SECRET_ACCESS_KEY": "not-the-secret"], dir: dir)
    #expect(wrongSecret.code == 1)
    #expect(wrongSecret.output.contains("signature"), "\(wrongSecret.output)")
    #expect(!wrongSecret.output.contains(server.secretKey))

    let noLock = try await Self.lifeboat(["init", "--immutable-days", "7"], repo: repo, server: server, dir: dir)
    #expect(noLock.code == 1)
    #expect(noLock.output.contains("Object Lock"), "\(noLock.output)")

    let plain = try await Self.lifeboat(["init"], repo: repo, server: server, dir: dir)
    #expect(plain.code == 0, "\(plain.output)")
    let notImmutable = try await Self.lifeboat(["maintenance"], repo: repo, server: server, dir: dir)
    #expect(notImmutable.code == 1)
    #expect(notImmutable.output.contains("not an immutable repository"))
  }
}
