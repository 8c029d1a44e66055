namespace DepthSharp.Imaging;

/// <summary>
/// What a scan driver needs from an entropy decoder (Huffman or arithmetic). Blocks are in natural
/// order; a component is named by its position in the current scan.
/// </summary>
internal abstract class JpegEntropyDecoder
{
    /// <summary>Natural-order index of each zigzag position.</summary>
    public static ReadOnlySpan<byte> Zigzag =>
    [
        0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5,
        12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
        35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51,
        58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
    ];

    protected JpegEntropyDecoder(JpegReader reader) => Reader = reader;

    protected JpegReader Reader { get; }

    /// <summary>Prepares for a scan whose entropy-coded data starts at <paramref name="position"/>.</summary>
    public abstract void StartScan(JpegScan scan, int position);

    /// <summary>Resets after a restart marker; the next segment starts at <paramref name="position"/>.</summary>
    public abstract void Restart(int position);

    /// <summary>Ends the current segment: the position from which to look for the next marker.</summary>
    public abstract int EndSegment();

    /// <summary>Refuses the data once an MCU has needed more entropy-coded data than the segment holds.</summary>
    public abstract void CheckMcu();

    /// <summary>Sequential mode: decodes a whole block into <paramref name="block"/> (zeroed); returns the last zigzag index set.</summary>
    public abstract int DecodeBlock(int scanComponent, Span<short> block);

    public abstract void DecodeDcFirst(int scanComponent, Span<short> block);

    public abstract void DecodeDcRefine(Span<short> block);

    public abstract void DecodeAcFirst(Span<short> block);

    public abstract void DecodeAcRefine(Span<short> block);
}
