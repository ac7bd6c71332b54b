#if canImport(Glibc)
import Glibc
#endif

/// glibc's malloc, left to its defaults, hands freed memory at the top of the heap back to the
/// kernel once 128 KiB are free there, and serves blocks above its (adaptive) threshold with a
/// fresh `mmap` each time. A simulation allocates and frees the same large buffers (log
/// segments, histograms, effect batches) over and over, so every seed paid page faults to get
/// back memory it had just released: 550,000 minor faults and 1.4 s of system time in a
/// 200-seed swarm. Keeping up to 512 MiB of free heap and growing it 64 MiB at a time cut that
/// to 72,000 faults and 0.3 s, and the run's wall time by 4–6% (measured with the same
/// settings as MALLOC_* environment variables).
///
/// Only for commands that simulate or crunch results: long-lived servers (broker nodes, PaaS
/// services) keep the defaults and give memory back.
enum AllocatorTuning {
    static let commands: Set<String> = ["run", "sweep", "run-jobs", "replay", "shrink", "explain", "bench", "report", "compare", "merge"]

    static func applyIfSimulating(_ arguments: [String]) {
        guard let command = arguments.first, commands.contains(command) else { return }
        #if canImport(Glibc)
        // Swift's Glibc module leaves out <malloc.h>: mallopt is found by name (absent on
        // other C libraries, then nothing changes). Parameter numbers from glibc's malloc.h.
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }
        let mallopt = unsafeBitCast(symbol, to: (@convention(c) (Int32, Int32) -> Int32).self)
        let trimThreshold: Int32 = -1, topPad: Int32 = -2, mmapThreshold: Int32 = -3
        _ = mallopt(mmapThreshold, 64 << 20)
        _ = mallopt(trimThreshold, 512 << 20)
        _ = mallopt(topPad, 64 << 20)
        #endif
    }
}
