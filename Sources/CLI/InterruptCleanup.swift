import Foundation
import Live
#if canImport(Glibc)
import Glibc
#endif

/// Commands that start processes (`load`, `calibrate`, `cluster up`) call this first. On SIGINT
/// or SIGTERM every process the run started — broker nodes, nats-server, PaaS services — is
/// stopped (SIGTERM, then SIGKILL after 2 s) before the command exits with 130. The fault proxy
/// and the load driver live in this process and end with it; results written so far stay.
/// Without it, `kill -INT` of the driver alone left the nodes running (they are not in the
/// terminal's foreground process group when started from a script).
func stopEverythingOnInterrupt() {
    onInterrupt { sig in
        let stopped = Descendants.terminateAll(grace: 2)
        printError("interrupted (signal \(sig)): stopped \(stopped) process(es) this run started")
    }
}

/// On SIGINT or SIGTERM: `cleanUp(signal)`, then exit 130.
func onInterrupt(_ cleanUp: @escaping @Sendable (Int32) -> Void) {
    signal(SIGINT, SIG_IGN)
    signal(SIGTERM, SIG_IGN)
    for sig in [SIGINT, SIGTERM] {
        let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
        source.setEventHandler {
            cleanUp(sig)
            exit(ExitStatus.interrupted.rawValue)
        }
        source.resume()
        InterruptSources.keep.append(source)
    }
}

/// The signal sources must outlive the call that made them.
private enum InterruptSources {
    nonisolated(unsafe) static var keep: [DispatchSourceSignal] = []
}

/// A progress line of a live command (nodes started, faults fired), flushed at once: through a
/// pipe (CI logs, `tee`, a supervising test) stdout is block-buffered, and a chaos run's timeline
/// must be visible as it happens.
func progress(_ line: String) {
    print(line)
    fflush(nil)
}
