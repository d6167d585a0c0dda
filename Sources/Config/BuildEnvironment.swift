/// Values every factory of one graph may read: what the program that builds the graph knows about where it runs
/// (a training job's ranks, device and process group). Keyed by type, as SwiftUI's environment values are; set on
/// the graph before building, read by factories with ``BuildContext/environment(_:)``.
public struct BuildEnvironment {
    private var values: [ObjectIdentifier: Any] = [:]

    public init() {}

    /// The value of type `Value`, or nil when none was set.
    public subscript<Value>(_ type: Value.Type) -> Value? {
        get { values[ObjectIdentifier(type)] as? Value }
        set { values[ObjectIdentifier(type)] = newValue }
    }
}
