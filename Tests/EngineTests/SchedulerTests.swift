import XCTest
@testable import Engine

/// Scheduler loops against diffusers with a synthetic model output (no UNet), 1–8 steps.
final class SchedulerTests: XCTestCase {
    func testLoopsMatchDiffusers() throws {
        let cases = try Fixtures.json("schedulers/cases.json")["cases"] as! [[String: Any]]
        XCTAssertGreaterThanOrEqual(cases.count, 40)
        for c in cases {
            let name = c["name"] as! String, steps = c["steps"] as! Int, seed = c["seed"] as! Int
            let s = try makeScheduler(configPath: Fixtures.path("schedulers/\(name)/scheduler_config.json"), steps: steps)
            let label = "\(name) × \(steps)"
            XCTAssertEqual(s.timesteps.map(Double.init), c["timesteps"] as! [Double], label)
            XCTAssertEqual(Double(s.initNoiseSigma), c["init_noise_sigma"] as! Double, accuracy: 1e-5 * max(1, c["init_noise_sigma"] as! Double), label)
            let expected = try Fixtures.tensor("schedulers/loops.safetensors", c["key"] as! String)
            assertClose(runLoop(s, seed: UInt64(seed), shape: expected.shape), expected, rtol: 2e-5, label)
        }
    }

    /// The same loop as make_engine_fixtures.py's run_scheduler_loop.
    func runLoop(_ s: Scheduler, seed: UInt64, shape: [Int]) -> Tensor {
        var g = TorchGenerator(seed: seed)
        var latents = g.randn(shape)
        Elementwise.scale(&latents, s.initNoiseSigma)
        let n = shape.reduce(1, *)
        let const = NoiseSchedule.linspace(-1, 1, n)
        for (i, t) in s.timesteps.enumerated() {
            let input = s.scaleModelInput(latents, step: i)
            var out = input
            for j in 0..<n { out.data[j] = 0.3 * input.data[j] + 0.5 * const[j] * (1 + t / 1000) }
            latents = s.step(out, step: i, sample: latents, generator: &g)
        }
        return latents
    }

    func testOneStepDDIMIsTheX0Formula() throws {
        // ε-prediction at t = 999: x0 = (x_t − √(1−ᾱ)·ε̂)/√ᾱ, and DDIM's one step returns exactly x0.
        let s = try makeScheduler(configPath: Fixtures.path("schedulers/ddim-trailing-eps/scheduler_config.json"), steps: 1)
        XCTAssertEqual(s.timesteps, [999])
        var g = TorchGenerator(seed: 1)
        let x = Tensor(shape: [1, 1, 1, 2], data: [0.5, -1.0]), e = Tensor(shape: [1, 1, 1, 2], data: [0.25, 0.75])
        let out = s.step(e, step: 0, sample: x, generator: &g)
        let a = (s as! DDIMScheduler).schedule.alphasCumprod[999]
        for j in 0..<2 {
            XCTAssertEqual(out.data[j], (x.data[j] - (1 - a).squareRoot() * e.data[j]) / a.squareRoot(), accuracy: 1e-5)
        }
    }

    func testUnsupportedSchedulerIsNamed() throws {
        let dir = try Fixtures.tempDir(self)
        try #"{"_class_name": "PNDMScheduler"}"#.write(toFile: dir + "/s.json", atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try makeScheduler(configPath: dir + "/s.json", steps: 1)) { e in
            XCTAssertTrue("\(e)".contains("PNDMScheduler") && "\(e)".contains("_class_name"), "\(e)")
        }
    }
}
