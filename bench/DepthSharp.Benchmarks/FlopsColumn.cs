using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace DepthSharp.Benchmarks;

/// <summary>A benchmark that knows how many floating-point operations one invocation performs under its current parameters.</summary>
public interface IFlopCount
{
    double Flops { get; }
}

/// <summary>GFLOP/s from the mean time: the benchmark class is instantiated with the case's parameters to ask for its flop count.</summary>
public sealed class GflopsColumn : IColumn
{
    public string Id => nameof(GflopsColumn);
    public string ColumnName => "GFLOP/s";
    public bool AlwaysShow => true;
    public ColumnCategory Category => ColumnCategory.Custom;
    public int PriorityInCategory => 0;
    public bool IsNumeric => true;
    public UnitType UnitType => UnitType.Dimensionless;
    public string Legend => "Floating-point operations per second, from the mean time (2 per multiply-add)";

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        var report = summary[benchmarkCase];
        if (report?.ResultStatistics is not { } stats || Activator.CreateInstance(benchmarkCase.Descriptor.Type) is not IFlopCount counter)
            return "-";
        foreach (var p in benchmarkCase.Parameters.Items)
            benchmarkCase.Descriptor.Type.GetProperty(p.Name)?.SetValue(counter, p.Value);
        return (counter.Flops / stats.Mean).ToString("F1"); // flops per nanosecond = GFLOP/s
    }

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
    public bool IsAvailable(Summary summary) => true;
}

/// <summary>The default configuration plus the GFLOP/s column.</summary>
public sealed class FlopsConfig : ManualConfig
{
    public FlopsConfig()
    {
        AddColumn(new GflopsColumn());
    }
}
