namespace DepthSharp.Tensors.Kernels;

/// <summary>
/// Plain loop versions of every kernel: the definition the fast versions are tested against. Each sits beside its
/// <see cref="Fast"/> version in its op family's file. Layouts are row-major; shapes are given in the comments as [dims].
/// </summary>
internal static partial class Reference;
