import Config

/// YAML with Modalities' grammar, then `${...}` interpolation (aliases, anchors, resolvers, cycles).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfig(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let text = String(decoding: FuzzInput.bytes(data, size), as: UTF8.self)
    guard let root = try? ConfigLoader.parse(text, file: "fuzz.yaml") else { return 0 }
    let environment = ResolverEnvironment(
        configFilePath: "fuzz.yaml", experimentsRootPath: "/experiments", experimentID: "fuzz",
        variables: ["RANK": "0", "LOCAL_RANK": "0", "WORLD_SIZE": "1"])
    if let resolved = try? ConfigInterpolator(environment: environment).resolve(root) {
        _ = ConfigEmitter.yaml(resolved)
    }
    return 0
}
