import Config
import ModalitiesSchema
import Testing

@testable import Launcher

/// The keys validation demands of a training config are the ones the training job builds, from one list.
struct TrainingComponentsTests {
    @Test func validationAsksForTheKeysOfTheOneList() {
        for model in [InstantiationModel.run, .warmstart] {
            #expect(model.requiredKeys == TrainingComponentKey.allCases.filter { !$0.isOptional }.map(\.rawValue), "\(model)")
            #expect(model.optionalKeys == ["mfu_calculator", "device_mesh", "scheduled_pipeline", "profiler"], "\(model)")
        }
        #expect(TrainingComponents.Key.self == TrainingComponentKey.self)
    }
}
