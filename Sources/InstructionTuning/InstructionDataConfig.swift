import Config
import Jinja

/// The config of `modalities data prepare_instruction_tuning_data` (Modalities'
/// `InstructionTuningDataInstantiationModel`): where the chat JSONL is, how roles map, the chat template and its
/// data, the train/val/test split and the packing config.
public struct InstructionDataConfig: Sendable {
    /// One partition of the split, in Modalities' order (train, val, test).
    public struct Partition: Sendable, Equatable {
        public var name: String
        public var percentage: Int
    }

    public var sourcePath: String
    public var destinationPath: String
    public var messagesKey: String
    public var partitions: [Partition]
    public var seed: Int
    /// The pack_encoded_data config each partition is packed with (nil: the JSONL files only).
    public var packConfigPath: String?
    public var roleMapping: [String: String]
    public var chatTemplate: String
    /// `chat_template_data`, handed to the template as it is.
    public var chatTemplateData: JinjaValue

    /// Reads the config from its resolved YAML tree.
    ///
    /// - Throws: ``InstructionDataError/config(location:key:message:)`` naming the key and its line.
    public init(_ root: ConfigNode) throws {
        func node(_ path: [String], in base: ConfigNode? = nil) throws -> ConfigNode {
            var current = base ?? root
            for (i, key) in path.enumerated() {
                guard current.entries != nil else {
                    throw InstructionDataError.config(
                        location: current.location, key: path[..<i].joined(separator: "."),
                        message: "expected a mapping, found \(current.kindDescription)")
                }
                guard let next = current[key] else {
                    throw InstructionDataError.config(
                        location: current.location, key: path[...i].joined(separator: "."), message: "is required")
                }
                current = next
            }
            return current
        }
        func text(_ path: [String]) throws -> String {
            let n = try node(path)
            guard let t = n.scalarText, !n.isNull else {
                throw InstructionDataError.config(
                    location: n.location, key: path.joined(separator: "."), message: "expected a string, found \(n.kindDescription)")
            }
            return t
        }
        func integer(_ path: [String]) throws -> Int {
            let n = try node(path)
            guard let t = n.scalarText, let i = Int(t.replacingOccurrences(of: "_", with: "")) else {
                throw InstructionDataError.config(
                    location: n.location, key: path.joined(separator: "."), message: "expected an integer, found \(n.kindDescription)")
            }
            return i
        }
        sourcePath = try text(["settings", "src_path"])
        destinationPath = try text(["settings", "dst_path"])
        messagesKey = try text(["settings", "messages_key"])
        let packNode = root["settings"]?["pbin_creation_config_file_path"]
        packConfigPath = packNode.flatMap { $0.isNull ? nil : $0.scalarText }
        partitions = try ["train", "val", "test"].map {
            Partition(name: $0, percentage: try integer(["settings", "split_config", "splitting", $0]))
        }
        let splitting = try node(["settings", "split_config", "splitting"])
        if let negative = partitions.first(where: { $0.percentage < 0 }) {
            throw InstructionDataError.config(
                location: splitting.location, key: "settings.split_config.splitting.\(negative.name)", message: "must not be negative")
        }
        let total = partitions.map(\.percentage).reduce(0, +)
        guard total == 100 else {
            throw InstructionDataError.config(
                location: splitting.location, key: "settings.split_config.splitting",
                message:
                    "train + val + test must be 100, found \(partitions.map { String($0.percentage) }.joined(separator: " + ")) = \(total)")
        }
        seed = try integer(["settings", "split_config", "seed"])
        let mapping = try node(["instruction_data_transformation", "role_mapping"])
        guard let mappingEntries = mapping.entries else {
            throw InstructionDataError.config(
                location: mapping.location, key: "instruction_data_transformation.role_mapping", message: "expected a mapping of roles")
        }
        var roles: [String: String] = [:]
        for entry in mappingEntries {
            guard let role = entry.node.scalarText, !entry.node.isNull else {
                throw InstructionDataError.config(
                    location: entry.node.location, key: "instruction_data_transformation.role_mapping.\(entry.key)",
                    message: "expected a string")
            }
            roles[entry.key] = role
        }
        roleMapping = roles
        chatTemplate = try text(["jinja2_chat_template"])
        let data = try node(["chat_template_data"])
        guard data.entries != nil else {
            throw InstructionDataError.config(
                location: data.location, key: "chat_template_data", message: "expected a mapping, found \(data.kindDescription)")
        }
        chatTemplateData = Self.jinjaValue(data)
    }

    /// A YAML value as Python reads it: plain scalars become null, booleans and numbers where YAML says so.
    static func jinjaValue(_ node: ConfigNode) -> JinjaValue {
        switch node.value {
        case .mapping(let entries): return .object(JinjaObject(entries.map { ($0.key, jinjaValue($0.node)) }))
        case .sequence(let elements): return .array(elements.map(jinjaValue))
        case .scalar(let text, let quoted):
            if quoted { return .string(text) }
            if node.isNull { return .none }
            switch text {
            case "true", "True", "TRUE": return .bool(true)
            case "false", "False", "FALSE": return .bool(false)
            default: break
            }
            if let i = Int(text) { return .int(i) }
            if text.contains(where: { $0.isNumber }), let d = Double(text) { return .double(d) }
            return .string(text)
        }
    }
}
