namespace DepthSharp.Tensors;

/// <summary>Scalar special functions that System.Math lacks.</summary>
internal static class MathX
{
    /// <summary>The error function to double precision: Maclaurin series below 3, a continued fraction for erfc above.</summary>
    public static double Erf(double x)
    {
        if (double.IsNaN(x)) return x;
        double ax = Math.Abs(x);
        if (ax < 3.0)
        {
            // Σ (-1)^n x^(2n+1) / (n! (2n+1)); terms shrink below 1e-17 of the sum well before n = 60 for |x| < 3.
            double x2 = ax * ax, term = ax, sum = ax;
            for (int n = 1; n < 100; n++)
            {
                term *= -x2 / n;
                double add = term / (2 * n + 1);
                sum += add;
                if (Math.Abs(add) < 1e-17 * Math.Abs(sum)) break;
            }
            return Math.CopySign(sum * 2.0 / Math.Sqrt(Math.PI), x);
        }
        if (ax > 6.0) return Math.CopySign(1.0, x);
        // erfc(x) = exp(-x²)/√π · 1/(x + 1/2/(x + 1/(x + 3/2/(x + ...)))), evaluated bottom-up.
        double f = ax;
        for (int n = 60; n >= 1; n--) f = ax + n / 2.0 / f;
        double erfc = Math.Exp(-ax * ax) / Math.Sqrt(Math.PI) / f;
        return Math.CopySign(1.0 - erfc, x);
    }
}
