import Crypto
import Foundation
import Ours
import ZIPFoundation

/// Best of `rounds` wall-clock times of `body`, in seconds.
func best(_ rounds: Int = 5, _ body: () throws -> Void) rethrows -> Double {
    var times: [Double] = []
    for _ in 0..<rounds {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }
    return times.min()!
}

func report(_ what: String, _ ours: Double, _ theirs: Double, unit: String) {
    print(String(format: "%@: ours %.3f %@, package %.3f %@ (ours/package %.2f)", what, ours, unit, theirs, unit, ours / theirs))
}

// SHA-256: what we hash (a config path, about 100 bytes) and, for scale, 16 MiB.
let path = Array("/home/user/experiments/configs/config_lorem_ipsum_long_fsdp2_warmstart.yaml".utf8)
guard Ours.sha256(path) == SHA256.hash(data: path).map({ String(format: "%02x", $0) }).joined() else { fatalError("digests differ") }
let pathRepeats = 10_000
report("SHA-256 of a config path, \(pathRepeats) times",
       try best { for _ in 0..<pathRepeats { _ = Ours.sha256(path) } } * 1000,
       try best { for _ in 0..<pathRepeats { _ = SHA256.hash(data: path) } } * 1000, unit: "ms")
let large = (0..<(16 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 13) }
report("SHA-256 of 16 MiB", try best(3) { _ = Ours.sha256(large) }, try best(3) { _ = SHA256.hash(data: large) }, unit: "s")

// ZIP: a torch.save-like archive (stored members: a small pickle and 256 MiB of tensor data), read in full with
// CRC checks. Ours maps the file and checks each member in place; ZIPFoundation extracts each member to memory.
let folder = FileManager.default.temporaryDirectory.appendingPathComponent("package-evaluation-\(getpid())")
try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(at: folder) }
let zipURL = folder.appendingPathComponent("model.pt")
let members: [(String, Data)] = [("archive/data.pkl", Data(repeating: 0x80, count: 4096)),
                                 ("archive/data/0", Data((0..<(256 << 20)).map { UInt8(truncatingIfNeeded: $0 >> 7) }))]
let archive = try Archive(url: zipURL, accessMode: .create)
for (name, data) in members {
    try archive.addEntry(with: name, type: .file, uncompressedSize: Int64(data.count), compressionMethod: .none) { position, size in
        data.subdata(in: Int(position)..<Int(position) + size)
    }
}
let expected = members.reduce(0) { $0 + $1.1.count }
report("read a 256 MiB torch.save-like ZIP, CRC-checked",
       try best { let read = try Ours.readZip(path: zipURL.path); precondition(read == expected) },
       try best {
           let reader = try Archive(url: zipURL, accessMode: .read)
           var total = 0
           for entry in reader { _ = try reader.extract(entry, skipCRC32: false) { total += $0.count } }
           precondition(total == expected)
       }, unit: "s")
