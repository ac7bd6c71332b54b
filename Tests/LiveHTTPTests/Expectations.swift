import LiveHTTP
import XCTest

/// Fails unless `body` throws `expected` (any `.connectFailed` matches `.connectFailed`).
func expectError(_ expected: HTTPClientError, _ body: () async throws -> HTTPReply,
                 file: StaticString = #filePath, line: UInt = #line) async {
    do {
        let reply = try await body()
        XCTFail("expected \(expected), got status \(reply.status)", file: file, line: line)
    } catch let error as HTTPClientError {
        switch (expected, error) {
        case (.connectFailed, .connectFailed): break
        default: XCTAssertEqual(error, expected, file: file, line: line)
        }
    } catch {
        XCTFail("expected \(expected), got \(error)", file: file, line: line)
    }
}
