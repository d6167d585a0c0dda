import Foundation
import Torch

/// Writes safetensors files (the format ``SafeTensorsFile`` reads and Hugging Face uses): tensors in the order
/// given, each as raw little-endian bytes, with a JSON header padded to a multiple of 8 bytes. The file appears
/// atomically (see ``AtomicFile``).
public enum SafeTensorsWriter {
    /// Writes `tensors` (names must be unique) and string `metadata` to `path`.
    ///
    /// With `checksums`, the metadata also records each tensor's CRC-32 (`crc32:<name>`: eight hex digits), which
    /// ``SafeTensorsFile/verifyChecksums()`` checks; other readers ignore it.
    public static func write(
        _ tensors: [(name: String, tensor: Tensor)], metadata: [String: String] = [:], checksums: Bool = false,
        to path: String
    ) throws {
        var header: [String: Any] = [:]
        var metadata = metadata
        if checksums {
            // One tensor's bytes at a time (a second copy of the whole shard would double the memory a save needs).
            for (name, tensor) in tensors {
                let crc = try tensor.rawBytes().withUnsafeBytes { (buffer: UnsafeRawBufferPointer) in CRC32.checksum(buffer) }
                metadata[SafeTensorsFile.checksumPrefix + name] = CRC32.hex(crc)
            }
        }
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var offset = 0
        for (name, tensor) in tensors {
            guard header[name] == nil, name != "__metadata__" else {
                throw InteropError.malformed(path: path, reason: "tensor name \(name) given twice")
            }
            guard let code = SafeTensorsFile.dtypes.first(where: { $0.value == tensor.dtype })?.key else {
                throw InteropError.unsupported(path: path, feature: "dtype \(tensor.dtype) (tensor \(name))")
            }
            let length = tensor.count * tensor.dtype.byteCount
            header[name] = ["dtype": code, "shape": tensor.shape, "data_offsets": [offset, offset + length]] as [String: Any]
            offset += length
        }
        var headerBytes = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        headerBytes.append(contentsOf: [UInt8](repeating: 0x20, count: (8 - headerBytes.count % 8) % 8))
        try AtomicFile.write(to: path) { sink in
            var length = UInt64(headerBytes.count).littleEndian
            try withUnsafeBytes(of: &length) { try sink($0) }
            try headerBytes.withUnsafeBytes { try sink($0) }
            for (_, tensor) in tensors {
                try tensor.rawBytes().withUnsafeBytes { try sink($0) }
            }
        }
    }
}
