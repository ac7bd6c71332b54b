import NATSProtocol
import NIOCore

/// JetStream helpers: the JSON API (`$JS.API.…`) over one `NATSConnection`.
public struct JetStream: Sendable {
    public let connection: NATSConnection
    public var apiPrefix: String
    /// Per API call; stream creation on a cluster waits for a Raft group to form.
    public var apiTimeout: Duration

    public init(connection: NATSConnection, apiPrefix: String = "$JS.API", apiTimeout: Duration = .seconds(10)) {
        self.connection = connection
        self.apiPrefix = apiPrefix
        self.apiTimeout = apiTimeout
    }

    /// nats-server's `err_code` for "stream name already in use with a different configuration".
    static let streamNameInUse = 10058

    // MARK: Streams

    /// nats-server's `err_code` for "no suitable peers for placement": right after start-up the
    /// meta group may not know every server yet.
    static let noSuitablePeers = 10005

    /// Creates the stream, or returns the existing one of that name (whatever its config).
    /// While the cluster cannot place the replicas yet (10005) it retries every 250 ms for up to
    /// `placementWait`, so callers need not know how long a fresh cluster takes to form.
    @discardableResult
    public func createStream(name: String, subjects: [String], replicas: Int = 1,
                             storage: StorageType = .file, placementWait: Duration = .seconds(20)) async throws -> StreamInfo {
        let config = StreamConfigJSON(name: name, subjects: subjects, storage: storage, numReplicas: replicas)
        let deadline = ContinuousClock.now + placementWait
        while true {
            do {
                return try await call("STREAM.CREATE.\(name)", body: JSONCoding.encode(config), as: StreamInfoResponse.self).info()
            } catch NATSError.jetStream(_, Self.streamNameInUse, _) {
                return try await streamInfo(name: name)
            } catch NATSError.jetStream(_, Self.noSuitablePeers, _) where ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(250))
            }
        }
    }

    public func deleteStream(name: String) async throws {
        _ = try await call("STREAM.DELETE.\(name)", body: [], as: StreamDeleteResponse.self)
    }

    public func streamInfo(name: String) async throws -> StreamInfo {
        try await call("STREAM.INFO.\(name)", body: [], as: StreamInfoResponse.self).info()
    }

    /// `$JS.API.INFO`: succeeds once JetStream is up (on a cluster: a meta leader is elected).
    public func accountInfo() async throws -> (streams: Int, consumers: Int) {
        let info = try await call("INFO", body: [], as: AccountInfoResponse.self)
        return (info.streams ?? 0, info.consumers ?? 0)
    }

    /// Polls stream info until the stream has a leader; returns its server name. Errors while
    /// the group has no quorum (timeouts, 503s, "stream not available") count as "not yet".
    @discardableResult
    public func waitForLeader(stream: String, timeout: Duration = .seconds(15)) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        var lastError: Error = NATSError.timeout
        while ContinuousClock.now < deadline {
            do {
                var quick = self
                quick.apiTimeout = min(apiTimeout, .seconds(2))
                if let leader = try await quick.streamInfo(name: stream).leader { return leader }
            } catch NATSError.connectionClosed {
                throw NATSError.connectionClosed
            } catch {
                lastError = error
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw lastError
    }

    // MARK: Publishing

    /// Publishes and waits for the stream's ack. `msgID` goes in `Nats-Msg-Id` for de-duplication.
    public func publish(subject: String, payload: [UInt8], msgID: String? = nil,
                        timeout: Duration? = nil) async throws -> PubAck {
        let message = try await connection.request(subject: subject, payload: payload, headers: Self.headers(msgID),
                                                   timeout: timeout ?? apiTimeout)
        return try Self.pubAck(message)
    }

    /// On the connection's loop: publishes without waiting, so a load driver keeps many in
    /// flight on one connection. `completion` runs on the loop once.
    public func publish(subject: String, payload: [UInt8], msgID: String? = nil, timeout: Duration? = nil,
                        completion: @escaping (Result<PubAck, Error>) -> Void) {
        connection.request(subject: subject, payload: payload, headers: Self.headers(msgID),
                           timeout: timeout ?? apiTimeout) { result in
            completion(result.flatMap { message in Result { try Self.pubAck(message) } })
        }
    }

    private static func headers(_ msgID: String?) -> MessageHeaders? {
        msgID.map { MessageHeaders(fields: [.init(name: "Nats-Msg-Id", value: $0)]) }
    }

    private static func pubAck(_ message: NATSMessage) throws -> PubAck {
        let response = try JSONCoding.decode(PubAckResponse.self, from: message)
        guard let stream = response.stream, let seq = response.seq else {
            throw NATSError.unexpectedResponse(String(decoding: message.payload.prefix(200), as: UTF8.self))
        }
        return PubAck(stream: stream, seq: seq, duplicate: response.duplicate ?? false)
    }

    // MARK: Reading

    /// Every message up to the stream's last sequence at the time of the call, in order, through
    /// an ephemeral pull consumer (AckNone) fetched in batches, with the next batch requested
    /// while the current one is still arriving. One `STREAM.MSG.GET` per message would cost a
    /// round trip each.
    public func readAll(stream: String, batch: Int = 1_000, timeout: Duration = .seconds(60)) async throws
        -> [JetStreamMessage]
    {
        let deadline = ContinuousClock.now + timeout
        let info = try await streamInfo(name: stream)
        guard info.messages > 0 else { return [] }
        let name = try await createReadConsumer(stream: stream, deadline: deadline)
        let pullRequest = try JSONCoding.encode(PullRequest(batch: batch, expires: 5_000_000_000))
        let reader = StreamReader(connection: connection, nextSubject: "\(apiPrefix).CONSUMER.MSG.NEXT.\(stream).\(name)",
                                  pullRequest: pullRequest, batch: batch, lastSeq: info.lastSeq,
                                  expected: Int(info.messages))
        defer {
            connection.eventLoop.execute {
                reader.finish()
                try? connection.publish(subject: "\(apiPrefix).CONSUMER.DELETE.\(stream).\(name)", payload: [])
            }
        }
        let remaining = deadline - ContinuousClock.now
        let future = connection.eventLoop.flatSubmit { reader.start(timeout: remaining) }
        return try await future.get()
    }

    /// An ephemeral R1 consumer. Seconds after a node dies, nats-server 2.9 may still place the
    /// consumer on it, and then no one answers the create: measured in about one run in three of
    /// the failover test. So each try is short and a timeout (or a 503) is retried.
    private func createReadConsumer(stream: String, deadline: ContinuousClock.Instant) async throws -> String {
        let body = try JSONCoding.encode(ConsumerCreateRequest(streamName: stream))
        var quick = self
        quick.apiTimeout = min(apiTimeout, .seconds(2))
        while true {
            do {
                let consumer = try await quick.call("CONSUMER.CREATE.\(stream)", body: body, as: ConsumerInfoResponse.self)
                guard let name = consumer.name else { throw NATSError.unexpectedResponse("consumer create without a name") }
                return name
            } catch let error as NATSError where ContinuousClock.now + quick.apiTimeout < deadline {
                switch error {
                case .timeout, .noResponders, .jetStream(503, _, _): continue
                default: throw error
                }
            }
        }
    }

    // MARK: Plumbing

    private func call<Response: APIResponse>(_ api: String, body: [UInt8], as type: Response.Type) async throws -> Response {
        let message = try await connection.request(subject: "\(apiPrefix).\(api)", payload: body, timeout: apiTimeout)
        return try JSONCoding.decode(type, from: message)
    }
}

/// The loop-confined state of one `readAll`: an inbox subscription that collects deliveries and
/// keeps up to two pull requests outstanding.
private final class StreamReader: @unchecked Sendable {
    let connection: NATSConnection
    let nextSubject: String
    let pullRequest: [UInt8]
    let batch: Int
    let lastSeq: UInt64
    let inbox = "_INBOX." + NATSConnection.randomToken()
    var messages: [JetStreamMessage] = []
    /// Messages asked for by pull requests and not yet delivered.
    var outstanding = 0
    var sid: String?
    let promise: EventLoopPromise<[JetStreamMessage]>
    var deadline: Scheduled<Void>?

    init(connection: NATSConnection, nextSubject: String, pullRequest: [UInt8], batch: Int, lastSeq: UInt64,
         expected: Int) {
        self.connection = connection
        self.nextSubject = nextSubject
        self.pullRequest = pullRequest
        self.batch = batch
        self.lastSeq = lastSeq
        self.promise = connection.eventLoop.makePromise()
        messages.reserveCapacity(expected)
    }

    func start(timeout: Duration) -> EventLoopFuture<[JetStreamMessage]> {
        do {
            sid = try connection.subscribe(subject: inbox) { [self] message in received(message) }
            deadline = connection.eventLoop.scheduleTask(in: TimeAmount(timeout)) {
                self.promise.fail(NATSError.timeout)
            }
            // Weak: the connection's close future outlives this read.
            connection.closeFuture.whenComplete { [weak self] _ in self?.promise.fail(NATSError.connectionClosed) }
            try pullMore()
        } catch {
            promise.fail(error)
        }
        return promise.futureResult
    }

    func finish() {
        deadline?.cancel()
        if let sid { connection.unsubscribe(sid: sid) }
        sid = nil
        promise.fail(NATSError.connectionClosed)  // no-op once completed
    }

    private func pullMore() throws {
        while outstanding < batch {
            try connection.publish(subject: nextSubject, reply: inbox, payload: pullRequest)
            outstanding += batch
        }
    }

    private func received(_ message: NATSMessage) {
        guard sid != nil else { return }
        do {
            let headers = message.headers.flatMap { try? MessageHeaders(parsing: $0) }
            if let status = headers?.status {
                // 404 no messages / 408 request expired: that pull is over; ask again.
                // 409 and others: the consumer is gone or the server refuses.
                guard status == 404 || status == 408 else {
                    throw NATSError.jetStream(code: status, errorCode: 0, description: headers?.statusDescription ?? "")
                }
                outstanding = 0
                try pullMore()
                return
            }
            guard let seq = Self.streamSequence(replyTo: message.replyTo) else {
                throw NATSError.unexpectedResponse("delivery without an ack subject: \(message.replyTo ?? "nil")")
            }
            outstanding -= 1
            if seq <= lastSeq {
                messages.append(JetStreamMessage(seq: seq, subject: message.subject, payload: message.payload,
                                                 headers: headers))
            }
            if seq >= lastSeq {
                promise.succeed(messages)
                finish()
                return
            }
            try pullMore()
        } catch {
            promise.fail(error)
            finish()
        }
    }

    /// The stream sequence in a `$JS.ACK` subject: `$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>…`
    /// (9 tokens), or with domain and account hash first (12 or more tokens).
    static func streamSequence(replyTo: String?) -> UInt64? {
        guard let replyTo else { return nil }
        let tokens = replyTo.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        let index: Int
        switch tokens.count {
        case 9: index = 5
        case 12...: index = 7
        default: return nil
        }
        return UInt64(Substring(tokens[index]))
    }
}
