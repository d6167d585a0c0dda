import Config
import Distributed
import Models
import Testing
import Torch

@testable import Components

/// `debugging/settings` registers the hooks it lists on the model and makes libtorch deterministic when asked. It
/// changes libtorch's global determinism flag, so the suite restores it and runs alone.
@Suite(.serialized) struct DebuggingComponentTests {
    @Test func settingsRegisterTheirHooksAndEnableDeterminism() throws {
        let yaml =
            ModelComponentTests.yaml + """

                error_on_nan:
                  component_key: model_debugging_hook
                  variant_key: nan_hook
                  config:
                    model: {instance_key: model_raw, pass_type: BY_REFERENCE}
                    raise_exception: true
                print_forward_hook:
                  component_key: model_debugging_hook
                  variant_key: print_forward_hook
                  config:
                    model: {instance_key: model_raw, pass_type: BY_REFERENCE}
                    print_shape_only: true
                debugging:
                  component_key: debugging
                  variant_key: settings
                  config:
                    enable_determinism: true
                    forward_hooks:
                      - instance_key: error_on_nan
                        pass_type: BY_REFERENCE
                      - instance_key: print_forward_hook
                        pass_type: BY_REFERENCE
                """
        let before = Runtime.deterministicAlgorithms
        defer { Runtime.deterministicAlgorithms = before }
        let graph = try RunContextTests().graph(yaml, run: nil)
        let settings = try graph.build("debugging", as: DebuggingSettings.self)
        #expect(settings.forwardHooks.map(\.count) == [1, 1])
        #expect(settings.enableDeterminism && Runtime.deterministicAlgorithms)
        // Removed, the hooks leave the model as it was.
        for hooks in settings.forwardHooks { hooks.remove() }
        #expect(settings.forwardHooks.map(\.count) == [0, 0])
    }
}
