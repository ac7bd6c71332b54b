/// What a NATS server sends to a client (docs.nats.io, "Client Protocol").
public enum ServerOp: Sendable, Equatable {
    case info(ServerInfo)
    case msg(NATSMessage)
    /// A message with a header block (`HMSG`); `NATSMessage.headers` is never nil here.
    case hmsg(NATSMessage)
    case ping
    case pong
    /// `+OK`: only sent in verbose mode.
    case ok
    /// `-ERR`: the text without the surrounding single quotes.
    case err(String)
}

/// One delivered message.
public struct NATSMessage: Sendable, Equatable {
    public var subject: String
    /// The subscription id the client chose in `SUB`.
    public var sid: String
    /// Where the publisher waits for an answer; Liftbridge acks here.
    public var replyTo: String?
    public var payload: [UInt8]
    /// The raw header block of an `HMSG` (starting with `NATS/1.0`, ending with an empty line);
    /// nil for `MSG`. `MessageHeaders(parsing:)` reads it.
    public var headers: [UInt8]?

    public init(subject: String, sid: String, replyTo: String? = nil, payload: [UInt8],
                headers: [UInt8]? = nil) {
        self.subject = subject
        self.sid = sid
        self.replyTo = replyTo
        self.payload = payload
        self.headers = headers
    }
}

/// The fields of `INFO` a client acts on. Unknown fields are ignored and missing ones take the
/// defaults below, because servers add fields from release to release.
public struct ServerInfo: Sendable, Equatable {
    public var serverID: String
    public var serverName: String
    public var version: String
    /// Protocol level; 1 means the server may send async `INFO` updates.
    public var proto: Int
    public var host: String
    public var port: Int
    /// Largest payload (headers included) the server accepts in one `PUB`/`HPUB`.
    public var maxPayload: Int
    public var headers: Bool
    public var authRequired: Bool
    public var tlsRequired: Bool
    public var clientID: Int?
    public var nonce: String?
    public var connectURLs: [String]
    /// Lame-duck mode: the server is about to shut down and wants clients to move.
    public var lameDuckMode: Bool

    /// nats-server's default `max_payload` (1 MB), used when `INFO` does not say.
    public static let defaultMaxPayload = 1 << 20

    public init(serverID: String = "", serverName: String = "", version: String = "",
                proto: Int = 0, host: String = "", port: Int = 0,
                maxPayload: Int = ServerInfo.defaultMaxPayload, headers: Bool = false,
                authRequired: Bool = false, tlsRequired: Bool = false, clientID: Int? = nil,
                nonce: String? = nil, connectURLs: [String] = [], lameDuckMode: Bool = false) {
        self.serverID = serverID
        self.serverName = serverName
        self.version = version
        self.proto = proto
        self.host = host
        self.port = port
        self.maxPayload = maxPayload
        self.headers = headers
        self.authRequired = authRequired
        self.tlsRequired = tlsRequired
        self.clientID = clientID
        self.nonce = nonce
        self.connectURLs = connectURLs
        self.lameDuckMode = lameDuckMode
    }

    /// Reads the JSON object that follows `INFO`.
    public init(json: some Collection<UInt8>) throws(ProtocolError) {
        guard case .object(let fields) = try NATSJSONValue.parse(json) else {
            throw .malformed("INFO is not a JSON object")
        }
        self.init()
        for (key, value) in fields {
            switch key {
            case "server_id": serverID = value.string ?? serverID
            case "server_name": serverName = value.string ?? serverName
            case "version": version = value.string ?? version
            case "proto": proto = value.int ?? proto
            case "host": host = value.string ?? host
            case "port": port = value.int ?? port
            case "max_payload": maxPayload = value.int ?? maxPayload
            case "headers": headers = value.bool ?? headers
            case "auth_required": authRequired = value.bool ?? authRequired
            case "tls_required": tlsRequired = value.bool ?? tlsRequired
            case "client_id": clientID = value.int ?? clientID
            case "nonce": nonce = value.string ?? nonce
            case "connect_urls":
                if case .array(let urls) = value { connectURLs = urls.compactMap(\.string) }
            case "ldm": lameDuckMode = value.bool ?? lameDuckMode
            default: break
            }
        }
    }
}
