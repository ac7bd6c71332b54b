import Foundation
import Histogram

/// A histogram's bucket counts read in place, with the bucket → value mapping of its layout.
///
/// hdrhistogram-swift keeps its counts array internal and offers a bucket iterator that, used
/// from another module, runs partly unspecialised: about 400 instructions per bucket slot, empty
/// or not (36 % of summarising 1000 runs under callgrind). Reflection finds the stored array once
/// per histogram in O(1) (the array is shared, not copied); the index → value mapping below is the
/// library's own (`valueFromIndex`, internal there), and `read(_:)` checks that the counts add up
/// to the histogram's total, so a library whose layout changed is noticed and the iterator used.
struct BucketCounts {
    let counts: [UInt64]
    let layout: BucketLayout

    /// nil when the counts cannot be read (or do not add up): use the library's iterator then.
    static func read(_ histogram: Histogram<UInt64>) -> BucketCounts? {
        guard let counts = Mirror(reflecting: histogram).descendant("counts") as? [UInt64] else { return nil }
        var total: UInt64 = 0
        for c in counts { total &+= c }
        return total == histogram.totalCount ? BucketCounts(counts: counts, layout: BucketLayout(histogram)) : nil
    }

    /// The highest value of the first slot whose running count reaches `rank` (nil: never).
    func highestValue(reaching rank: UInt64) -> UInt64? {
        counts.withUnsafeBufferPointer { slots in
            var running: UInt64 = 0
            for index in slots.indices where slots[index] != 0 {
                running &+= slots[index]
                if running >= rank { return layout.highestValue(atIndex: index) }
            }
            return nil
        }
    }

    /// Non-empty slots as (highest value equivalent to the slot, count), ascending: what the
    /// library's `recordedValues()` yields. Sized exactly (the non-empty slots counted first) and mapped by the layout's arithmetic:
    /// appending, and the library's generic `highestEquivalentForValue`, were most of it.
    func sparse(of histogram: Histogram<UInt64>) -> [(value: UInt64, count: UInt64)] {
        counts.withUnsafeBufferPointer { slots in
            var nonEmpty = 0
            var end = 0  // one past the last non-empty slot
            var remaining = histogram.totalCount  // the slots past the last count are not read
            for index in slots.indices where slots[index] != 0 {
                nonEmpty += 1
                end = index + 1
                remaining -= slots[index]
                if remaining == 0 { break }
            }
            return [(value: UInt64, count: UInt64)](unsafeUninitializedCapacity: nonEmpty) { buffer, initialized in
                var next = 0
                for index in 0..<end where slots[index] != 0 {
                    (buffer.baseAddress! + next).initialize(to: (layout.highestValue(atIndex: index), slots[index]))
                    next += 1
                }
                initialized = next
            }
        }
    }
}

/// Where a value sits in the counts array of a histogram with a given precision and lowest
/// discernible value: the library's own arithmetic (`valueFromIndex`, `countsIndexForValue`,
/// internal there), derived from the two public settings as its initialiser derives it. The slot
/// of a value does not depend on how far the histogram has grown, so histograms of one precision
/// share it.
struct BucketLayout: Equatable {
    private let subBucketHalfCountMagnitude: Int
    private let unitMagnitude: Int
    private let subBucketMask: UInt64
    private let leadingZeroCountBase: Int

    init(_ histogram: Histogram<UInt64>) {
        self.init(significantDigits: histogram.numberOfSignificantValueDigits,
                  lowestDiscernibleValue: histogram.lowestDiscernibleValue)
    }

    init(significantDigits: SignificantDigits, lowestDiscernibleValue: UInt64 = 1) {
        // Unit resolution up to 2·10^digits, rounded up to a power of two.
        let digits = Int(significantDigits.rawValue)
        let subBucketCountMagnitude = Int(log2(2 * pow(10.0, Double(digits))).rounded(.up))
        subBucketHalfCountMagnitude = Swift.max(subBucketCountMagnitude, 1) - 1
        unitMagnitude = Int(log2(Double(lowestDiscernibleValue)))
        subBucketMask = UInt64((1 << subBucketCountMagnitude) - 1) << unitMagnitude
        leadingZeroCountBase = 64 - unitMagnitude - subBucketCountMagnitude
    }

    // Masking shifts (every shift here is below 64 for a slot of a 64-bit value): Swift's
    // checked `<<`/`>>` branch on the shift's sign and size, which kept these out of line at
    // ~70 instructions a call.

    /// The lowest value counted in slot `index`.
    @inline(__always)
    func lowestValue(atIndex index: Int) -> UInt64 {
        let half = 1 &<< subBucketHalfCountMagnitude
        var bucket = (index &>> subBucketHalfCountMagnitude) &- 1
        var subBucket = (index & (half &- 1)) &+ half
        if bucket < 0 {
            subBucket &-= half
            bucket = 0
        }
        return UInt64(subBucket) &<< (bucket &+ unitMagnitude)
    }

    /// The highest value counted in slot `index`: what the library's `highestEquivalentForValue`
    /// gives for any value of the slot (a slot of bucket b spans 2^(b + unit magnitude) values).
    @inline(__always)
    func highestValue(atIndex index: Int) -> UInt64 {
        lowestValue(atIndex: index) + width(atIndex: index) - 1
    }

    /// The middle of slot `index`: what the library's `medianEquivalentForValue` gives for any
    /// value of the slot (its lowest value plus half its width).
    @inline(__always)
    func medianValue(atIndex index: Int) -> UInt64 {
        lowestValue(atIndex: index) + width(atIndex: index) >> 1
    }

    /// How many values slot `index` spans.
    @inline(__always)
    func width(atIndex index: Int) -> UInt64 {
        let bucket = Swift.max((index &>> subBucketHalfCountMagnitude) &- 1, 0)
        return UInt64(1) &<< (bucket &+ unitMagnitude)
    }

    /// The slot that counts `value`.
    @inline(__always)
    func index(ofValue value: UInt64) -> Int {
        // bucket ≥ 0: `value | subBucketMask` has at most `leadingZeroCountBase` leading zeros.
        let bucket = leadingZeroCountBase &- (value | subBucketMask).leadingZeroBitCount
        let subBucket = Int(value &>> (bucket &+ unitMagnitude))
        return ((bucket &+ 1) &<< subBucketHalfCountMagnitude) &+ subBucket &- (1 &<< subBucketHalfCountMagnitude)
    }
}
