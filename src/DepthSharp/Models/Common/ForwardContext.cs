using DepthSharp.Tensors;

namespace DepthSharp.Models;

/// <summary>How far a forward pass has come: <see cref="Step"/> of <see cref="TotalSteps"/>, in <see cref="Stage"/>.</summary>
public readonly record struct ModelProgress(string Stage, int Step, int TotalSteps);

/// <summary>Carries cancellation and progress through a forward pass; every step checks for cancellation.</summary>
internal sealed class ForwardContext
{
    private readonly int _totalSteps;
    private readonly IProgress<ModelProgress>? _progress;
    private readonly CancellationToken _cancellationToken;
    private int _step;

    /// <param name="totalSteps">Steps the pass will report.</param>
    /// <param name="progress">Receives each step, or null.</param>
    /// <param name="cancellationToken">Checked at every step.</param>
    public ForwardContext(int totalSteps, IProgress<ModelProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        _totalSteps = totalSteps;
        _progress = progress;
        _cancellationToken = cancellationToken;
        // A pass starts with no idle buffers: the last pass's decoder maps would otherwise sit unused through this
        // pass's encoder, on top of its peak.
        TensorPool.DropIdle();
    }

    /// <summary>One step of <paramref name="stage"/> done: checks for cancellation, then reports it.</summary>
    public void Step(string stage)
    {
        _cancellationToken.ThrowIfCancellationRequested();
        _progress?.Report(new ModelProgress(stage, ++_step, _totalSteps));
    }
}
