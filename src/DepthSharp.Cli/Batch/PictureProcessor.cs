using DepthSharp.Imaging;
using DepthSharp.Pipeline;

namespace DepthSharp.Cli.Batch;

/// <summary>How one picture ended: its status, input hash, the files written, and the reason when it failed.</summary>
internal sealed record PictureOutcome(InputPicture Input, PictureStatus Status, string Sha256, IReadOnlyList<string> Outputs, string? Error);

/// <summary>
/// A picture after <see cref="PictureProcessor.Prepare"/>: either decoded and waiting for its depth
/// (<see cref="Image"/> set) or already ended (<see cref="Outcome"/> set: up to date, or unreadable).
/// </summary>
internal sealed record PreparedPicture(PicturePlan Plan, LoadedImage? Image, PictureOutcome? Outcome);

/// <summary>
/// An input picture that cannot be read at all (deleted after the inputs were listed, no permission). Not a permanent
/// failure: nothing is recorded, and a later run or another delivery may read it.
/// </summary>
internal sealed class UnreadableInputException(Exception inner) : IOException($"cannot read: {inner.Message}", inner);

/// <summary>
/// The per-picture step of a batch run: one input picture into the output folder, idempotently, recorded in the done
/// log (see <see cref="OutputStore"/> for the files and <see cref="DoneLog"/> for the log).
/// <para>
/// For other engineers building on it, the queue worker (<c>depthsharp worker</c>, issue #19 item 2) in particular:
/// call <see cref="Process"/> once per message and acknowledge the message when it returns.
/// <see cref="PictureStatus.Written"/> and <see cref="PictureStatus.UpToDate"/> both mean the outputs are in place, so
/// a redelivered message costs only a hash of the input; <see cref="PictureStatus.Failed"/> is permanent (the picture
/// cannot be decoded; dead-letter it); an exception (<see cref="UnreadableInputException"/> among others) means nothing was recorded and the picture should be retried
/// (requeue). Cancellation is observed only before the outputs are written, so a stopped worker leaves each picture
/// either committed and logged or untouched. <c>estimate</c> uses <see cref="Prepare"/> and <see cref="Commit"/>
/// around its own batched forward passes; <see cref="Process"/> is the same for a single picture.
/// </para>
/// </summary>
internal sealed class PictureProcessor(DepthEstimator estimator, ImageDecodeOptions decode, OutputStore store, TextWriter log)
{
    /// <summary>Processes one picture; see the class summary for what each outcome asks of the caller.</summary>
    public PictureOutcome Process(InputPicture input, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var prepared = Prepare(input);
        if (prepared.Outcome is { } ended) return ended;
        return Commit(prepared, estimator.Estimate(prepared.Image!, progress: null, cancellationToken));
    }

    /// <summary>
    /// Reads, hashes and checks the picture; when its outputs are up to date, or it cannot be decoded, records that and
    /// returns it ended, else returns it decoded.
    /// </summary>
    /// <exception cref="UnreadableInputException">The file cannot be read at all (gone, no permission): nothing is recorded.</exception>
    public PreparedPicture Prepare(InputPicture input)
    {
        // One read: the hash recorded is of the bytes decoded, even if the file changes meanwhile. ImageFile.Load reads
        // the whole file the same way; the decoders' pixel limit still applies.
        byte[] bytes;
        try { bytes = File.ReadAllBytes(input.Path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new UnreadableInputException(e); }
        var plan = store.Plan(input, bytes);
        if (plan.UpToDate)
        {
            store.RecordUpToDate(plan);
            return new PreparedPicture(plan, null, new PictureOutcome(input, PictureStatus.UpToDate, plan.Sha256, [], null));
        }
        try { return new PreparedPicture(plan, ImageFile.Decode(bytes, input.Path, decode), null); }
        catch (ImageFormatException e)
        {
            store.RecordFailure(plan, e.Message);
            return new PreparedPicture(plan, null, new PictureOutcome(input, PictureStatus.Failed, plan.Sha256, [], e.Message));
        }
    }

    /// <summary>Records a decoded picture that cannot be estimated for a reason a retry cannot mend (its prompt depth is unusable).</summary>
    public PictureOutcome Fail(PreparedPicture prepared, string error)
    {
        store.RecordFailure(prepared.Plan, error);
        return new PictureOutcome(prepared.Plan.Input, PictureStatus.Failed, prepared.Plan.Sha256, [], error);
    }

    /// <summary>Writes a decoded picture's outputs from its depth (and extra JSON fields) and records it as written.</summary>
    public PictureOutcome Commit(PreparedPicture prepared, DepthResult result, IReadOnlyDictionary<string, object?>? extraJson = null)
    {
        var written = store.Commit(prepared.Plan, prepared.Image!.Image, result, estimator.ModelType, log, extraJson);
        return new PictureOutcome(prepared.Plan.Input, PictureStatus.Written, prepared.Plan.Sha256, written, null);
    }
}
