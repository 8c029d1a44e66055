using DepthSharp.Tensors;
using DepthSharp.Tests.Kernels;
using Xunit.Abstractions;

namespace DepthSharp.Tests.Models;

/// <summary>
/// The fixture models are small, so their buffers stay under the pool's size threshold in the other tests. Here every
/// buffer goes through the pool, twice over (the second pass reuses the first's): a tensor released while still read,
/// or released twice, would hand its buffer to another tensor and spoil a stage comparison or throw.
/// </summary>
[Collection(nameof(KernelOptionsCollection))]
public sealed class PooledBufferTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("depth_pro_tiny")]
    [InlineData("depth_pro_tiny_batch2_bf16_sharded")]
    [InlineData("dpt_tiny")]
    [InlineData("dpt_hybrid_tiny")]
    [InlineData("dpt_beit_tiny")]
    [InlineData("dpt_swinv2_tiny")]
    [InlineData("depth_anything_tiny_relative")]
    [InlineData("zoedepth_tiny_n_normed")]
    public void EveryStageMatchesWithEveryBufferPooled(string name)
    {
        long saved = TensorPool.MinBytes;
        TensorPool.MinBytes = 1;
        try
        {
            for (int pass = 0; pass < 2; pass++)
            {
                if (name.StartsWith("depth_pro", StringComparison.Ordinal))
                {
                    new DepthProModelTests(output).ForwardMatchesReferenceAtEveryStage(name);
                    new DepthProModelTests(output).ForwardInRowBandsMatchesReferenceAtEveryStage(name);
                }
                else if (name.StartsWith("zoedepth", StringComparison.Ordinal))
                {
                    new ZoeDepthModelTests(output).StagesAndRouterMatchReference(name, referenceKernels: false);
                    new ZoeDepthModelTests(output).MetricDepthMatchesReference(name, referenceKernels: false);
                }
                else
                    new DPTFamilyModelTests(output).ForwardMatchesReferenceAtEveryStage(name, referenceKernels: false);
            }
        }
        finally
        {
            TensorPool.MinBytes = saved;
            TensorPool.DropIdle();
        }
    }

    [Fact]
    public void DiscardedBuffersAreNotPooledButReleasedOnesAre()
    {
        long saved = TensorPool.MinBytes;
        TensorPool.MinBytes = 1;
        try
        {
            TensorPool.DropIdle();
            var released = Tensor.Empty(3, 1001);
            var buffer = released.Data;
            released.Release();
            Assert.Same(buffer, Tensor.Empty(3, 1001).Data);
            var discarded = Tensor.Empty(3, 1001);
            buffer = discarded.Data;
            discarded.Discard();
            Assert.Equal(0, discarded.Length);
            Assert.NotSame(buffer, Tensor.Empty(3, 1001).Data);
        }
        finally
        {
            TensorPool.MinBytes = saved;
            TensorPool.DropIdle();
        }
    }
}
