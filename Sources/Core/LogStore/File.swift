import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An open file of the store. Positional reads and writes only (`pread`/`pwrite`), so nothing
/// depends on a shared file offset; blocking, for the caller's dedicated storage thread.
final class PosixFile: StoreFile {
    public let path: String
    private var descriptor: Int32

    private init(path: String, descriptor: Int32) {
        self.path = path
        self.descriptor = descriptor
    }

    deinit { close() }

    static func open(_ path: String, create: Bool = false, truncate: Bool = false, readOnly: Bool = false) throws -> PosixFile {
        var flags = (readOnly ? O_RDONLY : O_RDWR) | O_CLOEXEC
        if create { flags |= O_CREAT }
        if truncate { flags |= O_TRUNC }
        let descriptor = retryingOnInterrupt { Glibc_open(path, flags, 0o644) }
        guard descriptor >= 0 else { throw LogStoreError.io(operation: "open", path: path, errno: errno) }
        return PosixFile(path: path, descriptor: descriptor)
    }

    public func write(_ bytes: [UInt8], at offset: UInt64) throws {
        try bytes.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let written = pwrite(descriptor, raw.baseAddress! + done, raw.count - done, off_t(offset) + off_t(done))
                if written < 0 {
                    if errno == EINTR { continue }
                    throw LogStoreError.io(operation: "pwrite", path: path, errno: errno)
                }
                done += written
            }
        }
    }

    /// Up to `count` bytes from `offset`; fewer only at the end of the file.
    public func read(count: Int, at offset: UInt64) throws -> [UInt8] {
        try [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            initialized = 0
            while initialized < count {
                let got = pread(descriptor, buffer.baseAddress! + initialized, count - initialized, off_t(offset) + off_t(initialized))
                if got < 0 {
                    if errno == EINTR { continue }
                    throw LogStoreError.io(operation: "pread", path: path, errno: errno)
                }
                if got == 0 { break }
                initialized += got
            }
        }
    }

    public func size() throws -> UInt64 {
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            throw LogStoreError.io(operation: "fstat", path: path, errno: errno)
        }
        return UInt64(status.st_size)
    }

    public func truncate(to size: UInt64) throws {
        guard retryingOnInterrupt({ ftruncate(descriptor, off_t(size)) }) == 0 else {
            throw LogStoreError.io(operation: "ftruncate", path: path, errno: errno)
        }
    }

    /// Data and size reach the disk. `fdatasync` on Linux: it skips timestamps but still
    /// flushes a size change, which is all an append or a truncation needs.
    public func sync() throws {
        #if os(Linux)
        let result = retryingOnInterrupt { fdatasync(descriptor) }
        #else
        let result = retryingOnInterrupt { fsync(descriptor) }
        #endif
        guard result == 0 else { throw LogStoreError.io(operation: "fsync", path: path, errno: errno) }
    }

    public func close() {
        guard descriptor >= 0 else { return }
        _ = Glibc_close(descriptor)
        descriptor = -1
    }
}

/// Directory operations. Creating, renaming or deleting a file is durable only once its
/// directory is fsynced (ext4/XFS order data, not directory entries, for us).
public struct PosixFileSystem: StoreFileSystem {
    public init() {}

    public func open(_ path: String, create: Bool, truncate: Bool, readOnly: Bool) throws -> any StoreFile {
        try PosixFile.open(path, create: create, truncate: truncate, readOnly: readOnly)
    }

    /// Creates `path` (and parents); when it was new, fsyncs the parent so it survives a crash.
    public func makeDirectory(_ path: String) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue { return }
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        try syncDirectory((path as NSString).deletingLastPathComponent)
    }

    public func syncDirectory(_ path: String) throws {
        let descriptor = retryingOnInterrupt { Glibc_open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0) }
        guard descriptor >= 0 else { throw LogStoreError.io(operation: "open", path: path, errno: errno) }
        defer { _ = Glibc_close(descriptor) }
        guard retryingOnInterrupt({ fsync(descriptor) }) == 0 else {
            throw LogStoreError.io(operation: "fsync", path: path, errno: errno)
        }
    }

    public func list(_ path: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: path)
    }

    public func exists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }

    /// Deletes a file; a missing one is fine.
    public func remove(_ path: String) throws {
        guard unlink(path) == 0 || errno == ENOENT else {
            throw LogStoreError.io(operation: "unlink", path: path, errno: errno)
        }
    }

    public func rename(_ from: String, to: String) throws {
        guard Foundation.rename(from, to) == 0 else {
            throw LogStoreError.io(operation: "rename", path: from, errno: errno)
        }
    }

    public func removeDirectory(_ path: String) throws {
        guard exists(path) else { return }
        try FileManager.default.removeItem(atPath: path)
        try syncDirectory((path as NSString).deletingLastPathComponent)
    }
}

private func retryingOnInterrupt(_ call: () -> Int32) -> Int32 {
    while true {
        let result = call()
        if result >= 0 || errno != EINTR { return result }
    }
}

#if canImport(Glibc)
private func Glibc_open(_ path: String, _ flags: Int32, _ mode: mode_t) -> Int32 { Glibc.open(path, flags, mode) }
private func Glibc_close(_ descriptor: Int32) -> Int32 { Glibc.close(descriptor) }
#else
private func Glibc_open(_ path: String, _ flags: Int32, _ mode: mode_t) -> Int32 { Darwin.open(path, flags, mode) }
private func Glibc_close(_ descriptor: Int32) -> Int32 { Darwin.close(descriptor) }
#endif
