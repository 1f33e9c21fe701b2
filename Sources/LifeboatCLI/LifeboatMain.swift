import ArgumentParser
import CLifeboatSystem
import Dispatch
import Foundation
import LifeboatRepository
import LifeboatCore
import Synchronization

/// The program's entry point: tunes malloc, installs the interrupt handler, runs the command
/// and maps its outcome to an exit code.
public enum LifeboatMain {
  public static func main(_ arguments: [String] = Array(CommandLine.arguments.dropFirst())) async
    -> Int32
  {
    lifeboat_tune_malloc()
    let command: any ParsableCommand
    if arguments.first == "help", let unknown = CommandSpelling.unknownCommand(in: arguments) {
      FileHandle.standardError.write(Data((unknown + "\n").utf8))
      return ExitStatus.fatal
    }
    do {
      command = try LifeboatCommand.parseAsRoot(arguments)
    } catch {
      let code = LifeboatCommand.exitCode(for: error)
      let message = LifeboatCommand.fullMessage(for: error)
      if code == .success {
        print(message)
        return 0
      }
      let unknown = CommandSpelling.unknownCommand(in: arguments)
      FileHandle.standardError.write(Data(((unknown ?? message) + "\n").utf8))
      return ExitStatus.fatal
    }
    if !(command is any ManagesOwnSignals) { Interrupts.install() }
    do {
      if var async = command as? any AsyncParsableCommand {
        try await async.run()
      } else {
        var sync = command
        try sync.run()
      }
      return 0
    } catch let e as PartialSuccess {
      return e.code
    } catch let e as ExitCode {
      return e.rawValue
    } catch let e as LifeboatError {
      Output.error(e)
      return ExitStatus.code(for: e)
    } catch is CancellationError {
      return ExitStatus.interrupted
    } catch {
      // Help, version and usage errors raised while running (ArgumentParser's own errors).
      let message = LifeboatCommand.fullMessage(for: error)
      if LifeboatCommand.exitCode(for: error) == .success {
        print(message)
        return 0
      }
      FileHandle.standardError.write(Data((message + "\n").utf8))
      return ExitStatus.fatal
    }
  }
}

/// A command that handles SIGINT and SIGTERM itself (the agent's graceful shutdown).
protocol ManagesOwnSignals {}

/// SIGINT/SIGTERM: release held locks, then exit 130 (restic's convention). Everything written
/// before the interrupt stays valid; the next run reuses uploaded packs.
enum Interrupts {
  nonisolated(unsafe) static var sources: [any DispatchSourceSignal] = []
  private static let installed = Mutex(false)

  static func install() {
    guard installed.withLock({ done in defer { done = true }; return !done }) else { return }
    for sig in [SIGINT, SIGTERM] {
      signal(sig, SIG_IGN)
      let src = DispatchSource.makeSignalSource(signal: sig, queue: .global())
      src.setEventHandler {
        FileHandle.standardError.write(Data("\ninterrupted; removing lock\n".utf8))
        HeldLocks.releaseAll()
        exit(ExitStatus.interrupted)
      }
      src.resume()
      sources.append(src)
    }
  }
}
