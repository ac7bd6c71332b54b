import LiveAuth
import XCTest

final class Base64URLTests: XCTestCase {
    func testEncodesRFC4648VectorsWithoutPadding() {
        let vectors = ["": "", "f": "Zg", "fo": "Zm8", "foo": "Zm9v", "foob": "Zm9vYg", "fooba": "Zm9vYmE", "foobar": "Zm9vYmFy"]
        for (plain, encoded) in vectors {
            XCTAssertEqual(Base64URL.encode(Array(plain.utf8)), encoded)
            XCTAssertEqual(Base64URL.decode(encoded), Array(plain.utf8))
        }
    }

    func testUsesTheURLSafeAlphabet() {
        XCTAssertEqual(Base64URL.encode([0xFB, 0xFF, 0xBF]), "-_-_")
        XCTAssertEqual(Base64URL.decode("-_-_"), [0xFB, 0xFF, 0xBF])
    }

    func testRoundTripsEveryLengthAndByte() {
        let bytes = (0..<300).map { UInt8(truncatingIfNeeded: $0 &* 151 &+ 7) }
        for length in 0...bytes.count {
            let slice = Array(bytes.prefix(length))
            XCTAssertEqual(Base64URL.decode(Base64URL.encode(slice)), slice, "length \(length)")
        }
    }

    func testRejectsPaddingForeignAlphabetImpossibleLengthAndTrailingBits() {
        for bad in ["Zg==", "Zm9v+A", "Zm9v/A", "Zm 9v", "Z", "Zm9vY", "Zh"] {
            XCTAssertNil(Base64URL.decode(bad), bad)
        }
        // "Zm8" is canonical, "Zm9" carries a non-zero bit after the last byte.
        XCTAssertNotNil(Base64URL.decode("Zm8"))
        XCTAssertNil(Base64URL.decode("Zm9"))
    }
}
