import Foundation

/// Runs a program to its end and gives back its exit status and its standard output and error, interleaved.
public enum Subprocess {
    /// - Parameters:
    ///   - folder: the working directory (default: this process's).
    ///   - environment: the whole environment of the child (default: this process's).
    ///   - input: written to the child's standard input, which is then closed (default: none, the child inherits ours).
    public static func run(
        _ executable: String, _ arguments: [String], in folder: String? = nil,
        environment: [String: String]? = nil, input: String? = nil
    ) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let folder { process.currentDirectoryURL = URL(fileURLWithPath: folder) }
        if let environment { process.environment = environment }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        let stdin = input.map { _ in Pipe() }
        if let stdin { process.standardInput = stdin }
        try process.run()
        if let stdin, let input {
            stdin.fileHandleForWriting.write(Data(input.utf8))
            try stdin.fileHandleForWriting.close()
        }
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, output)
    }
}
