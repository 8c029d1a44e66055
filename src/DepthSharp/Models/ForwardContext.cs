namespace DepthSharp.Models;

/// <summary>How far a forward pass has come: <see cref="Step"/> of <see cref="TotalSteps"/>, in <see cref="Stage"/>.</summary>
public readonly record struct ModelProgress(string Stage, int Step, int TotalSteps);

/// <summary>Carries cancellation and progress through a forward pass; every step checks for cancellation.</summary>
public sealed class ForwardContext(int totalSteps, IProgress<ModelProgress>? progress = null, CancellationToken cancel = default)
{
    private int _step;

    public void Step(string stage)
    {
        cancel.ThrowIfCancellationRequested();
        progress?.Report(new ModelProgress(stage, ++_step, totalSteps));
    }
}
