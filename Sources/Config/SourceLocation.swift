/// A place in a config file, for messages that point at the line.
public struct SourceLocation: Hashable, Sendable, CustomStringConvertible {
    /// The file's path as the user gave it ("<string>" for text without a file).
    public var file: String
    /// Line, starting at 1.
    public var line: Int
    /// Column in Unicode scalars, starting at 1.
    public var column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    /// `file:line:column`, the form editors and compilers use.
    public var description: String { "\(file):\(line):\(column)" }
}
