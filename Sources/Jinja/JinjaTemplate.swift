/// A compiled Jinja2 template, rendered with Python Jinja2's semantics as chat templates use them.
///
/// The defaults are those of Hugging Face `transformers` and Modalities' `apply_chat_template`: an immutable
/// sandbox (lists and dicts cannot be changed from the template), `trim_blocks` and `lstrip_blocks`, `tojson`
/// that keeps non-ASCII text, and the globals `raise_exception` and `namespace`.
///
/// ```swift
/// let template = try JinjaTemplate("{% for m in messages %}{{ m.role }}: {{ m.content }}\n{% endfor %}")
/// let text = try template.render(["messages": try JSONText.parse(#"[{"role": "user", "content": "Hi"}]"#)])
/// ```
public struct JinjaTemplate: Sendable {
    /// Lexer options, as Jinja2's `Environment` takes them.
    public struct Options: Sendable {
        /// Remove the first newline after a block or comment tag.
        public var trimBlocks = true
        /// Strip spaces and tabs from the start of a line up to a block or comment tag.
        public var lstripBlocks = true
        public init() {}
    }

    let nodes: [JinjaNode]

    /// Compiles `source`.
    ///
    /// - Throws: ``JinjaError/syntax(line:message:)`` naming the line that does not parse.
    public init(_ source: String, options: Options = Options()) throws {
        let (pieces, lastLine) = try JinjaLexer(trimBlocks: options.trimBlocks, lstripBlocks: options.lstripBlocks).pieces(of: source)
        var parser = JinjaParser(pieces: pieces, lastLine: lastLine)
        nodes = try parser.parseTemplate()
    }

    /// Renders the template with `context` as its variables.
    ///
    /// - Throws: ``JinjaError`` naming the line where rendering failed, or the message of `raise_exception`.
    public func render(_ context: [String: JinjaValue]) throws -> String {
        let interpreter = JinjaInterpreter(globals: context)
        return try interpreter.render(nodes)
    }
}
