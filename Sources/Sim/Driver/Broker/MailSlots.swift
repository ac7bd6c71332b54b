import SimCore

/// Messages in flight, by slot: a `.mail(slot:)` event carries the slot, not the message, so
/// that events stay small while the heap moves them.
///
/// A free slot holds `vacant` rather than nil. Storing `BrokerMail?` cost 1.8% of a broker
/// run's instructions (callgrind, steady-state): the compiler destroys that optional through
/// its generic value witness (about 100 instructions, each time a message is stored or taken),
/// while a plain `BrokerMail` is destroyed by a direct switch on its message.
struct MailSlots: Sendable {
    private var slots: [BrokerMail] = []
    /// Freed slots, reused last-freed first.
    private var free: [Int32] = []

    /// What a free slot holds: no process sends as node -1.
    private static let vacant = BrokerMail(from: -1, to: -1, body: .publishAck(requestID: 0, offset: 0), sentAt: 0)

    /// Stores `mail` in a free slot (or a new one) and returns the slot.
    mutating func put(_ mail: consuming BrokerMail) -> Int32 {
        if let slot = free.popLast() {
            slots[Int(slot)] = mail
            return slot
        }
        slots.append(mail)
        return Int32(slots.count - 1)
    }

    /// A second copy of the message in `slot`, in a new slot (the first delivery frees its own).
    mutating func duplicate(_ slot: Int32) -> Int32 {
        slots.append(slots[Int(slot)])
        return Int32(slots.count - 1)
    }

    /// The destination of the message in `slot`; nil when the slot is free.
    func destination(_ slot: Int) -> NodeID? {
        let to = slots.withUnsafeBufferPointer { $0[slot].to }
        return to >= 0 ? to : nil
    }

    /// The message in `slot` without taking it (nil when the slot is free).
    subscript(slot: Int) -> BrokerMail? {
        slots[slot].to >= 0 ? slots[slot] : nil
    }

    /// Moves the message out of `slot` (which must hold one) and frees the slot.
    mutating func take(_ slot: Int) -> BrokerMail {
        free.append(Int32(slot))
        // Moved out and replaced through the buffer: `swap` with the array's subscript cost
        // about 90 instructions per message (accessors, a temporary and its destruction).
        return slots.withUnsafeMutableBufferPointer { buffer in
            let pointer = buffer.baseAddress! + slot
            let mail = pointer.move()
            pointer.initialize(to: Self.vacant)
            return mail
        }
    }

    /// Drops the message in `slot` and frees the slot.
    mutating func release(_ slot: Int32) {
        slots[Int(slot)] = Self.vacant
        free.append(slot)
    }
}
