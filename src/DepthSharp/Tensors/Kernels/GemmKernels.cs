using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace DepthSharp.Tensors.Kernels;

/// <summary>A compile-time row count: the micro-kernels are generic over it so the JIT emits one specialised body per tile height.</summary>
internal interface IRows { static abstract int Count { get; } }

internal struct R1 : IRows { public static int Count => 1; }
internal struct R2 : IRows { public static int Count => 2; }
internal struct R3 : IRows { public static int Count => 3; }
internal struct R4 : IRows { public static int Count => 4; }
internal struct R5 : IRows { public static int Count => 5; }
internal struct R6 : IRows { public static int Count => 6; }
internal struct R7 : IRows { public static int Count => 7; }
internal struct R8 : IRows { public static int Count => 8; }
internal struct R9 : IRows { public static int Count => 9; }
internal struct R10 : IRows { public static int Count => 10; }
internal struct R11 : IRows { public static int Count => 11; }
internal struct R12 : IRows { public static int Count => 12; }
internal struct R13 : IRows { public static int Count => 13; }
internal struct R14 : IRows { public static int Count => 14; }

/// <summary>
/// Register-blocked SGEMM micro-kernels: C[rows, Nr] (+)= Apanel · Bpanel over kc, where the packed A panel holds
/// <c>rows</c> values per k step and the packed B panel holds Nr values per k step (64-byte aligned).
/// AVX-512: up to 14×32 (28 zmm accumulators, 2 B loads and 14 embedded broadcasts per k: 6.6 bytes per FMA).
/// AVX2 fallback: up to 6×16 (12 ymm accumulators, fits the 16 architectural registers).
/// </summary>
internal static unsafe class GemmKernels
{
    /// <summary>Tile height and width for the ISA the process runs on.</summary>
    public static readonly int Mr = Vector512.IsHardwareAccelerated ? 14 : 6;
    public static readonly int Nr = Vector512.IsHardwareAccelerated ? 32 : 16;

    /// <summary>
    /// Runs one tile. When <paramref name="load"/> the existing C is added; rowBias (per row) and colBias (per column)
    /// are added when non-null. Only full-width tiles come here; the caller handles narrow tails.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // called per tile from the first layer on
    public static void Tile(int rows, int kc, float* a, float* b, float* c, int ldc, bool load, float* rowBias, float* colBias)
    {
        if (Vector512.IsHardwareAccelerated)
        {
            switch (rows)
            {
                case 14: K512<R14>(kc, a, b, c, ldc, load, rowBias, colBias); break;
                case 13: K512<R13>(kc, a, b, c, ldc, load, rowBias, colBias); break;
                case 12: K512<R12>(kc, a, b, c, ldc, load, rowBias, colBias); break;
                case 11: K512<R11>(kc, a, b, c, ldc, load, rowBias, colBias); break;
                case 10: K512<R10>(kc, a, b, c, ldc, load, rowBias, colBias); break;
                case 9: K512<R9>(kc, a, b, c, ldc, load, rowBias, colBias); break;
                case 8: K512<R8>(kc, a, b, c, ldc, load, rowBias, colBias); break;
                case 7: K512<R7>(kc, a, b, c, ldc, load, rowBias, colBias); break;
                case 6: K512<R6>(kc, a, b, c, ldc, load, rowBias, colBias); break;
                case 5: K512<R5>(kc, a, b, c, ldc, load, rowBias, colBias); break;
                case 4: K512<R4>(kc, a, b, c, ldc, load, rowBias, colBias); break;
                case 3: K512<R3>(kc, a, b, c, ldc, load, rowBias, colBias); break;
                case 2: K512<R2>(kc, a, b, c, ldc, load, rowBias, colBias); break;
                default: K512<R1>(kc, a, b, c, ldc, load, rowBias, colBias); break;
            }
        }
        else
        {
            switch (rows)
            {
                case 6: K256<R6>(kc, a, b, c, ldc, load, rowBias, colBias); break;
                case 5: K256<R5>(kc, a, b, c, ldc, load, rowBias, colBias); break;
                case 4: K256<R4>(kc, a, b, c, ldc, load, rowBias, colBias); break;
                case 3: K256<R3>(kc, a, b, c, ldc, load, rowBias, colBias); break;
                case 2: K256<R2>(kc, a, b, c, ldc, load, rowBias, colBias); break;
                default: K256<R1>(kc, a, b, c, ldc, load, rowBias, colBias); break;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put(Vector512<float> x0, Vector512<float> x1, float* c, bool load, float* colBias, float* rowBias, int r)
    {
        if (load) { x0 += Vector512.Load(c); x1 += Vector512.Load(c + 16); }
        if (colBias != null) { x0 += Vector512.Load(colBias); x1 += Vector512.Load(colBias + 16); }
        if (rowBias != null) { var rb = Vector512.Create(rowBias[r]); x0 += rb; x1 += rb; }
        Vector512.Store(x0, c);
        Vector512.Store(x1, c + 16);
    }

    // The accumulators are separate locals (not an array) so the JIT keeps all 28 in zmm registers; the
    // TR.Count tests fold away per instantiation.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void K512<TR>(int kc, float* a, float* b, float* c, int ldc, bool load, float* rowBias, float* colBias)
        where TR : struct, IRows
    {
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector512<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        Vector512<float> c60 = default, c61 = default, c70 = default, c71 = default, c80 = default, c81 = default;
        Vector512<float> c90 = default, c91 = default, ca0 = default, ca1 = default, cb0 = default, cb1 = default;
        Vector512<float> cc0 = default, cc1 = default, cd0 = default, cd1 = default;
        // C's lines are fetched now, while the k loop runs, rather than missed at the end (a row block's C is larger
        // than L2). The ViT-B linear layers on 2 threads, interleaved in one process: best times 1–7% faster.
        for (int r = 0; r < TR.Count; r++)
        {
            Sse.Prefetch0(c + (long)r * ldc);
            Sse.Prefetch0(c + (long)r * ldc + 16);
        }
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector512.LoadAligned(b);
            var b1 = Vector512.LoadAligned(b + 16);
            var x = Vector512.Create(a[0]);
            c00 = Vector512.FusedMultiplyAdd(x, b0, c00); c01 = Vector512.FusedMultiplyAdd(x, b1, c01);
            if (TR.Count > 1) { x = Vector512.Create(a[1]); c10 = Vector512.FusedMultiplyAdd(x, b0, c10); c11 = Vector512.FusedMultiplyAdd(x, b1, c11); }
            if (TR.Count > 2) { x = Vector512.Create(a[2]); c20 = Vector512.FusedMultiplyAdd(x, b0, c20); c21 = Vector512.FusedMultiplyAdd(x, b1, c21); }
            if (TR.Count > 3) { x = Vector512.Create(a[3]); c30 = Vector512.FusedMultiplyAdd(x, b0, c30); c31 = Vector512.FusedMultiplyAdd(x, b1, c31); }
            if (TR.Count > 4) { x = Vector512.Create(a[4]); c40 = Vector512.FusedMultiplyAdd(x, b0, c40); c41 = Vector512.FusedMultiplyAdd(x, b1, c41); }
            if (TR.Count > 5) { x = Vector512.Create(a[5]); c50 = Vector512.FusedMultiplyAdd(x, b0, c50); c51 = Vector512.FusedMultiplyAdd(x, b1, c51); }
            if (TR.Count > 6) { x = Vector512.Create(a[6]); c60 = Vector512.FusedMultiplyAdd(x, b0, c60); c61 = Vector512.FusedMultiplyAdd(x, b1, c61); }
            if (TR.Count > 7) { x = Vector512.Create(a[7]); c70 = Vector512.FusedMultiplyAdd(x, b0, c70); c71 = Vector512.FusedMultiplyAdd(x, b1, c71); }
            if (TR.Count > 8) { x = Vector512.Create(a[8]); c80 = Vector512.FusedMultiplyAdd(x, b0, c80); c81 = Vector512.FusedMultiplyAdd(x, b1, c81); }
            if (TR.Count > 9) { x = Vector512.Create(a[9]); c90 = Vector512.FusedMultiplyAdd(x, b0, c90); c91 = Vector512.FusedMultiplyAdd(x, b1, c91); }
            if (TR.Count > 10) { x = Vector512.Create(a[10]); ca0 = Vector512.FusedMultiplyAdd(x, b0, ca0); ca1 = Vector512.FusedMultiplyAdd(x, b1, ca1); }
            if (TR.Count > 11) { x = Vector512.Create(a[11]); cb0 = Vector512.FusedMultiplyAdd(x, b0, cb0); cb1 = Vector512.FusedMultiplyAdd(x, b1, cb1); }
            if (TR.Count > 12) { x = Vector512.Create(a[12]); cc0 = Vector512.FusedMultiplyAdd(x, b0, cc0); cc1 = Vector512.FusedMultiplyAdd(x, b1, cc1); }
            if (TR.Count > 13) { x = Vector512.Create(a[13]); cd0 = Vector512.FusedMultiplyAdd(x, b0, cd0); cd1 = Vector512.FusedMultiplyAdd(x, b1, cd1); }
            a += TR.Count;
            b += 32;
        }
        Put(c00, c01, c, load, colBias, rowBias, 0);
        if (TR.Count > 1) Put(c10, c11, c + ldc, load, colBias, rowBias, 1);
        if (TR.Count > 2) Put(c20, c21, c + 2 * ldc, load, colBias, rowBias, 2);
        if (TR.Count > 3) Put(c30, c31, c + 3 * ldc, load, colBias, rowBias, 3);
        if (TR.Count > 4) Put(c40, c41, c + 4 * ldc, load, colBias, rowBias, 4);
        if (TR.Count > 5) Put(c50, c51, c + 5 * ldc, load, colBias, rowBias, 5);
        if (TR.Count > 6) Put(c60, c61, c + 6 * ldc, load, colBias, rowBias, 6);
        if (TR.Count > 7) Put(c70, c71, c + 7 * ldc, load, colBias, rowBias, 7);
        if (TR.Count > 8) Put(c80, c81, c + 8 * ldc, load, colBias, rowBias, 8);
        if (TR.Count > 9) Put(c90, c91, c + 9 * ldc, load, colBias, rowBias, 9);
        if (TR.Count > 10) Put(ca0, ca1, c + 10 * ldc, load, colBias, rowBias, 10);
        if (TR.Count > 11) Put(cb0, cb1, c + 11 * ldc, load, colBias, rowBias, 11);
        if (TR.Count > 12) Put(cc0, cc1, c + 12 * ldc, load, colBias, rowBias, 12);
        if (TR.Count > 13) Put(cd0, cd1, c + 13 * ldc, load, colBias, rowBias, 13);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put(Vector256<float> x0, Vector256<float> x1, float* c, bool load, float* colBias, float* rowBias, int r)
    {
        if (load) { x0 += Vector256.Load(c); x1 += Vector256.Load(c + 8); }
        if (colBias != null) { x0 += Vector256.Load(colBias); x1 += Vector256.Load(colBias + 8); }
        if (rowBias != null) { var rb = Vector256.Create(rowBias[r]); x0 += rb; x1 += rb; }
        Vector256.Store(x0, c);
        Vector256.Store(x1, c + 8);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void K256<TR>(int kc, float* a, float* b, float* c, int ldc, bool load, float* rowBias, float* colBias)
        where TR : struct, IRows
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector256.LoadAligned(b);
            var b1 = Vector256.LoadAligned(b + 8);
            var x = Vector256.Create(a[0]);
            c00 = Vector256.FusedMultiplyAdd(x, b0, c00); c01 = Vector256.FusedMultiplyAdd(x, b1, c01);
            if (TR.Count > 1) { x = Vector256.Create(a[1]); c10 = Vector256.FusedMultiplyAdd(x, b0, c10); c11 = Vector256.FusedMultiplyAdd(x, b1, c11); }
            if (TR.Count > 2) { x = Vector256.Create(a[2]); c20 = Vector256.FusedMultiplyAdd(x, b0, c20); c21 = Vector256.FusedMultiplyAdd(x, b1, c21); }
            if (TR.Count > 3) { x = Vector256.Create(a[3]); c30 = Vector256.FusedMultiplyAdd(x, b0, c30); c31 = Vector256.FusedMultiplyAdd(x, b1, c31); }
            if (TR.Count > 4) { x = Vector256.Create(a[4]); c40 = Vector256.FusedMultiplyAdd(x, b0, c40); c41 = Vector256.FusedMultiplyAdd(x, b1, c41); }
            if (TR.Count > 5) { x = Vector256.Create(a[5]); c50 = Vector256.FusedMultiplyAdd(x, b0, c50); c51 = Vector256.FusedMultiplyAdd(x, b1, c51); }
            a += TR.Count;
            b += 16;
        }
        Put(c00, c01, c, load, colBias, rowBias, 0);
        if (TR.Count > 1) Put(c10, c11, c + ldc, load, colBias, rowBias, 1);
        if (TR.Count > 2) Put(c20, c21, c + 2 * ldc, load, colBias, rowBias, 2);
        if (TR.Count > 3) Put(c30, c31, c + 3 * ldc, load, colBias, rowBias, 3);
        if (TR.Count > 4) Put(c40, c41, c + 4 * ldc, load, colBias, rowBias, 4);
        if (TR.Count > 5) Put(c50, c51, c + 5 * ldc, load, colBias, rowBias, 5);
    }
}
