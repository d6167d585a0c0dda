import Config
import ModalitiesSchema
import Testing

@testable import Launcher

/// The keys validation demands of a training config are the ones the training job builds.
struct TrainingComponentsTests {
    @Test func validationAsksForWhatTheJobBuilds() {
        let built = TrainingComponents.Key.allCases
        for model in [InstantiationModel.run, .warmstart] {
            #expect(Set(built.filter { !$0.isOptional }.map(\.rawValue)).isSubset(of: Set(model.requiredKeys)), "\(model)")
            #expect(Set(built.filter(\.isOptional).map(\.rawValue)) == Set(model.optionalKeys), "\(model)")
        }
    }
}
