import Foundation
import LifeboatCore
import LifeboatStorage
import LifeboatTesting
import Synchronization
import Testing

@Suite struct RetryTests {
  /// A policy that records its waits instead of sleeping.
  final class Waits: Sendable {
    let values = Mutex<[Duration]>([])
    var policy: RetryPolicy {
      RetryPolicy(attempts: 5, baseDelay: .milliseconds(100), maxDelay: .seconds(1)) { d in
        self.values.withLock { $0.append(d) }
      }
    }
  }

  @Test func transientFaultsAreRetriedAndTheContractHolds() async {
    let faulty = FaultInjectingBackend(MemoryBackend())
    var f = FaultInjectingBackend.Faults()
    f.transientFailures = 3
    faulty.setFaults(f)
    let waits = Waits()
    let backend = RetryingBackend(faulty, policy: waits.policy)
    #expect(await BackendConformance.run(backend) == [])
    #expect(faulty.transientFailuresInjected == 3)
    #expect(waits.values.withLock { $0.count } == 3)
  }

  @Test func backoffGrowsWithJitterUnderItsCeiling() async throws {
    let waits = Waits()
    let policy = waits.policy
    var tries = 0
    let value = try await policy.run { _ in
      tries += 1
      if tries < 5 { throw StorageError(.io, nil, "503") }
      return 42
    }
    #expect(value == 42 && tries == 5)
    let seen = waits.values.withLock { $0 }
    #expect(seen.count == 4)
    for (i, d) in seen.enumerated() {
      #expect(d >= .zero && d <= policy.ceiling(afterAttempt: i + 1))
    }
    #expect(policy.ceiling(afterAttempt: 1) == .milliseconds(100))
    #expect(policy.ceiling(afterAttempt: 3) == .milliseconds(400))
    #expect(policy.ceiling(afterAttempt: 10) == .seconds(1), "capped at maxDelay")
  }

  @Test func permanentErrorsAndExhaustedRetriesFail() async {
    let waits = Waits()
    var tries = 0
    await #expect(throws: StorageError.self) {
      try await waits.policy.run { _ in
        tries += 1
        throw StorageError(.permissionDenied, nil, "403")
      }
    }
    #expect(tries == 1, "a permanent error is not retried")
    tries = 0
    await #expect(throws: StorageError.self) {
      try await waits.policy.run { _ in
        tries += 1
        throw StorageError(.io, nil, "503")
      }
    }
    #expect(tries == 5, "gives up after `attempts` tries")
  }

  @Test func aRetriedSaveWhoseAnswerWasLostIsHarmless() async throws {
    let memory = MemoryBackend()
    let faulty = FaultInjectingBackend(memory)
    var f = FaultInjectingBackend.Faults()
    f.transientFailures = 2
    f.transientAfterWrite = true
    faulty.setFaults(f)
    let backend = RetryingBackend(faulty, policy: Waits().policy)
    let data: [UInt8] = Array("snapshot".utf8)
    let h = Handle(.snapshot, BackendConformance.contentName(data))
    try await backend.save(h, data: data)
    #expect(try await memory.load(h) == data)
    #expect(try await memory.list(.snapshot).count == 1)
    // A remove whose first answer was lost finds the object gone on the retry: done.
    f.transientFailures = 1
    faulty.setFaults(f)
    try await backend.remove(h)
    #expect(try await memory.exists(h) == false)
  }
}
