import Config
import Jinja

/// Why instruction-tuning data could not be prepared, with the file, line or sample at fault.
public enum InstructionDataError: Error, CustomStringConvertible {
    /// A config key is missing or has the wrong shape.
    case config(location: SourceLocation, key: String, message: String)
    /// The chat template does not compile.
    case template(configFile: String, error: JinjaError)
    /// A line of the source JSONL could not be turned into a chat sample.
    case sample(file: String, line: Int, message: String)
    /// A file could not be read or written.
    case io(path: String, message: String)

    public var description: String {
        switch self {
        case .config(let location, let key, let message): return "\(location.file):\(location.line): \(key): \(message)"
        case .template(let file, let error): return "\(file): jinja2_chat_template: \(error)"
        case .sample(let file, let line, let message): return "\(file):\(line): \(message)"
        case .io(let path, let message): return "\(path): \(message)"
        }
    }
}
