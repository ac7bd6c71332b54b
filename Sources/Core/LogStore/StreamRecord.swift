import Replication

/// The on-disk form of one `LogEntry` in a segment file, little-endian:
///
///     length        u32  bytes after the checksum field: 48 + data.count
///     checksum      u32  CRC-32C of the length field and of everything after the checksum
///     offset        u64
///     leaderEpoch   u64
///     producerID    u64
///     sequence      u64
///     bytes         i64  the payload's modelled size (data.count in live mode)
///     producerEpoch u64  the producer's incarnation (idempotence, `ProducerTable`)
///     data          length - 48 bytes
///
/// The checksum covers the length so that a torn or flipped length is caught like any other
/// damage instead of sending the parser off to a wrong record boundary.
enum StreamRecord {
    static let headerSize = 8
    static let fixedBodySize = 48

    enum Parsed {
        case entry(LogEntry, size: Int)
        /// The buffer ends inside the record (a torn write, or a read that must fetch more).
        case incomplete
        /// Bad length or checksum.
        case corrupt
    }

    static func encodedSize(_ entry: LogEntry) -> Int {
        encodedSize(dataCount: entry.payload.data.count)
    }

    static func encodedSize(dataCount: Int) -> Int {
        headerSize + fixedBodySize + dataCount
    }

    /// Encodes the entry at `entry` (a pointer into the caller's array: taking the entry by
    /// value copied it whole, through its value witness, for every record encoded).
    static func append(_ entry: UnsafePointer<LogEntry>, to buffer: inout [UInt8]) {
        let (offset, leaderEpoch) = (entry.pointee.offset, entry.pointee.leaderEpoch)
        let (producerID, sequence, bytes, producerEpoch) = (
            entry.pointee.payload.producerID, entry.pointee.payload.sequence, entry.pointee.payload.bytes,
            entry.pointee.payload.producerEpoch)
        let data = entry.pointee.payload.data
        let dataCount = data.count
        precondition(dataCount <= Int(UInt32.max) - fixedBodySize, "record too large")
        let start = buffer.count
        // The fixed fields are laid out in a stack buffer and appended at once: eight appends of
        // a few bytes each cost twice the rest of the encoding (measured in a simulated broker
        // run, which encodes every replica's every record).
        withUnsafeTemporaryAllocation(byteCount: headerSize + fixedBodySize, alignment: 8) { fixed in
            fixed.storeBytes(of: UInt32(fixedBodySize + dataCount).littleEndian, toByteOffset: 0, as: UInt32.self)
            fixed.storeBytes(of: UInt32(0), toByteOffset: 4, as: UInt32.self)
            fixed.storeBytes(of: offset.littleEndian, toByteOffset: 8, as: UInt64.self)
            fixed.storeBytes(of: leaderEpoch.littleEndian, toByteOffset: 16, as: UInt64.self)
            fixed.storeBytes(of: producerID.littleEndian, toByteOffset: 24, as: UInt64.self)
            fixed.storeBytes(of: sequence.littleEndian, toByteOffset: 32, as: UInt64.self)
            fixed.storeBytes(of: Int64(bytes).littleEndian, toByteOffset: 40, as: Int64.self)
            fixed.storeBytes(of: producerEpoch.littleEndian, toByteOffset: 48, as: UInt64.self)
            buffer.append(contentsOf: UnsafeRawBufferPointer(fixed))
        }
        if !data.isEmpty { buffer.append(contentsOf: data) }
        buffer.withUnsafeMutableBytes { bytes in
            let crc = UnsafeRawBufferPointer(bytes).checksum(start..<start + 4, start + 8..<bytes.count)
            bytes.storeBytes(of: crc.littleEndian, toByteOffset: start + 4, as: UInt32.self)
        }
    }

    /// The record at `position`, checksum verified.
    static func parse(_ buffer: UnsafeRawBufferPointer, at position: Int) -> Parsed {
        guard let length = length(buffer, at: position) else { return .incomplete }
        guard length >= fixedBodySize else { return .corrupt }
        let end = position + headerSize + length
        guard end <= buffer.count else { return .incomplete }
        let body = position + headerSize
        guard buffer.littleEndian(at: position + 4, as: UInt32.self)
            == buffer.checksum(position..<position + 4, body..<end)
        else { return .corrupt }
        let payload = LogPayload(
            producerID: buffer.littleEndian(at: body + 16, as: UInt64.self),
            producerEpoch: buffer.littleEndian(at: body + 40, as: UInt64.self),
            sequence: buffer.littleEndian(at: body + 24, as: UInt64.self),
            bytes: Int(truncatingIfNeeded: buffer.littleEndian(at: body + 32, as: Int64.self)),
            data: Array(buffer[(body + fixedBodySize)..<end]))
        let entry = LogEntry(
            offset: buffer.littleEndian(at: body, as: UInt64.self),
            leaderEpoch: buffer.littleEndian(at: body + 8, as: UInt64.self),
            payload: payload)
        return .entry(entry, size: end - position)
    }

    /// The length field at `position`, if the buffer holds it.
    static func length(_ buffer: UnsafeRawBufferPointer, at position: Int) -> Int? {
        guard buffer.count - position >= headerSize else { return nil }
        return Int(buffer.littleEndian(at: position, as: UInt32.self))
    }
}
