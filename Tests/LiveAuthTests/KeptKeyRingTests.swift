import Auth
import Foundation
import LiveAuth
import XCTest

/// A provider's signing keys kept in a file (`keys_file`): a restarted provider signs and
/// publishes the keys it had, so its tokens stay valid; the file is owner-only; a file that is
/// not a key file is refused, never overwritten.
final class KeptKeyRingTests: XCTestCase {
    private var folder = ""

    override func setUpWithError() throws {
        folder = NSTemporaryDirectory() + "kept-keys-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: folder) }

    func testARestartedRingHasTheSameKeysAndItsTokensVerify() throws {
        let file = folder + "/keys.json"
        let rotation = KeyRotation(interval: hours, prePublish: 10 * minutes, retainAfter: hours)
        let before = makeIssuer(rotation: rotation, keyRing: try ES256KeyRing(file: file))
        let token = try issue(before)
        let published = before.jwks(at: baseTime)

        // The "restarted" provider: a new ring over the same file.
        let after = makeIssuer(rotation: rotation, keyRing: try ES256KeyRing(file: file))
        XCTAssertEqual(after.keyRing.kids, before.keyRing.kids)
        XCTAssertEqual(after.jwks(at: baseTime), published, "the same public points are published again")
        let key = try XCTUnwrap(after.jwks(at: baseTime).key(kid: token.header.kid))
        XCTAssertTrue(after.scheme.verify(token, with: key), "a token issued before the restart verifies after it")

        // A ring without the file (memory only) would have published a different key.
        let forgetful = makeIssuer(rotation: rotation)
        let other = try XCTUnwrap(forgetful.jwks(at: baseTime).key(kid: token.header.kid))
        XCTAssertFalse(forgetful.scheme.verify(token, with: other))

        let permissions = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? NSNumber)
        XCTAssertEqual(permissions.intValue & 0o777, 0o600, "private keys are readable by their owner only")
    }

    func testForgottenKeysLeaveTheFile() throws {
        let file = folder + "/keys.json"
        let ring = try ES256KeyRing(file: file)
        for kid in ["key-1", "key-2", "key-3"] { _ = ring.publicKey(PublicKey(kid: kid, validFrom: 0, material: 0)) }
        ring.forget(kidsNotIn: ["key-3"])
        XCTAssertEqual(try ES256KeyRing(file: file).kids, ["key-3"], "a retired key cannot come back from the file")
    }

    func testAFileThatIsNotAKeyFileIsRefusedAndKept() throws {
        let file = folder + "/keys.json"
        try "{\"key-0\": \"not a key\"}".write(toFile: file, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ES256KeyRing(file: file)) { error in
            XCTAssertTrue("\(error)".contains("key-0"), "\(error)")
            XCTAssertTrue("\(error)".contains(file), "\(error)")
        }
        try "[1, 2]".write(toFile: file, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ES256KeyRing(file: file))
        XCTAssertEqual(try String(contentsOfFile: file, encoding: .utf8), "[1, 2]", "never overwritten")
    }
}
