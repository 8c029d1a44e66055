using DepthSharp.Tensors;

namespace DepthSharp.Models;

internal static class Lifetimes
{
    /// <summary>Releases a finished intermediate and returns its successor.</summary>
    public static Tensor Replace(Tensor done, Tensor next)
    {
        done.Release();
        return next;
    }
}
