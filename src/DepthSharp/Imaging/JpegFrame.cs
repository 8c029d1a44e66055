namespace DepthSharp.Imaging;

/// <summary>The SOF header: picture size, coding process and the components with their geometry.</summary>
internal sealed class JpegFrame
{
    public required int Width { get; init; }
    public required int Height { get; init; }
    public required bool Progressive { get; init; }
    public required bool Arithmetic { get; init; }
    public required JpegComponent[] Components { get; init; }
    public required int MaxH { get; init; }
    public required int MaxV { get; init; }

    /// <summary>MCUs per row and per column of an interleaved scan.</summary>
    public int McusX => (Width + 8 * MaxH - 1) / (8 * MaxH);
    public int McusY => (Height + 8 * MaxV - 1) / (8 * MaxV);
}

/// <summary>One colour component: its sampling, its tables, and its decoded data.</summary>
internal sealed class JpegComponent
{
    public int Id { get; }
    public int H { get; }
    public int V { get; }
    public int QuantTableId { get; }

    /// <summary>Samples that carry picture data (libjpeg's downsampled_width/height).</summary>
    public int Width { get; }
    public int Height { get; }
    /// <summary>Blocks holding those samples, as a non-interleaved scan visits them.</summary>
    public int BlocksWide { get; }
    public int BlocksHigh { get; }
    /// <summary>Blocks including the padding an interleaved MCU grid adds.</summary>
    public int PaddedBlocksWide { get; }
    public int PaddedBlocksHigh { get; }
    public int Stride => PaddedBlocksWide * 8;

    /// <summary>Quantization table in natural order, latched at the component's first scan as libjpeg does.</summary>
    public int[]? Quant { get; private set; }

    /// <summary>The same table as the IDCT multiplies by: libjpeg keeps those as 16-bit signed values.</summary>
    public int[]? IdctQuant { get; private set; }

    /// <summary>Latches <paramref name="table"/> unless an earlier scan already did.</summary>
    public void LatchQuant(int[] table)
    {
        if (Quant is not null) return;
        Quant = table;
        IdctQuant = Array.ConvertAll(table, q => (int)(short)q);
    }

    /// <summary>True once a scan has supplied data for this component.</summary>
    public bool Coded { get; set; }

    /// <summary>Progressive mode: the successive-approximation bit each zigzag position is at, -1 before its first scan.</summary>
    public int[] CoefBits { get; } = Enumerable.Repeat(-1, 64).ToArray();

    // Both stores are allocated one block row at a time, when a scan first reaches that row, so
    // that a header promising a huge picture costs memory only for the data actually present.
    private readonly byte[]?[] _sampleRows;
    private readonly short[]?[] _coefRows;

    public JpegComponent(int id, int h, int v, int quantTableId, int frameWidth, int frameHeight, int maxH, int maxV, int mcusX, int mcusY)
    {
        Id = id;
        H = h;
        V = v;
        QuantTableId = quantTableId;
        Width = (int)(((long)frameWidth * h + maxH - 1) / maxH);
        Height = (int)(((long)frameHeight * v + maxV - 1) / maxV);
        BlocksWide = (Width + 7) / 8;
        BlocksHigh = (Height + 7) / 8;
        PaddedBlocksWide = mcusX * h;
        PaddedBlocksHigh = mcusY * v;
        _sampleRows = new byte[PaddedBlocksHigh][];
        _coefRows = new short[PaddedBlocksHigh][];
    }

    /// <summary>Samples of block row <paramref name="blockRow"/>: 8 rows of <see cref="Stride"/> bytes.</summary>
    public byte[] SampleBlockRow(int blockRow) => _sampleRows[blockRow] ??= new byte[Stride * 8];

    /// <summary>Coefficients of block row <paramref name="blockRow"/>: 64 per block, natural order.</summary>
    public short[] CoefBlockRow(int blockRow) => _coefRows[blockRow] ??= new short[PaddedBlocksWide * 64];

    /// <summary>Coefficients already stored for a block row, or null when no scan reached it.</summary>
    public short[]? StoredCoefBlockRow(int blockRow) => _coefRows[blockRow];

    /// <summary>Frees a block row's coefficients once they have been turned into samples.</summary>
    public void ReleaseCoefBlockRow(int blockRow) => _coefRows[blockRow] = null;

    /// <summary>True when every block row that holds picture samples has been decoded.</summary>
    public bool HasAllSamples()
    {
        for (int r = 0; r < BlocksHigh; r++)
            if (_sampleRows[r] is null) return false;
        return true;
    }

    /// <summary>Sample row <paramref name="y"/> (0 &lt;= y &lt; Height); valid once <see cref="HasAllSamples"/> holds.</summary>
    public ReadOnlySpan<byte> SampleRow(int y) => _sampleRows[y >> 3].AsSpan((y & 7) * Stride, Stride);
}

/// <summary>The SOS header of the scan being decoded.</summary>
internal sealed class JpegScan
{
    public required JpegComponent[] Components { get; init; }
    public required int[] DcTables { get; init; }
    public required int[] AcTables { get; init; }
    public required int Ss { get; init; }
    public required int Se { get; init; }
    public required int Ah { get; init; }
    public required int Al { get; init; }
}
