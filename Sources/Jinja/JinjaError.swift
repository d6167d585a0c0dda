/// A template that does not parse or does not render, with the template line that caused it.
public enum JinjaError: Error, CustomStringConvertible, Equatable {
    /// The template text is not valid Jinja.
    case syntax(line: Int, message: String)
    /// Rendering failed: an undefined value used, a type mismatch, an unknown filter.
    case render(line: Int, message: String)
    /// The template called `raise_exception(message)`.
    case raised(line: Int, message: String)

    public var line: Int {
        switch self {
        case .syntax(let line, _), .render(let line, _), .raised(let line, _): return line
        }
    }

    public var message: String {
        switch self {
        case .syntax(_, let message), .render(_, let message), .raised(_, let message): return message
        }
    }

    public var description: String {
        switch self {
        case .syntax(let line, let message): return "template syntax error on line \(line): \(message)"
        case .render(let line, let message): return "template error on line \(line): \(message)"
        case .raised(let line, let message): return "the template raised an exception on line \(line): \(message)"
        }
    }
}
