/// What a client sends to a NATS server.
public enum ClientOp: Sendable, Equatable {
    case connect(ConnectOptions)
    case pub(subject: String, replyTo: String?, payload: [UInt8])
    /// Needs a server that announced `headers` in INFO and `ConnectOptions.headers`.
    case hpub(subject: String, replyTo: String?, headers: MessageHeaders, payload: [UInt8])
    case sub(subject: String, queue: String?, sid: String)
    /// `max`: unsubscribe once this many messages in total have been delivered on the sid
    /// (counting those already delivered); nil means now.
    case unsub(sid: String, max: Int?)
    case ping
    case pong
}

/// The JSON of `CONNECT`. Field names on the wire are nats-server's (`no_responders`, …).
public struct ConnectOptions: Sendable, Equatable {
    /// Ask for `+OK` after every op. Off: the session does not need it.
    public var verbose: Bool
    public var pedantic: Bool
    public var tlsRequired: Bool
    public var name: String?
    public var lang: String
    public var version: String
    public var `protocol`: Int
    /// Deliver this connection's own publishes to its matching subscriptions.
    public var echo: Bool
    public var headers: Bool
    /// Ask for a 503 status message instead of silence when a request has no responders;
    /// nats-server accepts it only together with `headers`.
    public var noResponders: Bool
    public var user: String?
    public var pass: String?
    public var authToken: String?

    public init(verbose: Bool = false, pedantic: Bool = false, tlsRequired: Bool = false,
                name: String? = nil, lang: String = "swift", version: String = "0.1.0",
                protocol: Int = 1, echo: Bool = true, headers: Bool = false,
                noResponders: Bool = false, user: String? = nil, pass: String? = nil,
                authToken: String? = nil) {
        self.verbose = verbose
        self.pedantic = pedantic
        self.tlsRequired = tlsRequired
        self.name = name
        self.lang = lang
        self.version = version
        self.protocol = `protocol`
        self.echo = echo
        self.headers = headers
        self.noResponders = noResponders
        self.user = user
        self.pass = pass
        self.authToken = authToken
    }

    /// The JSON object, written by hand: fixed keys, only strings need escaping.
    public var json: [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "{")]
        var first = true
        func key(_ name: String) {
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            appendJSONString(name, to: &out)
            out.append(UInt8(ascii: ":"))
        }
        func bool(_ name: String, _ value: Bool) { key(name); out += Array((value ? "true" : "false").utf8) }
        func string(_ name: String, _ value: String?) {
            guard let value else { return }
            key(name)
            appendJSONString(value, to: &out)
        }
        bool("verbose", verbose)
        bool("pedantic", pedantic)
        bool("tls_required", tlsRequired)
        string("name", name)
        string("lang", lang)
        string("version", version)
        key("protocol"); out += Array(String(`protocol`).utf8)
        bool("echo", echo)
        bool("headers", headers)
        bool("no_responders", noResponders)
        string("user", user)
        string("pass", pass)
        string("auth_token", authToken)
        out.append(UInt8(ascii: "}"))
        return out
    }
}
