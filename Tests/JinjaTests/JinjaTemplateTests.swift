import Jinja
import Testing

/// Behaviour beyond the Python goldens: what errors say, transformers' `{% generation %}`, JSON kept as read.
struct JinjaTemplateTests {
    @Test func renderErrorsNameTheTemplateLine() throws {
        let template = try JinjaTemplate("first line\n{% for m in messages %}\n{{ m.content.missing.deeper }}\n{% endfor %}")
        #expect(throws: JinjaError.render(line: 3, message: "'missing' is undefined")) {
            try template.render(["messages": .array([.object(JinjaObject([("content", .string("x"))]))])])
        }
    }

    @Test func raiseExceptionCarriesItsMessageAndLine() throws {
        let template = try JinjaTemplate(
            "{% if messages[0].role != 'user' %}\n{{ raise_exception('Conversation must start with a user turn') }}\n{% endif %}")
        #expect(throws: JinjaError.raised(line: 2, message: "Conversation must start with a user turn")) {
            try template.render(["messages": .array([.object(JinjaObject([("role", .string("assistant"))]))])])
        }
    }

    @Test func syntaxErrorsNameTheLine() {
        #expect(throws: JinjaError.syntax(line: 3, message: "unknown statement 'endfro'")) {
            try JinjaTemplate("{% for x in xs %}\n{{ x }}\n{% endfro %}")
        }
        #expect(throws: JinjaError.self) { try JinjaTemplate("{{ 'unterminated }}") }
    }

    @Test func generationBlocksRenderTheirBody() throws {
        // transformers' {% generation %} marks assistant text for its masks; the text itself is unchanged.
        let template = try JinjaTemplate("{% for m in ms %}{% generation %}<{{ m }}>{% endgeneration %}{% endfor %}")
        #expect(try template.render(["ms": .array([.string("a"), .string("b")])]) == "<a><b>")
    }

    @Test func hugeRepetitionsAreRefused() throws {
        let template = try JinjaTemplate("{{ 'abc' * 1000000000 }}")
        #expect(throws: JinjaError.self) { try template.render([:]) }
    }

    @Test func jsonKeepsKeyOrderAndNumberKinds() throws {
        let line = #"{"z": 1, "a": [1.0, 2.5e-7, -0, null, true], "é": "\u00e9\ud83d\ude42\n", "n": {}}"#
        let value = try JSONText.parse(line)
        // Python: json.dumps(json.loads(line), ensure_ascii=False)
        #expect(try JSONText.dump(value) == #"{"z": 1, "a": [1.0, 2.5e-07, 0, null, true], "é": "é🙂\n", "n": {}}"#)
        #expect(throws: JSONTextError.self) { try JSONText.parse(#"{"a": 1,}"#) }
    }
}
