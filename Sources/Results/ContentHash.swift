import Foundation
import Sampling

/// Content hashes as 16 hex digits: enough to tell an edited file or another build (a
/// cryptographic hash would guard against forgery, which is not the threat here).
public enum ContentHash {
    /// FNV-1a 64 of the bytes (`stableHash`): the `scenario_hash` results record.
    public static func hex(of data: Data) -> String {
        hex16(stableHash(bytes: data))
    }

    public static func hex(ofFile path: String) -> String? {
        guard !path.isEmpty, let data = FileManager.default.contents(atPath: path) else { return nil }
        return hex(of: data)
    }

    static func hex16(_ value: UInt64) -> String {
        let hex = String(value, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}

extension ContentHash {
    /// For large files (the faultline binary a job plan names, ~100 MB): FNV-style mixing of
    /// 64-bit words in four independent lanes over a memory-mapped file. Byte-wise FNV took
    /// 0.18 s of every shard's start on this machine; this takes a few ms. Not the same value
    /// as `hex(of:)` — used only where both sides compute it the same way.
    public static func wideHex(ofFile path: String) -> String? {
        guard let data = try? Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) else { return nil }
        let prime: UInt64 = 0x0000_0100_0000_01B3
        var a: UInt64 = 0xcbf2_9ce4_8422_2325, b = a ^ 1, c = a ^ 2, d = a ^ 3
        var tail: UInt64 = 0
        data.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) in
            let blocks = bytes.count / 32
            var offset = 0
            for _ in 0..<blocks {
                a = (a ^ bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) &* prime
                b = (b ^ bytes.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self)) &* prime
                c = (c ^ bytes.loadUnaligned(fromByteOffset: offset + 16, as: UInt64.self)) &* prime
                d = (d ^ bytes.loadUnaligned(fromByteOffset: offset + 24, as: UInt64.self)) &* prime
                offset += 32
            }
            tail = stableHash(bytes: bytes[offset...])
        }
        var combined: UInt64 = 0xcbf2_9ce4_8422_2325
        for lane in [a, b, c, d, tail, UInt64(data.count)] {
            // Folding the high bits in (where the multiplications push entropy) keeps them in play.
            combined = (combined ^ lane ^ (lane >> 29)) &* prime
        }
        return hex16(combined)
    }
}
