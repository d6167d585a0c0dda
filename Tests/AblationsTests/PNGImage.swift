import CZlib
import Foundation

/// The pixels of an 8-bit RGB or RGBA, non-interlaced PNG (what Chromium's screenshots are), for checking what a
/// rendered report shows.
struct PNGImage {
    var width: Int
    var height: Int
    /// RGB triples, row by row.
    var pixels: [UInt8]

    enum Failure: Error { case notPNG, unsupported(String), corrupt(String) }

    init(path: String) throws {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        guard bytes.count > 8, bytes[0..<8] == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] else { throw Failure.notPNG }
        func integer(_ offset: Int) -> Int { bytes[offset..<offset + 4].reduce(0) { $0 << 8 | Int($1) } }
        var offset = 8
        var compressed: [UInt8] = []
        var channels = 0
        (width, height) = (0, 0)
        while offset + 8 <= bytes.count {
            let length = integer(offset)
            let type = String(decoding: bytes[offset + 4..<offset + 8], as: UTF8.self)
            let body = offset + 8
            switch type {
            case "IHDR":
                (width, height) = (integer(body), integer(body + 4))
                guard bytes[body + 8] == 8, bytes[body + 12] == 0 else { throw Failure.unsupported("bit depth or interlacing") }
                switch bytes[body + 9] {
                case 2: channels = 3
                case 6: channels = 4
                default: throw Failure.unsupported("colour type \(bytes[body + 9])")
                }
            case "IDAT":
                compressed += bytes[body..<body + length]
            default:
                break
            }
            offset = body + length + 4
        }
        let stride = width * channels
        var raw = [UInt8](repeating: 0, count: (stride + 1) * height)
        var rawLength = uLongf(raw.count)
        guard uncompress(&raw, &rawLength, compressed, uLong(compressed.count)) == Z_OK, Int(rawLength) == raw.count else {
            throw Failure.corrupt("image data")
        }
        // Undo the per-row filters.
        var image = [UInt8](repeating: 0, count: stride * height)
        for row in 0..<height {
            let filter = raw[row * (stride + 1)]
            for column in 0..<stride {
                let x = raw[row * (stride + 1) + 1 + column]
                let a = column >= channels ? Int(image[row * stride + column - channels]) : 0
                let b = row > 0 ? Int(image[(row - 1) * stride + column]) : 0
                let c = row > 0 && column >= channels ? Int(image[(row - 1) * stride + column - channels]) : 0
                let predictor: Int
                switch filter {
                case 0: predictor = 0
                case 1: predictor = a
                case 2: predictor = b
                case 3: predictor = (a + b) / 2
                case 4:
                    let p = a + b - c
                    let (pa, pb, pc) = (abs(p - a), abs(p - b), abs(p - c))
                    predictor = pa <= pb && pa <= pc ? a : (pb <= pc ? b : c)
                default: throw Failure.corrupt("filter \(filter)")
                }
                image[row * stride + column] = UInt8(truncatingIfNeeded: Int(x) + predictor)
            }
        }
        pixels = []
        pixels.reserveCapacity(width * height * 3)
        for index in 0..<(width * height) { pixels += image[index * channels..<index * channels + 3] }
    }

    /// How many pixels have exactly this colour (`#rrggbb`).
    func count(of color: String) -> Int {
        let value = Int(color.dropFirst(), radix: 16)!
        let (r, g, b) = (UInt8(value >> 16), UInt8(value >> 8 & 0xff), UInt8(value & 0xff))
        return stride(from: 0, to: pixels.count, by: 3).filter { pixels[$0] == r && pixels[$0 + 1] == g && pixels[$0 + 2] == b }.count
    }

    /// The share of pixels that are not white.
    var inkFraction: Double {
        let inked = stride(from: 0, to: pixels.count, by: 3).filter { pixels[$0] < 250 || pixels[$0 + 1] < 250 || pixels[$0 + 2] < 250 }
            .count
        return Double(inked) / Double(max(width * height, 1))
    }
}
