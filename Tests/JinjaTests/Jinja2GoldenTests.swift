import Foundation
import Jinja
import Testing

/// Each case of `Golden/jinja2-goldens.json` (made by `scripts/jinja-goldens.py` with Python Jinja2 3.1 in the
/// environment transformers and Modalities use) renders to the same bytes here, or fails the same way.
struct Jinja2GoldenTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        let template: String
        let context: [String: JinjaValue]
        let output: String?
        let errorKind: String?
        let errorLine: Int?
        let errorMessage: String?
        var testDescription: String { name }
    }

    static let cases: [Case] = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden/jinja2-goldens.json")
        guard let text = try? String(contentsOf: url, encoding: .utf8), case .object(let root)? = try? JSONText.parse(text),
            case .array(let entries)? = root["cases"]
        else { return [] }
        return entries.compactMap { entry -> Case? in
            guard case .object(let object) = entry, case .string(let name)? = object["name"],
                case .string(let template)? = object["template"], case .object(let context)? = object["context"]
            else { return nil }
            func string(_ key: String) -> String? { if case .string(let s)? = object[key] { return s } else { return nil } }
            var variables: [String: JinjaValue] = [:]
            for (key, value) in context.pairs { variables[key] = value }
            return Case(
                name: name, template: template, context: variables, output: string("output"), errorKind: string("error"),
                errorLine: { if case .int(let i)? = object["line"] { return i } else { return nil } }(), errorMessage: string("message"))
        }
    }()

    @Test func goldenFileIsPresent() {
        #expect(Self.cases.count > 80)
    }

    @Test(arguments: cases)
    func rendersAsPythonJinja2(_ golden: Case) throws {
        let result = Result { try JinjaTemplate(golden.template).render(golden.context) }
        if let expected = golden.output {
            let rendered = try result.get()
            #expect(rendered == expected, "rendered \(rendered.debugDescription)\nexpected \(expected.debugDescription)")
            return
        }
        guard case .failure(let error) = result, let jinjaError = error as? JinjaError else {
            Issue.record("expected a \(golden.errorKind ?? "") error, rendered \(String(describing: try? result.get()))")
            return
        }
        if let line = golden.errorLine { #expect(jinjaError.line == line, "\(jinjaError)") }
        if golden.errorKind == "TemplateError", let message = golden.errorMessage {
            #expect(jinjaError == .raised(line: jinjaError.line, message: message))
        }
    }
}
