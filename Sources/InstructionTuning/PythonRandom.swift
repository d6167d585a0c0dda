/// Python's `random` module for the calls Modalities' data preparation makes: `random.seed(int)`, `random.random()`
/// and `random.choices(population, weights)`, so a seeded split assigns every line where Modalities does.
///
/// The generator is MT19937 seeded through `init_by_array` with the seed's 32-bit words, as CPython does.
struct PythonRandom {
    private var state = [UInt32](repeating: 0, count: 624)
    private var index = 624

    /// `random.seed(seed)` for an integer seed.
    init(seed: Int) {
        var magnitude = seed.magnitude
        var key: [UInt32] = []
        repeat {
            key.append(UInt32(truncatingIfNeeded: magnitude))
            magnitude >>= 32
        } while magnitude > 0
        seedByArray(key)
    }

    private mutating func seedLinear(_ seed: UInt32) {
        state[0] = seed
        for i in 1..<624 {
            state[i] = 1_812_433_253 &* (state[i - 1] ^ (state[i - 1] >> 30)) &+ UInt32(i)
        }
        index = 624
    }

    private mutating func seedByArray(_ key: [UInt32]) {
        seedLinear(19_650_218)
        var i = 1
        var j = 0
        for _ in 0..<max(624, key.count) {
            state[i] = (state[i] ^ ((state[i - 1] ^ (state[i - 1] >> 30)) &* 1_664_525)) &+ key[j] &+ UInt32(j)
            i += 1
            j += 1
            if i >= 624 {
                state[0] = state[623]
                i = 1
            }
            if j >= key.count { j = 0 }
        }
        for _ in 0..<623 {
            state[i] = (state[i] ^ ((state[i - 1] ^ (state[i - 1] >> 30)) &* 1_566_083_941)) &- UInt32(i)
            i += 1
            if i >= 624 {
                state[0] = state[623]
                i = 1
            }
        }
        state[0] = 0x8000_0000
    }

    private mutating func next32() -> UInt32 {
        if index >= 624 {
            for k in 0..<624 {
                let y = (state[k] & 0x8000_0000) | (state[(k + 1) % 624] & 0x7fff_ffff)
                state[k] = state[(k + 397) % 624] ^ (y >> 1) ^ ((y & 1) == 0 ? 0 : 0x9908_b0df)
            }
            index = 0
        }
        var y = state[index]
        index += 1
        y ^= y >> 11
        y ^= (y << 7) & 0x9d2c_5680
        y ^= (y << 15) & 0xefc6_0000
        y ^= y >> 18
        return y
    }

    /// `random.random()`: a double in [0, 1) with 53 random bits.
    mutating func random() -> Double {
        let a = Double(next32() >> 5)
        let b = Double(next32() >> 6)
        return (a * 67_108_864 + b) / 9_007_199_254_740_992
    }

    /// `random.choices(range(weights.count), weights=weights)[0]`: an index drawn with the given weights.
    mutating func choice(weights: [Int]) -> Int {
        var cumulative: [Double] = []
        var total = 0
        for weight in weights {
            total += weight
            cumulative.append(Double(total))
        }
        let x = random() * Double(total)
        // bisect_right over cumulative[0..<n-1], as CPython's choices does with hi = n - 1.
        var low = 0
        var high = weights.count - 1
        while low < high {
            let middle = (low + high) / 2
            if x < cumulative[middle] { high = middle } else { low = middle + 1 }
        }
        return low
    }
}
