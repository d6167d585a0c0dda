/// Where a tensor lives; `type` codes are libtorch's `c10::DeviceType`.
public struct Device: Hashable, Sendable, CustomStringConvertible {
    /// The kind of device.
    public enum Kind: Int32, Sendable {
        case cpu = 0
        case cuda = 1
        case meta = 14
    }

    public var kind: Kind
    /// The device index (`cuda:1` has index 1); `nil` means "the current one".
    public var index: Int?

    public init(_ kind: Kind, index: Int? = nil) {
        self.kind = kind
        self.index = index
    }

    public static let cpu = Device(.cpu)
    public static let meta = Device(.meta)
    public static func cuda(_ index: Int = 0) -> Device { Device(.cuda, index: index) }

    /// Parses "cpu", "cuda", "cuda:1" or "meta".
    public init?(_ text: String) {
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        switch parts.first {
        case "cpu": self.init(.cpu)
        case "cuda": self.init(.cuda, index: parts.count > 1 ? Int(parts[1]) : nil)
        case "meta": self.init(.meta)
        default: return nil
        }
        if parts.count > 1 && index == nil { return nil }
    }

    public var description: String {
        let name: String
        switch kind {
        case .cpu: name = "cpu"
        case .cuda: name = "cuda"
        case .meta: name = "meta"
        }
        return index.map { "\(name):\($0)" } ?? name
    }
}
