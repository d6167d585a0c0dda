import CImageCodec

/// An 8-bit RGB image: `pixels` row by row from the top, three bytes (red, green, blue) per pixel.
public struct RGBImage: Sendable, Equatable {
    public var width: Int
    public var height: Int
    public var pixels: [UInt8]

    /// Throws when `pixels` does not hold exactly `width × height` RGB pixels.
    public init(width: Int, height: Int, pixels: [UInt8]) throws {
        guard width > 0, height > 0, pixels.count == width * height * 3 else {
            throw DatasetError.invalidArgument("an RGB image of \(width)×\(height) needs \(max(width * height * 3, 0)) bytes, found \(pixels.count)")
        }
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// Reads a PNG or JPEG file (libpng, libjpeg): grey, palette and 16-bit PNGs become 8-bit RGB, transparency is
    /// composited on black.
    public init(contentsOf path: String) throws {
        var image = ic_image()
        var message = [CChar](repeating: 0, count: 512)
        guard ic_decode_file(path, &image, &message, message.count) == 0, let pixels = image.pixels else {
            throw DatasetError.invalidArgument("\(path): \(String(cString: message))")
        }
        defer { ic_image_free(&image) }
        try self.init(
            width: Int(image.width), height: Int(image.height),
            pixels: Array(UnsafeBufferPointer(start: pixels, count: Int(image.width) * Int(image.height) * 3)))
    }

    /// The file formats ``write(to:format:)`` writes.
    public enum FileFormat: Sendable, Equatable {
        case png
        case jpeg(quality: Int)
    }

    /// Writes the image as a PNG or JPEG file.
    public func write(to path: String, format: FileFormat = .png) throws {
        var message = [CChar](repeating: 0, count: 512)
        let status: Int32
        switch format {
        case .png: status = ic_write_png(path, pixels, Int32(width), Int32(height), &message, message.count)
        case .jpeg(let quality): status = ic_write_jpeg(path, pixels, Int32(width), Int32(height), Int32(quality), &message, message.count)
        }
        guard status == 0 else { throw DatasetError.invalidArgument("\(path): \(String(cString: message))") }
    }

    /// The image resized to `width × height` by bilinear interpolation over pixel centres (as PIL's and torchvision's
    /// bilinear resize without antialiasing).
    public func resized(width newWidth: Int, height newHeight: Int) throws -> RGBImage {
        guard newWidth > 0, newHeight > 0 else { throw DatasetError.invalidArgument("cannot resize to \(newWidth)×\(newHeight)") }
        if newWidth == width && newHeight == height { return self }
        var output = [UInt8](repeating: 0, count: newWidth * newHeight * 3)
        let scaleX = Double(width) / Double(newWidth)
        let scaleY = Double(height) / Double(newHeight)
        for y in 0..<newHeight {
            let sourceY = min(max((Double(y) + 0.5) * scaleY - 0.5, 0), Double(height - 1))
            let y0 = Int(sourceY)
            let y1 = min(y0 + 1, height - 1)
            let fy = sourceY - Double(y0)
            for x in 0..<newWidth {
                let sourceX = min(max((Double(x) + 0.5) * scaleX - 0.5, 0), Double(width - 1))
                let x0 = Int(sourceX)
                let x1 = min(x0 + 1, width - 1)
                let fx = sourceX - Double(x0)
                for channel in 0..<3 {
                    func at(_ px: Int, _ py: Int) -> Double { Double(pixels[(py * width + px) * 3 + channel]) }
                    let top = at(x0, y0) * (1 - fx) + at(x1, y0) * fx
                    let bottom = at(x0, y1) * (1 - fx) + at(x1, y1) * fx
                    output[(y * newWidth + x) * 3 + channel] = UInt8(min(max((top * (1 - fy) + bottom * fy).rounded(), 0), 255))
                }
            }
        }
        return try RGBImage(width: newWidth, height: newHeight, pixels: output)
    }

    /// Channels × height × width floats: each byte scaled to [0, 1], then `(value − mean[c]) / std[c]` per channel (as
    /// torchvision's ToTensor and Normalize).
    public func normalized(mean: [Double], std: [Double]) throws -> RealArray {
        try Self.checkNormalization(mean: mean, std: std)
        var values = [Float](repeating: 0, count: width * height * 3)
        let plane = width * height
        for index in 0..<plane {
            for channel in 0..<3 {
                let value = Double(pixels[index * 3 + channel]) / 255
                values[channel * plane + index] = Float((value - mean[channel]) / std[channel])
            }
        }
        return try RealArray(shape: [3, height, width], values: values)
    }

    /// Throws unless `mean` and `std` hold one value per RGB channel, std above 0.
    public static func checkNormalization(mean: [Double], std: [Double]) throws {
        guard mean.count == 3, std.count == 3, std.allSatisfy({ $0 > 0 }) else {
            throw DatasetError.invalidArgument("mean and std need three values (one per RGB channel), std above 0; found \(mean), \(std)")
        }
    }
}
