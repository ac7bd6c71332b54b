/// What the session tells its driver besides the ops to send.
public enum SessionEvent: Sendable, Equatable {
    /// The handshake finished: the server answered the PING that followed CONNECT, so CONNECT
    /// and every SUB sent with it were accepted.
    case ready(ServerInfo)
    /// A message for a subscription that is still active.
    case message(NATSMessage)
    /// `-ERR` from the server. Most are followed by the server closing the connection
    /// ("Authorization Violation", "Maximum Payload Violation", …); a few, such as
    /// "Permissions Violation for Subscription to …", are not.
    case serverError(String)
}

/// The client side of one NATS connection as a sans-IO state machine, driven like etcd's raft
/// node: the driver feeds parsed server ops to `received`, calls `subscribe`/`publish`/… for
/// the application, and writes the returned ops (in order) with `ClientEncoder`. No clock: the
/// driver sends keepalives with `ping()` on its own timer and treats a growing
/// `pingsOutstanding` as a dead connection.
///
/// Handshake: wait for INFO, then send CONNECT, the ops requested so far, and PING; the PONG
/// that answers that PING means the server processed everything before it, so the session is
/// ready. Ops requested before INFO are held back because nothing but CONNECT may come first.
public struct ClientSession: Sendable {
    public enum Phase: Sendable, Equatable {
        case awaitingInfo
        /// CONNECT and PING sent.
        case awaitingPong
        case ready
    }

    public struct Subscription: Sendable, Equatable {
        public var subject: String
        public var queue: String?
        /// Messages delivered on this connection and earlier ones.
        public var delivered: Int
        /// Total deliveries after which the server drops the subscription (UNSUB with max).
        public var max: Int?
    }

    public let options: ConnectOptions
    public private(set) var phase: Phase = .awaitingInfo
    /// The latest INFO, including the asynchronous updates a server sends (cluster changes,
    /// lame-duck mode).
    public private(set) var serverInfo: ServerInfo?
    /// Keepalive PINGs not yet answered.
    public private(set) var pingsOutstanding = 0
    public private(set) var subscriptions: [String: Subscription] = [:]
    private var nextSid = 1
    /// Ops requested before INFO; sent right after CONNECT.
    private var held: [ClientOp] = []

    public init(options: ConnectOptions) {
        self.options = options
    }

    public var isReady: Bool { phase == .ready }

    public mutating func received(_ op: ServerOp) -> (send: [ClientOp], events: [SessionEvent]) {
        switch op {
        case .info(let info):
            serverInfo = info
            guard phase == .awaitingInfo else { return ([], []) }
            phase = .awaitingPong
            let send = [.connect(options)] + held + [.ping]
            held = []
            return (send, [])
        case .ping:
            return ([.pong], [])
        case .pong:
            if phase == .awaitingPong, let serverInfo {
                phase = .ready
                return ([], [.ready(serverInfo)])
            }
            pingsOutstanding = Swift.max(0, pingsOutstanding - 1)
            return ([], [])
        case .ok:
            return ([], [])
        case .err(let text):
            return ([], [.serverError(text)])
        case .msg(let message), .hmsg(let message):
            return ([], deliver(message))
        }
    }

    private mutating func deliver(_ message: NATSMessage) -> [SessionEvent] {
        // Unknown sids are normal: a message may cross our UNSUB on the wire.
        guard var subscription = subscriptions[message.sid] else { return [] }
        subscription.delivered += 1
        if let max = subscription.max, subscription.delivered >= max {
            subscriptions[message.sid] = nil
        } else {
            subscriptions[message.sid] = subscription
        }
        return [.message(message)]
    }

    /// Allocates the next sid ("1", "2", …; never reused on this session) and subscribes.
    public mutating func subscribe(_ subject: String, queue: String? = nil)
        throws(ProtocolError) -> (sid: String, send: [ClientOp])
    {
        try ClientEncoder.validateToken(subject)
        if let queue { try ClientEncoder.validateToken(queue) }
        let sid = String(nextSid)
        nextSid += 1
        subscriptions[sid] = Subscription(subject: subject, queue: queue, delivered: 0, max: nil)
        return (sid, request(.sub(subject: subject, queue: queue, sid: sid)))
    }

    /// Unsubscribes now (`max` nil) or once `max` messages in total have been delivered on the
    /// sid. Messages already in flight for a dropped sid are ignored when they arrive.
    public mutating func unsubscribe(sid: String, after max: Int? = nil) -> [ClientOp] {
        guard var subscription = subscriptions[sid] else { return [] }
        if let max, max > subscription.delivered {
            subscription.max = max
            subscriptions[sid] = subscription
            return request(.unsub(sid: sid, max: max))
        }
        subscriptions[sid] = nil
        return request(.unsub(sid: sid, max: nil))
    }

    /// A publish, checked against the server's `max_payload` (headers count towards it) and,
    /// with headers, against both sides having enabled them.
    public mutating func publish(_ subject: String, replyTo: String? = nil, payload: [UInt8],
                                 headers: MessageHeaders? = nil) throws(ProtocolError) -> [ClientOp] {
        try ClientEncoder.validateToken(subject)
        if let replyTo { try ClientEncoder.validateToken(replyTo) }
        let op: ClientOp
        var size = payload.count
        if let headers {
            guard options.headers, serverInfo?.headers ?? true else {
                throw .malformed("headers not enabled on this connection")
            }
            size += try headers.encoded().count
            op = .hpub(subject: subject, replyTo: replyTo, headers: headers, payload: payload)
        } else {
            op = .pub(subject: subject, replyTo: replyTo, payload: payload)
        }
        if let serverInfo, size > serverInfo.maxPayload { throw .payloadTooLarge(size) }
        return request(op)
    }

    /// A keepalive PING; nothing before the handshake is done, which has its own PING.
    public mutating func ping() -> [ClientOp] {
        guard phase == .ready else { return [] }
        pingsOutstanding += 1
        return [.ping]
    }

    /// Prepares the session for a new connection: the handshake starts over and every active
    /// subscription is re-sent with its sid, with an auto-unsubscribe for the deliveries it has
    /// left (the new server counts from zero). Held publishes are kept.
    public mutating func connectionLost() {
        phase = .awaitingInfo
        pingsOutstanding = 0
        var resubscribe: [ClientOp] = []
        let sids = subscriptions.keys.sorted { ($0.count, $0) < ($1.count, $1) }
        for sid in sids {
            let subscription = subscriptions[sid]!
            resubscribe.append(.sub(subject: subscription.subject, queue: subscription.queue, sid: sid))
            if let max = subscription.max {
                resubscribe.append(.unsub(sid: sid, max: max - subscription.delivered))
            }
        }
        held = resubscribe + held.filter {
            if case .pub = $0 { return true }
            if case .hpub = $0 { return true }
            return false
        }
    }

    private mutating func request(_ op: ClientOp) -> [ClientOp] {
        guard phase != .awaitingInfo else {
            held.append(op)
            return []
        }
        return [op]
    }
}
