using DepthSharp.IO;

namespace DepthSharp.Tests.IO;

public sealed class AtomicFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("depthsharp-atomic-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void FailedWriteLeavesNoFileBehind()
    {
        string path = Path.Combine(_dir, "depth.npy");
        Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(path, s =>
        {
            s.Write(new byte[1000]);
            throw new InvalidOperationException("disk gone");
        }));
        Assert.Empty(Directory.GetFiles(_dir));
    }

    [Fact]
    public void FailedWriteKeepsThePreviousFile()
    {
        string path = Path.Combine(_dir, "depth.json");
        AtomicFile.WriteAllBytes(path, "old"u8);
        Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(path, _ => throw new InvalidOperationException("boom")));
        Assert.Equal("old"u8.ToArray(), File.ReadAllBytes(path));
        Assert.Single(Directory.GetFiles(_dir));
    }
}
