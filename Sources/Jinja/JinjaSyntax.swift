/// An expression of the template language.
indirect enum JinjaExpression: Sendable {
    case literal(JinjaValue)
    case name(String, line: Int)
    case list([JinjaExpression])
    case tuple([JinjaExpression])
    case dict([(JinjaExpression, JinjaExpression)])
    case attribute(JinjaExpression, String, line: Int)
    case item(JinjaExpression, JinjaExpression, line: Int)
    case slice(JinjaExpression, start: JinjaExpression?, stop: JinjaExpression?, step: JinjaExpression?, line: Int)
    case call(JinjaExpression, Arguments, line: Int)
    case filter(JinjaExpression, String, Arguments, line: Int)
    case test(JinjaExpression, String, Arguments, negated: Bool, line: Int)
    case unary(String, JinjaExpression, line: Int)
    case binary(String, JinjaExpression, JinjaExpression, line: Int)
    case conditional(condition: JinjaExpression, then: JinjaExpression, otherwise: JinjaExpression?)

    struct Arguments: Sendable {
        var positional: [JinjaExpression] = []
        var keyword: [(String, JinjaExpression)] = []
    }
}

/// A statement: literal text, an output, or a block tag with its body.
indirect enum JinjaNode: Sendable {
    case text(String)
    case output(JinjaExpression, line: Int)
    case conditional(branches: [(JinjaExpression, [JinjaNode])], otherwise: [JinjaNode])
    case loop(Loop)
    case assignment(AssignmentTarget, JinjaExpression, line: Int)
    case blockAssignment(String, body: [JinjaNode])
    case macro(name: String, parameters: [(String, JinjaExpression?)], body: [JinjaNode])
    case filterBlock(String, JinjaExpression.Arguments, body: [JinjaNode], line: Int)
    case breakLoop(line: Int)
    case continueLoop(line: Int)

    struct Loop: Sendable {
        var targets: [String]
        var iterable: JinjaExpression
        var condition: JinjaExpression?
        var body: [JinjaNode]
        var otherwise: [JinjaNode]
        var line: Int
    }

    enum AssignmentTarget: Sendable {
        case names([String])
        case attribute(namespace: String, attribute: String)
    }
}
