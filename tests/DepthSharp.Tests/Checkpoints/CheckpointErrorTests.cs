using DepthSharp.Checkpoints;
using DepthSharp.Tensors;

namespace DepthSharp.Tests.Checkpoints;

public sealed class CheckpointErrorTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("depthsharp-ckpt-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, byte[] bytes)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static CheckpointException Refused(string path)
    {
        var e = Assert.Throws<CheckpointException>(() => SafeTensorsFile.Open(path).Dispose());
        Assert.Contains(Path.GetFileName(path), e.Message);
        return e;
    }

    [Fact]
    public void ReadsF32F16AndBf16()
    {
        var data = new List<byte>();
        data.AddRange(BitConverter.GetBytes(1.5f));
        data.AddRange(BitConverter.GetBytes(-2f));
        data.AddRange(BitConverter.GetBytes((Half)0.25));
        data.AddRange(BitConverter.GetBytes((Half)(-3)));
        data.AddRange(BitConverter.GetBytes((ushort)(BitConverter.SingleToInt32Bits(6.5f) >> 16)));
        string header = """{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F16","shape":[1,2],"data_offsets":[8,12]},"c":{"dtype":"BF16","shape":[1],"data_offsets":[12,14]},"__metadata__":{"format":"pt"}}""";
        using var f = SafeTensorsFile.Open(Write("ok.safetensors", SafeTensorsWriter.Build(header, data.ToArray())));
        Assert.Equal([1.5f, -2f], f.Read("a").Data);
        Assert.Equal([0.25f, -3f], f.Read("b").Data);
        Assert.Equal([1, 2], f.Read("b").Shape);
        Assert.Equal([6.5f], f.Read("c").Data);
        Assert.Equal("pt", f.Metadata["format"]);
    }

    [Fact]
    public void TruncatedFileIsRefused()
    {
        var good = SafeTensorsWriter.BuildF32(("weight", [4], [1, 2, 3, 4]));
        Assert.Contains("truncated", Refused(Write("t1.safetensors", good[..5])).Message);
        Assert.Contains("weight", Refused(Write("t2.safetensors", good[..^3])).Message);
        Assert.Contains("truncated", Refused(Write("t3.safetensors", good[..20])).Message);
    }

    [Fact]
    public void OverlappingOffsetsAreRefused()
    {
        string header = """{"first":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"second":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}""";
        var e = Refused(Write("overlap.safetensors", SafeTensorsWriter.Build(header, new byte[12])));
        Assert.Contains("first", e.Message);
        Assert.Contains("second", e.Message);
        Assert.Contains("overlap", e.Message);
    }

    [Fact]
    public void OffsetsPastTheEndAreRefused()
    {
        string header = """{"far":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}""";
        var e = Refused(Write("past.safetensors", SafeTensorsWriter.Build(header, new byte[8])));
        Assert.Contains("far", e.Message);
        Assert.Contains("past the end", e.Message);
    }

    [Fact]
    public void SizeThatDisagreesWithShapeIsRefused()
    {
        string header = """{"lying":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}""";
        Assert.Contains("lying", Refused(Write("size.safetensors", SafeTensorsWriter.Build(header, new byte[8]))).Message);
    }

    [Fact]
    public void UnknownDtypeIsRefused()
    {
        string header = """{"odd":{"dtype":"F7","shape":[1],"data_offsets":[0,1]}}""";
        var e = Refused(Write("dtype.safetensors", SafeTensorsWriter.Build(header, new byte[1])));
        Assert.Contains("odd", e.Message);
        Assert.Contains("F7", e.Message);
    }

    [Fact]
    public void HugeHeaderLengthIsRefusedWithoutAllocating()
    {
        var bytes = new byte[16];
        BitConverter.TryWriteBytes(bytes.AsSpan(0, 8), ulong.MaxValue - 5);
        Assert.Contains("truncated", Refused(Write("huge.safetensors", bytes)).Message);
    }

    [Fact]
    public void BrokenJsonHeaderIsRefused() =>
        Assert.Contains("JSON", Refused(Write("json.safetensors", SafeTensorsWriter.Build("{\"a\":", []))).Message);

    [Fact]
    public void AbsurdShapeIsRefused()
    {
        string header = """{"big":{"dtype":"F32","shape":[2000000000,2000000000,4],"data_offsets":[0,4]}}""";
        Assert.Contains("big", Refused(Write("absurd.safetensors", SafeTensorsWriter.Build(header, new byte[4]))).Message);
    }

    [Theory]
    [InlineData("""{"t":{"dtype":"F32","shape":[1],"data_offsets":[null,4]}}""", "'t': data_offsets [null,4]: null is not a byte offset")]
    [InlineData("""{"t":{"dtype":"F32","shape":[1],"data_offsets":[0,"4"]}}""", "'t': data_offsets [0,\"4\"]: a string is not a byte offset")]
    [InlineData("""{"t":{"dtype":"F32","shape":[1],"data_offsets":null}}""", "'t': data_offsets must be a list [begin, end], got null")]
    [InlineData("""{"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4.5]}}""", "'t': data_offsets [0,4.5]: 4.5 is not a byte offset")]
    [InlineData("""{"t":{"dtype":"F32","shape":[1],"data_offsets":[-4,4]}}""", "'t': data_offsets [-4,4]: -4 is not a byte offset")]
    [InlineData("""{"t":{"dtype":"F32","shape":null,"data_offsets":[0,4]}}""", "'t': shape must be a list of sizes, got null")]
    [InlineData("""{"t":{"dtype":"F32","shape":[{}],"data_offsets":[0,4]}}""", "'t': shape [{}]: an object is not a size")]
    [InlineData("""{"t":{"dtype":"F32","shape":[1e30],"data_offsets":[0,4]}}""", "'t': shape [1e30]: 1e30 is not a size")]
    [InlineData("""{"t":{"dtype":null,"shape":[1],"data_offsets":[0,4]}}""", "'t': dtype must be a string, got null")]
    [InlineData("""{"t":[1]}""", "'t': entry must be an object, got a list")]
    [InlineData("""{"__metadata__":{"format":1},"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", "__metadata__['format'] must be a string, got the number 1")]
    [InlineData("""{"__metadata__":[],"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", "__metadata__ must be an object of strings, got a list")]
    [InlineData("""{"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"t":{"dtype":"I32","shape":[1],"data_offsets":[0,4]}}""", "tensor 't' appears twice")]
    public void HeaderValuesOfTheWrongTypeAreRefusedByField(string header, string expected)
    {
        var e = Refused(Write("typed.safetensors", SafeTensorsWriter.Build(header, new byte[4])));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void DataNoTensorAccountsForIsRefused()
    {
        string gap = """{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}""";
        Assert.Contains("bytes [4, 8) of the data before tensor 'b' belong to no tensor", Refused(Write("gap.safetensors", SafeTensorsWriter.Build(gap, new byte[12]))).Message);
        string tail = """{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""";
        Assert.Contains("3 bytes after the last tensor", Refused(Write("tail.safetensors", SafeTensorsWriter.Build(tail, new byte[7]))).Message);
    }

    [Fact]
    public void HeaderThatIsNotUtf8IsRefused()
    {
        var bytes = SafeTensorsWriter.Build("""{"t\u00e9":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", new byte[4]);
        int at = Array.IndexOf(bytes, (byte)'t', 8);
        bytes[at] = 0xE9; // a Latin-1 byte where UTF-8 needs a sequence
        Assert.Contains("not valid UTF-8", Refused(Write("latin1.safetensors", bytes)).Message);
    }

    [Theory]
    [InlineData("""[{"weight_map":{}}]""", "must be a JSON object")]
    [InlineData("""{"weight_map":null}""", "weight_map must be an object of tensor names to shard files, not null")]
    [InlineData("""{"weight_map":{"x":null}}""", "weight_map['x'] must be a shard file name, not null")]
    [InlineData("""{"weight_map":{"x":7}}""", "weight_map['x'] must be a shard file name, not number")]
    [InlineData("""{"weight_map":{"x":".."}}""", "weight_map['x'] = '..' is not a plain file name beside the index")]
    [InlineData("""{"weight_map":{"x":"a.safetensors","x":"a.safetensors"}}""", "weight_map lists 'x' twice")]
    [InlineData("""{"weight_map":{},"weight_map":{"x":"a.safetensors"}}""", "\"weight_map\" appears twice")]
    public void IndexValuesOfTheWrongTypeAreRefusedByField(string json, string expected)
    {
        Write("a.safetensors", SafeTensorsWriter.BuildF32(("x", [1], [1f])));
        string index = Write("typed.index.json", System.Text.Encoding.UTF8.GetBytes(json));
        var e = Assert.Throws<CheckpointException>(() => Checkpoint.OpenIndex(index).Dispose());
        Assert.StartsWith(index + ": ", e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void IndexPointingAtAFileThatIsNotSafeTensorsIsRefusedByThatFile()
    {
        Write("notes.txt", System.Text.Encoding.UTF8.GetBytes("a text file long enough to be read as a header length"));
        string index = Write("text.index.json", System.Text.Encoding.UTF8.GetBytes("""{"weight_map":{"x":"notes.txt"}}"""));
        var e = Assert.Throws<CheckpointException>(() => Checkpoint.OpenIndex(index).Dispose());
        Assert.StartsWith(Path.Combine(_dir, "notes.txt") + ": truncated", e.Message);
    }

    private sealed class HugeModel
    {
        public HugeModel(Weights w, int layers, int width)
        {
            for (int i = 0; i < layers; i++) w["layer"][i].Get("weight", width, width);
        }
    }

    [Theory]
    [InlineData(1_000_000_000, 2, "1000 problem(s)")]
    [InlineData(3, 2_000_000_000, "impossible shape [2000000000, 2000000000]")]
    [InlineData(3, 40_000, "1 problem(s)")]
    public void AConfigThatDoesNotFitStopsTheLoadBeforeItAllocatesWithoutBound(int layers, int width, string expected)
    {
        // A layer count of a billion, a width of two billion, 6.4 GB of zeros for one missing tensor: refused at once.
        string path = Write("model.safetensors", SafeTensorsWriter.BuildF32(("layer.0.weight", [2, 2], new float[4])));
        using var checkpoint = Checkpoint.OpenFile(path);
        var source = new CheckpointWeights(checkpoint);
        var e = Assert.Throws<CheckpointException>(() => new HugeModel(new Weights(source), layers, width));
        Assert.Contains("stopped here: the model does not fit this checkpoint", e.Message);
        Assert.Contains(expected, e.Message);
    }

    private sealed class TinyModel
    {
        public TinyModel(Weights w)
        {
            w["layer"].Get("weight", 2, 2);
            w["layer"].Get("bias", 2);
        }
    }

    [Fact]
    public void MissingUnusedAndMisshapenTensorsAreAllReportedByName()
    {
        string path = Write("model.safetensors", SafeTensorsWriter.BuildF32(
            ("layer.weight", [2, 3], new float[6]),
            ("layer.extra", [1], [0f])));
        using var checkpoint = Checkpoint.OpenFile(path);
        var source = new CheckpointWeights(checkpoint);
        _ = new TinyModel(new Weights(source));
        var e = Assert.Throws<CheckpointException>(() => source.Finish());
        Assert.Contains("model.safetensors", e.Message);
        Assert.Contains("missing tensor 'layer.bias'", e.Message);
        Assert.Contains("'layer.weight' has shape [2, 3]", e.Message);
        Assert.Contains("expects [2, 2]", e.Message);
        Assert.Contains("unused tensor 'layer.extra'", e.Message);
    }

    [Fact]
    public void ShardedIndexMustAgreeWithShards()
    {
        Write("a.safetensors", SafeTensorsWriter.BuildF32(("x", [1], [1f])));
        Write("b.safetensors", SafeTensorsWriter.BuildF32(("y", [1], [2f])));
        string good = Write("good.index.json", System.Text.Encoding.UTF8.GetBytes("""{"weight_map":{"x":"a.safetensors","y":"b.safetensors"}}"""));
        using (var c = Checkpoint.OpenIndex(good))
        {
            Assert.Equal([2f], c.Read("y").Data);
            Assert.Equal(2, c.Names.Count);
        }
        string wrong = Write("wrong.index.json", System.Text.Encoding.UTF8.GetBytes("""{"weight_map":{"x":"a.safetensors","y":"a.safetensors"}}"""));
        var e = Assert.Throws<CheckpointException>(() => Checkpoint.OpenIndex(wrong).Dispose());
        Assert.Contains("'y'", e.Message);
        string missing = Write("missing.index.json", System.Text.Encoding.UTF8.GetBytes("""{"weight_map":{"x":"nothere.safetensors"}}"""));
        e = Assert.Throws<CheckpointException>(() => Checkpoint.OpenIndex(missing).Dispose());
        Assert.Contains("nothere.safetensors", e.Message);
        string escape = Write("escape.index.json", System.Text.Encoding.UTF8.GetBytes("""{"weight_map":{"x":"../a.safetensors"}}"""));
        e = Assert.Throws<CheckpointException>(() => Checkpoint.OpenIndex(escape).Dispose());
        Assert.Contains("escape.index.json", e.Message);
    }

    [Fact]
    public void FixtureShardsLoadInHalfAndBfloat16()
    {
        using var f16 = Checkpoint.OpenDirectory(Fixtures.Path("models", "depth_pro_tiny_nofov_f16"));
        using var bf16 = Checkpoint.OpenDirectory(Fixtures.Path("models", "depth_pro_tiny_batch2_bf16_sharded"));
        Assert.Equal(StoredDType.F16, f16.Entry("head.layers.0.weight").DType);
        Assert.Equal(StoredDType.BF16, bf16.Entry("head.layers.0.weight").DType);
        Assert.All(bf16.Read("head.layers.0.weight").Data, v => Assert.True(float.IsFinite(v)));
    }

    [Fact]
    public void LinearLayersKeepHalfWidthWeightsAsStored()
    {
        string dir = Fixtures.Path("models", "depth_pro_tiny_nofov_f16");
        using var checkpoint = Checkpoint.OpenDirectory(dir);
        var w = new Weights(new CheckpointWeights(checkpoint))["depth_pro"]["encoder"]["patch_encoder"]["model"]["encoder"]["layer"][0]["mlp"]["fc1"];
        var shape = checkpoint.Entry("depth_pro.encoder.patch_encoder.model.encoder.layer.0.mlp.fc1.weight").Shape;
        var linear = new DepthSharp.Models.Linear(w, shape[1], shape[0]);
        Assert.Null(linear.Weight);
        Assert.NotNull(linear.HalfWeightT);
        Assert.Equal(HalfKind.F16, linear.HalfWeightT!.Kind);
        // Widened, it is the checkpoint's matrix transposed.
        var stored = checkpoint.Read("depth_pro.encoder.patch_encoder.model.encoder.layer.0.mlp.fc1.weight");
        var widened = linear.HalfWeightT.ToFloat();
        for (int o = 0; o < shape[0]; o++)
            for (int i = 0; i < shape[1]; i++) Assert.Equal(stored.Data[o * shape[1] + i], widened.Data[i * shape[0] + o]);
    }

    [Fact]
    public void NonFiniteLinearWeightIsRefusedByNameWhenQuantising()
    {
        string path = Write("nan.safetensors", SafeTensorsWriter.BuildF32(("fc.weight", [2, 2], [1f, float.NaN, 0f, 2f]), ("fc.bias", [2], [0f, 0f])));
        using var checkpoint = Checkpoint.OpenFile(path);
        var source = new Int8LinearWeights(new CheckpointWeights(checkpoint), checkpoint.Source);
        var e = Assert.Throws<CheckpointException>(() => new DepthSharp.Models.Linear(new Weights(source)["fc"], 2, 2));
        Assert.Contains("nan.safetensors", e.Message);
        Assert.Contains("'fc.weight'", e.Message);
        Assert.Contains("non-finite", e.Message);
    }

    [Fact]
    public void SymlinkedFileReadsLikeItsTarget()
    {
        string target = Write("blob", SafeTensorsWriter.BuildF32(("t", [3], [1, 2, 3])));
        string link = Path.Combine(_dir, "linked.safetensors");
        File.CreateSymbolicLink(link, target);
        using var f = SafeTensorsFile.Open(link);
        Assert.Equal([1f, 2, 3], f.Read("t").Data);
    }

    [Fact]
    public void FileTruncatedAfterItWasOpenedFailsCleanly()
    {
        // A mapping of the file would fault (SIGBUS) on the vanished pages; positioned reads see the end and say so.
        string path = Write("shrinks.safetensors", SafeTensorsWriter.BuildF32(("a", [2], [1, 2]), ("b", [1000], new float[1000])));
        using var f = SafeTensorsFile.Open(path);
        using (var s = new FileStream(path, FileMode.Open, FileAccess.Write)) s.SetLength(s.Length - 100);
        Assert.Equal([1f, 2], f.Read("a").Data);
        var e = Assert.Throws<CheckpointException>(() => f.Read("b"));
        Assert.StartsWith($"{path}: truncated while reading tensor 'b'", e.Message);
    }

    [Fact]
    public void EmptyTensorsReadInEveryForm()
    {
        string header = """{"h":{"dtype":"F16","shape":[0,4],"data_offsets":[0,0]},"f":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}""";
        using var f = SafeTensorsFile.Open(Write("empty.safetensors", SafeTensorsWriter.Build(header, [])));
        Assert.Empty(f.ReadHalf("h").Bits);
        Assert.Equal([0, 4], f.Read("h").Shape);
        Assert.Empty(f.Read("f").Data);
    }

    [Fact]
    public void EveryStoredTypeWidensToFloat()
    {
        var data = new List<byte>();
        void Add(string name, string dtype, int count, byte[] bytes, List<string> header)
        {
            header.Add($"\"{name}\":{{\"dtype\":\"{dtype}\",\"shape\":[{count}],\"data_offsets\":[{data.Count},{data.Count + bytes.Length}]}}");
            data.AddRange(bytes);
        }
        var entries = new List<string>();
        Add("f64", "F64", 2, [.. BitConverter.GetBytes(0.5), .. BitConverter.GetBytes(-3.0)], entries);
        Add("i64", "I64", 1, BitConverter.GetBytes(-7L), entries);
        Add("u16", "U16", 1, BitConverter.GetBytes((ushort)65535), entries);
        Add("i8", "I8", 2, [0xFF, 0x05], entries);
        Add("b", "BOOL", 2, [1, 0], entries);
        Add("bf", "BF16", 1, BitConverter.GetBytes((ushort)(BitConverter.SingleToUInt32Bits(-1.5f) >> 16)), entries);
        using var f = SafeTensorsFile.Open(Write("types.safetensors", SafeTensorsWriter.Build("{" + string.Join(",", entries) + "}", data.ToArray())));
        Assert.Equal([0.5f, -3f], f.Read("f64").Data);
        Assert.Equal([-7f], f.Read("i64").Data);
        Assert.Equal([65535f], f.Read("u16").Data);
        Assert.Equal([-1f, 5f], f.Read("i8").Data);
        Assert.Equal([1f, 0f], f.Read("b").Data);
        Assert.Equal([-1.5f], f.Read("bf").Data);
    }

    [Fact]
    public void LargeHalfTensorsWidenAcrossReadChunks()
    {
        // More values than one staging read holds, so the chunk boundaries are crossed.
        var values = Enumerable.Range(0, 300_000).Select(i => (Half)(i % 2048 - 1024)).ToArray();
        var bytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()).ToArray();
        using var f = SafeTensorsFile.Open(Write("big16.safetensors",
            SafeTensorsWriter.Build("{\"h\":{\"dtype\":\"F16\",\"shape\":[" + values.Length + "],\"data_offsets\":[0," + bytes.Length + "]}}", bytes)));
        var read = f.Read("h").Data;
        for (int i = 0; i < values.Length; i++) Assert.Equal((float)values[i], read[i]);
    }

    [Fact]
    public void ReadTensorValuesRoundTrip()
    {
        string path = Write("rt.safetensors", SafeTensorsWriter.BuildF32(("t", [2, 2], [1, 2, 3, 4])));
        using var f = SafeTensorsFile.Open(path);
        Tensor t = f.Read("t");
        Assert.Equal([1f, 2, 3, 4], t.Data);
    }
}
